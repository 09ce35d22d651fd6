import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One counter per topic (`org`, `perm`, …), bumped inside every transaction that changes data a cache
 * is built from. Readers compare versions to know, on any replica, whether their copy is still current.
 */
@Entity('change_stamps')
export class ChangeStampEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  topic!: string;

  @Column({ type: 'integer', default: 0 })
  version!: number;
}
