import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type ClientProtocol = 'oauth' | 'oidc';
export type ClientType = 'confidential' | 'public';

/**
 * An app's OAuth 2.0 or OpenID Connect client (at most one of each per app). The secret is stored only
 * as its SHA-256: it is shown once, when it is generated.
 */
@Entity('app_clients')
@Index('uq_app_clients_app_protocol', ['appId', 'protocol'], { unique: true })
export class AppClientEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'app_id', type: 'integer' })
  appId!: number;

  @Column({ type: 'varchar', length: 8 })
  protocol!: ClientProtocol;

  @Index('uq_app_clients_client_id', { unique: true })
  @Column({ name: 'client_id', type: 'varchar', length: 64 })
  clientId!: string;

  @Column({ name: 'client_secret_hash', type: 'varchar', length: 64 })
  clientSecretHash!: string;

  /** Space-separated, matched exactly. */
  @Column({ name: 'redirect_uris', type: 'varchar', length: 4096, default: '' })
  redirectUris!: string;

  @Column({ name: 'client_type', type: 'varchar', length: 16 })
  clientType!: ClientType;

  /** OAuth: `authorization-code` | `implicit` | `password` | `client-credentials`; OIDC: the response_type. */
  @Column({ type: 'varchar', length: 32 })
  flow!: string;

  /** OIDC Back-Channel Logout 1.0: where a logout token is POSTed when a session of this client ends; '' for none. */
  @Column({ name: 'backchannel_logout_uri', type: 'varchar', length: 1024, default: '' })
  backchannelLogoutUri!: string;

  /** The logout token then carries the session's `sid` (and id_tokens carry it too). */
  @Column({ name: 'backchannel_logout_session_required', type: 'boolean', default: false })
  backchannelLogoutSessionRequired!: boolean;

  /** First-party (ArkID `skip_authorization`): what the app asks for is granted without a consent page. */
  @Column({ name: 'skip_authorization', type: 'boolean', default: false })
  skipAuthorization!: boolean;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
