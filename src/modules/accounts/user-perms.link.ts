import { Injectable } from '@nestjs/common';

export interface PermCheckRequest {
  permUid?: string;
  appUid?: string;
  oauthClientId?: string;
}

export interface PermCheckResult {
  /** UserWithPerm `perms`: held permission uids, sorted; within an app, that app's only, unprefixed. */
  perms: string[];
  /** Whether the user holds `permUid` (true when none was asked for). */
  granted: boolean;
  /** UserWithPerm `is_extern_user`, from the same snapshot, so sign-in answers need no membership query. */
  externUser: boolean;
}

export interface UserPermsView {
  /** 400 for an unknown app or client; an unknown permission is simply not granted. */
  check(user: { id: number; isAdmin: boolean }, request: PermCheckRequest): Promise<PermCheckResult>;
}

/**
 * The permissions room plugs its resolver in here at start-up, so sign-in answers (UserWithPerm) carry
 * the user's permissions while accounts and auth keep depending on nothing above them.
 */
@Injectable()
export class UserPermsLink {
  private connected: UserPermsView | null = null;

  connect(view: UserPermsView): void {
    if (this.connected) throw new Error('the permission view of users is already connected');
    this.connected = view;
  }

  get view(): UserPermsView {
    if (!this.connected) throw new Error('the permissions room is not loaded');
    return this.connected;
  }
}
