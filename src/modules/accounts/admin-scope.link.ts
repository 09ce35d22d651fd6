import { Injectable } from '@nestjs/common';
import type { AdminScope, SystemPower } from '../../common/guards/admin-scope';

export interface AdminScopeView {
  /** The management scope of a live user, current as of this request (superusers are unrestricted). */
  resolve(user: { id: number; isAdmin: boolean }): Promise<AdminScope>;
  /** Whether the user directly belongs to a sub-admin group (the `manager` role), and its system powers. */
  rolesOf(user: { id: number; isAdmin: boolean }): Promise<{ isManager: boolean; powers: SystemPower[] }>;
}

/**
 * The admin-scope room plugs its resolver in here at start-up, so the principal guard (auth) and the
 * sign-in answers can name scopes and roles while auth keeps depending only on accounts.
 */
@Injectable()
export class AdminScopeLink {
  private connected: AdminScopeView | null = null;

  connect(view: AdminScopeView): void {
    if (this.connected) throw new Error('the admin scope view is already connected');
    this.connected = view;
  }

  get view(): AdminScopeView {
    if (!this.connected) throw new Error('the admin-scope room is not loaded');
    return this.connected;
  }
}
