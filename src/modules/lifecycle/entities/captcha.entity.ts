import { Column, Entity, PrimaryColumn, Index } from 'typeorm';

/** An image captcha challenge; the answer is sealed (AES-GCM) and the row deleted when it is used or failed. */
@Entity('captchas')
@Index('ix_captchas_expires', ['expiresAt'])
export class CaptchaEntity {
  @PrimaryColumn({ name: 'captcha_key', type: 'varchar', length: 32 })
  key!: string;

  @Column({ name: 'answer_sealed', type: 'varchar', length: 128 })
  answerSealed!: string;

  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt!: Date;
}
