import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** One section of the site configuration (`company`, `sms`, …) as JSON; secret fields hold ciphertext. */
@Entity('site_settings')
export class SiteSettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  section!: string;

  @Column({ type: 'text' })
  data!: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime' })
  updatedAt!: Date;
}
