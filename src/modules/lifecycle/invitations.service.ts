import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { sha256Hex } from '../../common/crypto/secrets';
import { TransactionRunner } from '../../common/database/transaction-runner';
import type { AdminScope } from '../../common/guards/admin-scope';
import { Clock } from '../../common/time/clock';
import { DateTimeFormatter } from '../../common/time/date-time.formatter';
import type { UserEntity } from '../accounts/entities/user.entity';
import { UsersService } from '../accounts/users.service';
import { AuditService } from '../audit/audit.service';
import type { InvitationEntity } from './entities/invitation.entity';
import { LifecycleErrors } from './lifecycle.errors';
import { InvitationsRepository } from './lifecycle.repositories';

export const DEFAULT_INVITATION_MINUTES = 24 * 60;

export interface InvitationDto {
  uuid: string;
  inviter: string;
  invitee: string;
  key: string;
  expired_time: string;
}

/**
 * Invitations (contract §4.4, without defect D13): a random 256-bit key shown once and stored as its
 * SHA-256, for an unsettled user only, single use, and ended by a newer invitation.
 */
@Injectable()
export class InvitationsService {
  constructor(
    private readonly invitations: InvitationsRepository,
    private readonly users: UsersService,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    private readonly dates: DateTimeFormatter,
    private readonly audit: AuditService,
  ) {}

  async create(
    username: string,
    durationMinutes: number | undefined,
    actor: { userId: number; username: string; scope: AdminScope },
  ): Promise<InvitationDto> {
    const key = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + (durationMinutes ?? DEFAULT_INVITATION_MINUTES) * 60_000);
    const invitation = await this.tx.run(async (manager) => {
      const invitee = await this.users.findLiveByUsername(username, manager);
      if (!invitee || !actor.scope.managesUser(invitee.id)) throw LifecycleErrors.invalid('invitee');
      if (invitee.lastActiveTime) throw LifecycleErrors.inviteeSettled();
      await this.invitations.endOpenOf(manager, invitee.id, now);
      const row = await this.invitations.insert(manager, {
        uuid: randomUUID().replace(/-/g, ''),
        inviterId: actor.userId,
        inviteeId: invitee.id,
        keyHash: sha256Hex(key),
        createdAt: now,
        expiresAt,
      });
      await this.audit.record(manager, {
        subject: 'ucenter_invite',
        summary: `邀请用户 ${invitee.username}`,
        targetUserId: invitee.id,
      });
      return { row, invitee };
    });
    return {
      uuid: invitation.row.uuid,
      inviter: actor.username,
      invitee: invitation.invitee.username,
      key,
      expired_time: this.dates.format(expiresAt),
    };
  }

  /** The open invitation behind a key and its unsettled invitee; `{"key": ["invalid"|"expired"]}` otherwise. */
  async requireOpen(
    key: unknown,
    manager?: EntityManager,
  ): Promise<{ invitation: InvitationEntity; invitee: UserEntity }> {
    if (typeof key !== 'string' || key === '') throw LifecycleErrors.required('key');
    if (!/^[A-Za-z0-9_-]{43}$/.test(key)) throw LifecycleErrors.invalid('key');
    const invitation = await this.invitations.findByKeyHash(sha256Hex(key), manager);
    if (!invitation || invitation.endedAt) throw LifecycleErrors.invalid('key');
    if (invitation.expiresAt.getTime() <= this.clock.now().getTime()) throw LifecycleErrors.expired('key');
    const invitee = await this.users.findLiveByIdOrNull(invitation.inviteeId, manager);
    if (!invitee || !invitee.isActive) throw LifecycleErrors.invalid('key');
    return { invitation, invitee };
  }

  async isOpen(invitationId: number | null): Promise<boolean> {
    if (invitationId === null) return false;
    const invitation = await this.invitations.findById(invitationId);
    return Boolean(
      invitation && !invitation.endedAt && invitation.expiresAt.getTime() > this.clock.now().getTime(),
    );
  }

  /** Uses the invitation up inside the activation's transaction (a parallel activation loses). */
  async endWithin(manager: EntityManager, invitation: InvitationEntity): Promise<void> {
    if (!(await this.invitations.end(manager, invitation.id, this.clock.now())))
      throw LifecycleErrors.invalid('key');
  }
}
