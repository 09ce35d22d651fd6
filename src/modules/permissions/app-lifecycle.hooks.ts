import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface AppHooksListener {
  /** Inside the creating transaction: the creator's sub-admin group over the new app. */
  created(
    manager: EntityManager,
    app: { id: number; uid: string; name: string },
    creatorUserId: number,
  ): Promise<void>;
  /** Inside the deleting transaction: nothing may keep managing a deleted app. */
  removed(manager: EntityManager, appId: number): Promise<void>;
}

/** Lets the admin-scope room follow apps being created and deleted without permissions depending on it. */
@Injectable()
export class AppLifecycleHooks {
  private listener: AppHooksListener | null = null;

  listen(listener: AppHooksListener): void {
    if (this.listener) throw new Error('apps already have a lifecycle listener');
    this.listener = listener;
  }

  async created(
    manager: EntityManager,
    app: { id: number; uid: string; name: string },
    creatorUserId: number,
  ): Promise<void> {
    await this.listener?.created(manager, app, creatorUserId);
  }

  async removed(manager: EntityManager, appId: number): Promise<void> {
    await this.listener?.removed(manager, appId);
  }
}
