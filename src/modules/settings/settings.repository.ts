import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { SiteSettingEntity } from './entities/site-setting.entity';

/** The site_settings rows: one JSON document per section. */
@Injectable()
export class SettingsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async readAll(manager?: EntityManager): Promise<Map<string, Record<string, unknown>>> {
    const rows = await (manager ?? this.dataSource.manager).getRepository(SiteSettingEntity).find();
    return new Map(rows.map((row) => [row.section, JSON.parse(row.data) as Record<string, unknown>]));
  }

  async write(manager: EntityManager, section: string, data: Record<string, unknown>): Promise<void> {
    await manager.getRepository(SiteSettingEntity).save({ section, data: JSON.stringify(data) });
  }
}
