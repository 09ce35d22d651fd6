import { foldForSearch, searchGrams, summaryGrams } from './summary-grams';

const gram = (pair: string): number => pair.charCodeAt(0) * 0x10000 + pair.charCodeAt(1);

describe('summary grams', () => {
  it('folds case, accents and full-width forms like the column collation', () => {
    expect(foldForSearch('Ｚhāng ÉMILE')).toBe('zhang emile');
    expect(foldForSearch('修改用户 张三')).toBe('修改用户 张三');
  });

  it('stores each distinct bigram of a summary once', () => {
    expect(summaryGrams('修改用户 张三').sort()).toEqual(
      ['修改', '改用', '用户', '户 ', ' 张', '张三'].map(gram).sort(),
    );
    expect(summaryGrams('aaaa')).toEqual([gram('aa')]);
    expect(summaryGrams('x')).toEqual([]);
  });

  it("finds every needle that is a substring of a summary through the summary's own grams", () => {
    const stored = new Set(summaryGrams('创建应用 Payroll (payroll_app)'));
    for (const needle of ['payroll', 'PAYROLL', '应用', 'll_a', ' (p']) {
      expect(searchGrams(needle).every((g) => stored.has(g))).toBe(true);
    }
    expect(searchGrams('p')).toEqual([]);
  });

  it('joins at most eight bigrams of a long needle, keeping both ends', () => {
    const needle = 'abcdefghijklmnopqrstuvwxyz';
    const grams = searchGrams(needle);
    expect(grams).toHaveLength(8);
    expect(grams[0]).toBe(gram('ab'));
    expect(grams[7]).toBe(gram('yz'));
  });
});
