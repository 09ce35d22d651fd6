import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { randomToken, sha256Hex } from '../../common/crypto/secrets';
import { Clock } from '../../common/time/clock';
import type { Principal } from '../../common/guards/principal';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UserLifecycleHooks } from '../accounts/user-lifecycle.hooks';
import { AuthErrors } from './auth.errors';
import { type PresentedToken, TokensRepository } from './tokens.repository';

export const TOKEN_KEY_PATTERN = /^[0-9a-f]{64}$/;

/**
 * API tokens: one per login (device), 256 random bits shown once, stored as SHA-256, ending at an
 * absolute lifetime or after an idle period, whichever comes first.
 */
@Injectable()
export class TokensService implements OnModuleInit {
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  /** How stale `last_used_at` may get before a request writes it: a small fraction of the idle lifetime. */
  private readonly touchIntervalMs: number;
  /**
   * The user row each principal was authenticated from, so the handler of the same request (auth/token/)
   * need not read it again. Weak: an entry lives exactly as long as its request's principal.
   */
  private readonly usersByPrincipal = new WeakMap<Principal, UserEntity>();

  constructor(
    private readonly tokens: TokensRepository,
    private readonly tx: TransactionRunner,
    private readonly hooks: UserLifecycleHooks,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.idleMs = config.tokens.idleTtlSeconds * 1000;
    this.absoluteMs = config.tokens.absoluteTtlSeconds * 1000;
    this.touchIntervalMs = Math.min(60_000, this.idleMs / 10);
  }

  onModuleInit(): void {
    this.hooks.onCredentialsRevoked((manager, userId) => this.tokens.deleteAllForUser(manager, userId));
  }

  /** Opens a session inside the caller's transaction; the key is returned once and only its hash is kept. */
  async issueWithin(
    manager: EntityManager,
    userId: number,
    client: { userAgent: string; ip: string },
  ): Promise<{ key: string; expiresAt: Date }> {
    const key = randomToken(32);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.absoluteMs);
    await this.tokens.insert(manager, {
      userId,
      keyHash: sha256Hex(key),
      lastUsedAt: now,
      expiresAt,
      userAgent: client.userAgent.slice(0, 255),
      ip: client.ip.slice(0, 64),
    });
    return { key, expiresAt };
  }

  /** The live token for a key, or the 401 that explains why not. */
  async authenticate(key: string): Promise<PresentedToken> {
    if (!TOKEN_KEY_PATTERN.test(key)) throw AuthErrors.invalidToken();
    const token = await this.tokens.findByKeyHash(sha256Hex(key));
    if (!token) throw AuthErrors.invalidToken();
    const now = this.clock.now().getTime();
    if (token.expiresAt.getTime() <= now || token.lastUsedAt.getTime() + this.idleMs <= now) {
      await this.tx.run((manager) => this.tokens.deleteById(manager, token.id));
      throw AuthErrors.expiredToken();
    }
    if (now - token.lastUsedAt.getTime() >= this.touchIntervalMs) {
      await this.tx.run((manager) => this.tokens.touch(manager, token.id, new Date(now)));
    }
    return token;
  }

  rememberUserOf(principal: Principal, user: UserEntity): void {
    this.usersByPrincipal.set(principal, user);
  }

  /** The user row read when this principal was authenticated (this request); undefined for any other. */
  userOf(principal: Principal): UserEntity | undefined {
    return this.usersByPrincipal.get(principal);
  }

  async revoke(tokenId: number): Promise<void> {
    await this.tx.run((manager) => this.tokens.deleteById(manager, tokenId));
  }

  /** A user's open sessions (devices), idle ones left out, for the profile page. */
  async sessionsOf(
    userId: number,
  ): Promise<{ id: number; createdAt: Date; lastUsedAt: Date; userAgent: string; ip: string }[]> {
    const now = this.clock.now();
    const rows = await this.tokens.listLiveForUser(userId, now);
    return rows
      .filter((row) => row.lastUsedAt.getTime() + this.idleMs > now.getTime())
      .map(({ id, createdAt, lastUsedAt, userAgent, ip }) => ({ id, createdAt, lastUsedAt, userAgent, ip }));
  }

  /** Ends one session of this user inside a caller's transaction; false when it is not theirs. */
  revokeOwnWithin(manager: EntityManager, userId: number, tokenId: number): Promise<boolean> {
    return this.tokens.deleteForUser(manager, userId, tokenId);
  }

  /** The same, inside a caller's transaction (sign-out and its audit entry). */
  revokeWithin(manager: EntityManager, tokenId: number): Promise<void> {
    return this.tokens.deleteById(manager, tokenId);
  }
}
