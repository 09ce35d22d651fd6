import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type ChangeTopic, ChangeStamps } from '../../common/database/change-stamps';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { OrgService } from '../org/org.service';
import { OrgView, PermissionSnapshot, PermView } from './permission-snapshot';
import { PermsRepository } from './perms.repository';

/**
 * A view of one topic's data, kept until the topic's stamp moves past it. Loads run as a unit of work
 * (serialized with writers on SQLite, one consistent read on MySQL) and are tagged with the stamp read
 * inside them, so a view never claims to be newer than its rows. Concurrent callers share one load.
 */
class VersionedView<T extends { version: number }> {
  private view: T | null = null;
  private loading: { wanted: number; view: Promise<T> } | null = null;

  constructor(
    private readonly topic: ChangeTopic,
    private readonly stamps: ChangeStamps,
    private readonly tx: TransactionRunner,
    private readonly build: (manager: EntityManager, version: number) => Promise<T>,
  ) {}

  at(version: number): T | Promise<T> {
    if (this.view && this.view.version >= version) return this.view;
    if (this.loading && this.loading.wanted >= version) return this.loading.view;
    const view = this.tx.run(async (manager) => {
      const loaded = (await this.stamps.current([this.topic], manager)).get(this.topic) ?? 0;
      return this.build(manager, loaded);
    });
    const load = { wanted: version, view };
    this.loading = load;
    const settle = () => {
      if (this.loading === load) this.loading = null;
    };
    return view.then(
      (loaded) => {
        if (!this.view || loaded.version > this.view.version) this.view = loaded;
        settle();
        return loaded;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
  }
}

/**
 * The one place permission decisions come from (REST checks, the workbench, OAuth and LDAP later).
 * It evaluates the definitions in decision.ts over an in-memory snapshot of the org and of every
 * assignment. Every call reads the change stamps (one small query), so a write committed on any
 * replica is seen by the very next decision; a moved stamp reloads only its half.
 */
@Injectable()
export class PermissionResolver {
  private readonly org: VersionedView<OrgView>;
  private readonly perms: VersionedView<PermView>;
  /** The last snapshot handed out, reused while both views are the same, so its memo carries over. */
  private latest: PermissionSnapshot | null = null;

  constructor(
    private readonly stamps: ChangeStamps,
    tx: TransactionRunner,
    orgService: OrgService,
    repo: PermsRepository,
  ) {
    this.org = new VersionedView('org', stamps, tx, async (manager, version) => {
      const { nodes, memberships } = await orgService.snapshot(manager);
      return new OrgView(version, nodes, memberships);
    });
    this.perms = new VersionedView(
      'perm',
      stamps,
      tx,
      async (manager, version) =>
        new PermView(
          version,
          await repo.allDefs(manager),
          await repo.allNodeStatuses(manager),
          await repo.allUserStatuses(manager),
        ),
    );
  }

  /** A snapshot at least as new as every write committed before the call. */
  async current(): Promise<PermissionSnapshot> {
    const versions = await this.stamps.current(['org', 'perm']);
    const [org, perms] = await Promise.all([
      this.org.at(versions.get('org') ?? 0),
      this.perms.at(versions.get('perm') ?? 0),
    ]);
    const latest = this.latest;
    if (latest && latest.org === org && latest.perms === perms) return latest;
    const snapshot = new PermissionSnapshot(org, perms);
    this.latest = snapshot;
    return snapshot;
  }
}
