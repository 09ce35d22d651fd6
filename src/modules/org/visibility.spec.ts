import { NodeVisibility } from './entities/org-node.entity';
import { isOpenTo, viewerOf, type VisibilityRule, visibleShape } from './visibility';

// d_root(1) ── sales(10) ── east(11) ── shop(12)
//          └─ rnd(20)
const paths: Record<number, string> = {
  1: '/1/',
  10: '/1/10/',
  11: '/1/10/11/',
  12: '/1/10/11/12/',
  20: '/1/20/',
};
const node = (id: number) => ({ id, path: paths[id] });
const rule = (
  id: number,
  visibility: NodeVisibility,
  scope: Partial<VisibilityRule> = {},
): VisibilityRule => ({
  id,
  visibility,
  scopeNodeIds: [],
  scopeUserIds: [],
  ...scope,
});

describe('employee visibility', () => {
  const inShop = viewerOf(100, [node(12)]);
  const inSales = viewerOf(101, [node(10)]);
  const inRnd = viewerOf(102, [node(20)]);
  const nowhere = viewerOf(103, []);

  // Expected answers for sales(10) under each scope, per viewer: [shop member, sales member, rnd member, none].
  const table: [string, VisibilityRule, boolean[]][] = [
    ['1 everyone', rule(10, NodeVisibility.Everyone), [true, true, true, true]],
    ['2 members only', rule(10, NodeVisibility.MembersOnly), [false, true, false, false]],
    ['3 members and below', rule(10, NodeVisibility.MembersAndBelow), [true, true, false, false]],
    ['4 listed user', rule(10, NodeVisibility.Listed, { scopeUserIds: [102] }), [false, false, true, false]],
    [
      '4 listed node (and below)',
      rule(10, NodeVisibility.Listed, { scopeNodeIds: [11] }),
      [true, false, false, false],
    ],
    ['5 nobody', rule(10, NodeVisibility.Nobody), [false, false, false, false]],
  ];

  it.each(table)('scope %s', (_name, r, expected) => {
    expect([inShop, inSales, inRnd, nowhere].map((viewer) => isOpenTo(r, viewer))).toEqual(expected);
  });

  it('shows a closed node that leads to an open one as a forced ancestor, and prunes the rest', () => {
    const nodes = [
      { id: 1, parentId: null },
      { id: 10, parentId: 1 },
      { id: 11, parentId: 10 },
      { id: 12, parentId: 11 },
      { id: 20, parentId: 1 },
    ];
    const open = new Set([1, 12]);
    const shape = visibleShape(nodes, 1, (id) => open.has(id));
    expect(Object.fromEntries(shape)).toEqual({ 1: 'open', 10: 'forced', 11: 'forced', 12: 'open' });
  });

  it('prunes everything, root included, when nothing is open', () => {
    const shape = visibleShape(
      [
        { id: 1, parentId: null },
        { id: 10, parentId: 1 },
      ],
      1,
      () => false,
    );
    expect(shape.size).toBe(0);
  });

  it('stops at the subtree root even when the root has a parent', () => {
    const nodes = [
      { id: 10, parentId: 1 },
      { id: 11, parentId: 10 },
    ];
    const shape = visibleShape(nodes, 10, (id) => id === 11);
    expect(Object.fromEntries(shape)).toEqual({ 10: 'forced', 11: 'open' });
  });
});
