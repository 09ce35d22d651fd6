import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A token signing key. The private JWK is stored sealed (AES-256-GCM under the master key). The newest
 * key without `retired_at` signs; a retired key stays published in the JWKS until every token it signed
 * has expired, then it is deleted.
 */
@Entity('oidc_signing_keys')
export class SigningKeyEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('uq_oidc_signing_keys_kid', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  kid!: string;

  @Column({ type: 'varchar', length: 16 })
  alg!: string;

  @Column({ name: 'sealed_jwk', type: 'text' })
  sealedJwk!: string;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @Column({ name: 'retired_at', type: 'datetime', nullable: true })
  retiredAt!: Date | null;
}
