import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChangeStamps } from '../../common/database/change-stamps';
import { SiteSettingEntity } from './entities/site-setting.entity';

type Sections = ReadonlyMap<string, Readonly<Record<string, unknown>>>;

/**
 * The site_settings rows: one JSON document per section. Every page and sign-in reads them, so the last
 * read is kept while the `settings` stamp stays (one shared stamp read per turn of the event loop); a
 * write bumps the stamp in its transaction, so every replica reads the new rows on its next request.
 * Kept documents are frozen: callers copy what they change.
 */
@Injectable()
export class SettingsRepository {
  private kept: { version: number; sections: Sections } | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly stamps: ChangeStamps,
  ) {}

  async readAll(manager?: EntityManager): Promise<Sections> {
    if (manager) return this.load(manager);
    // The stamp first: rows read after it are at least that new, so keeping them under it is safe.
    const version = (await this.stamps.current(['settings'])).get('settings') ?? 0;
    if (this.kept?.version === version) return this.kept.sections;
    const sections = await this.load();
    this.kept = { version, sections };
    return sections;
  }

  async write(manager: EntityManager, section: string, data: Record<string, unknown>): Promise<void> {
    await manager.getRepository(SiteSettingEntity).save({ section, data: JSON.stringify(data) });
    await this.stamps.bump(manager, 'settings');
  }

  private async load(manager?: EntityManager): Promise<Sections> {
    const rows = await (manager ?? this.dataSource.manager).getRepository(SiteSettingEntity).find();
    return new Map(
      rows.map((row) => [row.section, deepFreeze(JSON.parse(row.data) as Record<string, unknown>)]),
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
