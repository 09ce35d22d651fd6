import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export type UserHook = (manager: EntityManager, userId: number) => Promise<void>;
/** `tokenId`: the Arbor session (token row) that ended. */
export type SessionHook = (manager: EntityManager, userId: number, tokenId: number) => Promise<void>;

/**
 * Lets rooms that depend on accounts react to account changes inside the same transaction, without
 * accounts depending on them: auth drops tokens here; later rooms drop memberships and permission rows.
 */
@Injectable()
export class UserLifecycleHooks {
  private readonly credentialsRevoked: UserHook[] = [];
  private readonly removed: UserHook[] = [];
  private readonly sessionEnded: SessionHook[] = [];

  /** Called when a user's password changes or the user is disabled or deleted: every session must end. */
  onCredentialsRevoked(hook: UserHook): void {
    this.credentialsRevoked.push(hook);
  }

  /** Called when a user is deleted: remove or anonymise whatever points at it. */
  onRemoved(hook: UserHook): void {
    this.removed.push(hook);
  }

  /** Called when one Arbor session of a user is signed out: what was signed in through it must end too. */
  onSessionEnded(hook: SessionHook): void {
    this.sessionEnded.push(hook);
  }

  async endSession(manager: EntityManager, userId: number, tokenId: number): Promise<void> {
    for (const hook of this.sessionEnded) await hook(manager, userId, tokenId);
  }

  async revokeCredentials(manager: EntityManager, userId: number): Promise<void> {
    for (const hook of this.credentialsRevoked) await hook(manager, userId);
  }

  async remove(manager: EntityManager, userId: number): Promise<void> {
    await this.revokeCredentials(manager, userId);
    for (const hook of this.removed) await hook(manager, userId);
  }
}
