import { randomBytes } from 'node:crypto';
import type { NodeKind } from './entities/org-node.entity';
import { OrgErrors } from './org.errors';

/** The three URL families of contract §3.5: bare dept uids, bare group uids, prefixed node uids. */
export type NodeRoute = 'dept' | 'group' | 'node';

export interface NodeRef {
  kind: NodeKind;
  uid: string;
}

/** Dept and group uids: lowercase letters and digits, unique per kind (contract §1). */
export const NODE_UID_PATTERN = /^[a-z0-9]{1,64}$/;

export function nodeUidOf(node: NodeRef): string {
  return `${node.kind === 'dept' ? 'd' : 'g'}_${node.uid}`;
}

/** `d_x` or `g_x`, or null when the prefix is neither. */
export function parseNodeUid(nodeUid: string): NodeRef | null {
  if (nodeUid.startsWith('d_')) return { kind: 'dept', uid: nodeUid.slice(2) };
  if (nodeUid.startsWith('g_')) return { kind: 'group', uid: nodeUid.slice(2) };
  return null;
}

/** The node a route names, or the contract's 400 for a node uid without a known prefix. */
export function refForRoute(route: NodeRoute, uid: string): NodeRef {
  if (route === 'dept') return { kind: 'dept', uid };
  if (route === 'group') return { kind: 'group', uid };
  const ref = parseNodeUid(uid);
  if (!ref) throw OrgErrors.badNodeUidPrefix();
  return ref;
}

/** Which kinds a route's child and member collections hold, and the key they are listed under. */
export function collectionKey(route: NodeRoute): 'depts' | 'groups' | 'nodes' {
  return route === 'dept' ? 'depts' : route === 'group' ? 'groups' : 'nodes';
}

type PinyinModule = typeof import('pinyin-pro');
let pinyinModule: Promise<PinyinModule> | null = null;

/**
 * Contract §4.7, first steps: the pinyin of the lowercased name reduced to `[a-z0-9]`, or 10 random hex
 * characters when nothing is left. The pinyin dictionary (~25 MB) loads on the first non-ASCII name.
 */
export async function uidBaseFromName(name: string): Promise<string> {
  const lowered = name.toLowerCase();
  let spelled = lowered;
  if (/[^ -~]/.test(lowered)) {
    pinyinModule ??= import('pinyin-pro');
    const { pinyin } = await pinyinModule;
    spelled = pinyin(lowered, { toneType: 'none', separator: '', nonZh: 'consecutive' });
  }
  const base = spelled.replace(/[^a-z0-9]/g, '').slice(0, 48);
  return base || randomBytes(5).toString('hex');
}
