import { foldForSearch, type GramRange, searchRanges, summaryGrams } from './summary-grams';

const inRange = (gram: number, [low, high]: GramRange): boolean => gram >= low && gram <= high;

/** What the index promises: every range of a needle that occurs in the summary holds one of its keys. */
const findable = (summary: string, needle: string): boolean => {
  const stored = summaryGrams(summary);
  return searchRanges(needle).every((range) => stored.some((gram) => inRange(gram, range)));
};

describe('summary grams', () => {
  it('folds case, accents and full-width forms like the column collation', () => {
    expect(foldForSearch('Ｚhāng ÉMILE')).toBe('zhang emile');
    expect(foldForSearch('修改用户 张三')).toBe('修改用户 张三');
  });

  it('stores each distinct trigram once, with the end markers', () => {
    expect(summaryGrams('aaaa')).toHaveLength(3); // aaa, aa·, a··
    expect(summaryGrams('x')).toHaveLength(1);
    expect(summaryGrams('')).toEqual([]);
    expect(Math.max(...summaryGrams('\uffff\uffff\uffff'))).toBeLessThan(2 ** 48);
  });

  it('finds every substring of a summary, of any length, at its start, middle or end', () => {
    const summary = '创建应用 Payroll (payroll_app) 张三';
    for (const needle of ['payroll', 'PAYROLL', '应用', '创', 'll_a', ' (p', '张三', '三', 'p) 张三']) {
      expect([needle, findable(summary, needle)]).toEqual([needle, true]);
    }
  });

  it('rules out needles whose characters do not occur in that order', () => {
    expect(findable('修改用户 张三丰', '张丰')).toBe(false);
    expect(findable('修改用户 张三丰', '三张')).toBe(false);
    expect(findable('abc', 'abcd')).toBe(false);
    expect(searchRanges('')).toEqual([]);
  });

  it('reads at most six trigrams of a long needle, keeping both ends', () => {
    const ranges = searchRanges('abcdefghijklmnopqrstuvwxyz');
    expect(ranges).toHaveLength(6);
    expect(ranges[0]).toEqual(searchRanges('abc')[0]);
    expect(ranges[5]).toEqual(searchRanges('xyz')[0]);
  });
});
