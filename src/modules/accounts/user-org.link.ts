import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AdminScope } from '../../common/guards/admin-scope';

/** A condition on the users table (alias `u`) written by the room that owns the joined tables. */
export interface UserCondition {
  sql: string;
  params: Record<string, unknown>;
}

/** What the organization knows about one user, in the shapes the user endpoints answer with. */
export interface UserOrgFacts {
  /** Employee `nodes`: the user's direct groups then departments, `g_extern` left out. */
  nodes: object[];
  /** UserProfile `depts`. */
  depts: { uid: string; name: string }[];
  isExtern: boolean;
}

/** Memberships asked for when a user is created (`POST user/`). */
export interface CreationMemberships {
  node_uids?: string[];
  dept_uids?: string[];
  group_uids?: string[];
}

export interface UserOrgView {
  factsOf(userIds: number[]): Promise<Map<number, UserOrgFacts>>;
  /** Direct members of any of the listed groups (bare uids), or with `negate` everyone else. */
  groupMembership(groupUids: string[], negate: boolean): UserCondition;
  /** Members of no department and no group. */
  isolated(): UserCondition;
  /**
   * Adds the new user to the requested nodes inside the creating transaction; 400 for unknown nodes
   * and for nodes outside the creator's scope (which read as unknown).
   */
  assignOnCreate(
    manager: EntityManager,
    userId: number,
    request: CreationMemberships,
    scope: AdminScope,
  ): Promise<void>;
}

/**
 * The organization room plugs its view of users in here at start-up, so user endpoints can show and
 * filter memberships while accounts keeps depending on nothing (the same pattern as UserLifecycleHooks).
 */
@Injectable()
export class UserOrgLink {
  private connected: UserOrgView | null = null;

  connect(view: UserOrgView): void {
    if (this.connected) throw new Error('the organization view of users is already connected');
    this.connected = view;
  }

  get view(): UserOrgView {
    if (!this.connected) throw new Error('the organization room is not loaded');
    return this.connected;
  }
}
