import { Injectable } from '@nestjs/common';

/** What the bearer strategy needs from the OAuth provider to trust an Arbor-issued access token. */
export interface BearerKeys {
  /** Issuer and audience that Arbor API tokens carry. */
  readonly issuer: string;
  readonly audience: string;
  /** The PEM public key for a `kid` of the current key set (retired keys included), or null. */
  publicKey(kid: string): Promise<string | null>;
  /** Whether the grant a token was issued under still stands (not revoked, not logged out). */
  grantActive(grantId: string): Promise<boolean>;
}

/**
 * The oidc room plugs its key set in at start-up, so the principal guard can accept its tokens while
 * auth depends on nothing above it.
 */
@Injectable()
export class BearerKeysLink {
  private connected: BearerKeys | null = null;

  connect(keys: BearerKeys): void {
    if (this.connected) throw new Error('the bearer token keys are already connected');
    this.connected = keys;
  }

  /** null while no provider is loaded (the CLI, or a build without the oidc room): bearer tokens fail. */
  get keys(): BearerKeys | null {
    return this.connected;
  }
}
