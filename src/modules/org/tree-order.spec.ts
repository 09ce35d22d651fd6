import { childrenIndex, preOrder, reorder } from './tree-order';
import { idsOnPath, subtreeRange } from './org-nodes.repository';
import { uidBaseFromName } from './node-uid';

describe('tree order', () => {
  const nodes = [
    { id: 1, parentId: null, orderNo: 1 },
    { id: 4, parentId: 1, orderNo: 2 },
    { id: 2, parentId: 1, orderNo: 1 },
    { id: 3, parentId: 2, orderNo: 1 },
    { id: 5, parentId: 4, orderNo: 1 },
    { id: 6, parentId: 1, orderNo: 2 },
  ];

  it('sorts siblings by order number, then id', () => {
    expect(
      childrenIndex(nodes)
        .get(1)
        ?.map((n) => n.id),
    ).toEqual([2, 4, 6]);
  });

  it('walks a subtree in pre-order', () => {
    expect(preOrder(nodes, 1).map((n) => n.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(preOrder(nodes, 4).map((n) => n.id)).toEqual([4, 5]);
    expect(preOrder(nodes, 99)).toEqual([]);
  });

  it('walks deep trees without recursion', () => {
    const chain = Array.from({ length: 100_000 }, (_, i) => ({
      id: i + 1,
      parentId: i === 0 ? null : i,
      orderNo: 1,
    }));
    expect(preOrder(chain, 1)).toHaveLength(100_000);
  });

  it('reorders as contract §4.6: sorting [d, b] in [a1 b2 c3 d4 e5] gives d=2, b=4', () => {
    const changes = reorder([
      { id: 4, orderNo: 4 },
      { id: 2, orderNo: 2 },
    ]);
    expect(Object.fromEntries(changes)).toEqual({ 4: 2, 2: 4 });
    expect(reorder([{ id: 1, orderNo: 1 }]).size).toBe(0);
  });
});

describe('materialized paths', () => {
  it('bounds a subtree so that siblings sharing a digit prefix stay out', () => {
    const { lower, upper } = subtreeRange('/1/5/');
    const inside = (p: string) => p >= lower && p < upper;
    expect(['/1/5/', '/1/5/9/', '/1/5/10/77/'].every(inside)).toBe(true);
    expect(['/1/50/', '/1/51/3/', '/1/4/', '/1/', '/1/6/'].some(inside)).toBe(false);
  });

  it('reads the ancestors off a path', () => {
    expect(idsOnPath('/1/5/9/')).toEqual([1, 5, 9]);
  });
});

describe('uid from a name (contract §4.7)', () => {
  it('spells Chinese in pinyin and keeps only [a-z0-9]', async () => {
    expect(await uidBaseFromName('研发部')).toBe('yanfabu');
    expect(await uidBaseFromName('Sales Team 2')).toBe('salesteam2');
    expect(await uidBaseFromName('华东 East-1')).toBe('huadongeast1');
  });

  it('falls back to 10 random hex characters when nothing is left', async () => {
    expect(await uidBaseFromName('!!!')).toMatch(/^[0-9a-f]{10}$/);
  });
});
