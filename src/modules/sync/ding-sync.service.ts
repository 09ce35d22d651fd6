import { Injectable } from '@nestjs/common';
import { UsersService } from '../accounts/users.service';
import type { ClientInfo } from '../auth/auth.service';
import { AuthService } from '../auth/auth.service';
import type { UserWithPermWithTokenDto } from '../auth/dto/login.dto';
import type { JobContext } from '../jobs/job-registry';
import { NonRetryableJobError } from '../jobs/job-registry';
import { type TaskTicketDto, TasksService } from '../jobs/tasks.service';
import { DingConfigService, PULL_JOB, PUSH_JOB } from './ding-config.service';
import { DingMappingRepository } from './ding-mapping.repository';
import { DingPullService, type PullSummary } from './ding-pull.service';
import { DingPushService, type PushSummary } from './ding-push.service';
import {
  isThrottled,
  retryWhenThrottled,
  unionIdByAuthCode,
  unionIdByQrCode,
} from './dingtalk/dingtalk.client';
import {
  DingTalkCredentialsError,
  DingTalkError,
  DingTalkQuotaError,
  DingTalkScopeError,
} from './dingtalk/dingtalk.errors';
import { SyncErrors } from './sync.errors';

export interface PreflightDto {
  ok: boolean;
  credentials: boolean;
  missing_scope: string | null;
  checks: { api: string; scope: string; ok: boolean; error?: string }[];
  message: string;
}

/** The read APIs a pull needs, probed by the preflight with the smallest possible request. */
const PULL_PROBES: {
  api: string;
  scope: string;
  probe: (c: Awaited<ReturnType<DingConfigService['client']>>) => Promise<unknown>;
}[] = [
  {
    api: 'topapi/v2/department/listsub',
    scope: 'qyapi_get_department_list',
    probe: (c) => c.listSubDepartments(1),
  },
  {
    api: 'topapi/v2/user/list',
    scope: 'qyapi_get_department_member',
    probe: (c) => c.call('topapi/v2/user/list', { dept_id: 1, cursor: 0, size: 1 }),
  },
  {
    api: 'topapi/role/list',
    scope: 'qyapi_get_member',
    probe: (c) => c.call('topapi/role/list', { size: 1, offset: 0 }),
  },
];

/** Entry points of the sync room: queueing pulls and pushes, the preflight, DingTalk sign-in. */
@Injectable()
export class DingSyncService {
  constructor(
    private readonly dingConfig: DingConfigService,
    private readonly tasks: TasksService,
    private readonly pull: DingPullService,
    private readonly push: DingPushService,
    private readonly mappings: DingMappingRepository,
    private readonly users: UsersService,
    private readonly auth: AuthService,
  ) {}

  /** Queues a pull (or push); a second click while one is queued or running returns the same task. */
  async enqueue(kind: 'pull' | 'push', dryRun: boolean): Promise<TaskTicketDto> {
    const { appKey, appSecret } = await this.dingConfig.effective();
    if (!appKey || !appSecret) throw SyncErrors.notConfigured();
    return this.tasks.ticket(
      kind === 'pull' ? PULL_JOB : PUSH_JOB,
      { dry_run: dryRun },
      dryRun ? 'dry' : 'apply',
    );
  }

  /** Checks the credentials and every scope a pull needs, naming the first one missing. */
  async preflight(): Promise<PreflightDto> {
    const client = await this.dingConfig.client();
    try {
      await client.accessToken();
    } catch (error) {
      return {
        ok: false,
        credentials: false,
        missing_scope: null,
        checks: [],
        message: error instanceof Error ? error.message : String(error),
      };
    }
    const checks: PreflightDto['checks'] = [];
    let missing: string | null = null;
    for (const { api, scope, probe } of PULL_PROBES) {
      try {
        await probe(client);
        checks.push({ api, scope, ok: true });
      } catch (error) {
        const named = error instanceof DingTalkScopeError ? error.scope : null;
        missing ??= named;
        checks.push({
          api,
          scope: named ?? scope,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const ok = checks.every((c) => c.ok);
    return {
      ok,
      credentials: true,
      missing_scope: missing,
      checks,
      message: ok
        ? 'DingTalk credentials and scopes are in order'
        : missing
          ? `the DingTalk app lacks the permission scope "${missing}"; grant it in the DingTalk developer console`
          : (checks.find((c) => !c.ok)?.error ?? 'a check failed'),
    };
  }

  /** The job body of a pull: preflight first (a missing scope fails the task at once, naming it). */
  async runPull(context: JobContext): Promise<PullSummary> {
    await this.requireReady();
    return this.pull.run(context, context.payload.dry_run === true);
  }

  async runPush(context: JobContext): Promise<PushSummary> {
    await this.requireReady();
    return this.push.run(context, context.payload.dry_run === true);
  }

  private async requireReady(): Promise<void> {
    try {
      const preflight = await this.preflight();
      if (!preflight.ok)
        throw new NonRetryableJobError(
          preflight.message,
          preflight.missing_scope ? 'missing_scope' : 'credentials',
        );
    } catch (error) {
      throw toJobError(error);
    }
  }

  /** `ucenter/ding/login/`: an in-app login code to the mapped Arbor user, signed in. */
  async loginWithCode(
    code: string | undefined,
    client: ClientInfo,
  ): Promise<{ body: UserWithPermWithTokenDto; expiresAt: Date }> {
    if (!code) throw SyncErrors.codeRequired();
    const ding = await this.dingConfig.client();
    let userid: string;
    try {
      userid = await ding.userIdByAuthCode(code);
    } catch (error) {
      if (isThrottled(error)) throw SyncErrors.dingBusy();
      if (error instanceof DingTalkError) throw SyncErrors.codeInvalid();
      throw error;
    }
    return this.signIn(userid, client);
  }

  /**
   * `ding/qr/callback/`: a QR-login code (`code` from the legacy `connect/qrconnect`, or `authCode` from
   * the current `login.dingtalk.com/oauth2/auth`) to the scanner's unionid, then to the DingTalk member
   * and the mapped user. A scanner with no Arbor account gets `{token: "", third_party_id}` as the contract says.
   */
  async qrCallback(code: { legacy?: string; authCode?: string }, client: ClientInfo): Promise<object> {
    if (!code.legacy && !code.authCode) throw SyncErrors.codeRequired();
    const settings = await this.dingConfig.effective();
    if (!settings.qrAppId || !settings.qrAppSecret) throw SyncErrors.qrNotAllowed();
    let unionid: string;
    try {
      unionid = await retryWhenThrottled(() =>
        code.authCode
          ? unionIdByAuthCode(
              this.dingConfig.newApiBase,
              settings.qrAppId,
              settings.qrAppSecret,
              code.authCode,
            )
          : unionIdByQrCode(
              this.dingConfig.apiBase,
              settings.qrAppId,
              settings.qrAppSecret,
              code.legacy as string,
            ),
      );
    } catch (error) {
      if (isThrottled(error)) throw SyncErrors.dingBusy();
      if (error instanceof DingTalkError) throw SyncErrors.codeInvalid();
      if (error instanceof Error && error.name === 'TimeoutError') throw SyncErrors.dingTimeout();
      throw error;
    }
    const userid = await (await this.dingConfig.client()).userIdByUnionId(unionid);
    const mapping = userid ? await this.mappings.userByUserid(userid) : null;
    const user = mapping ? await this.users.findLiveById(mapping.userId) : null;
    if (!user) return { token: '', third_party_id: unionid };
    return (await this.auth.signInVerified(user, client, 'DingTalk QR')).body;
  }

  private async signIn(
    userid: string,
    client: ClientInfo,
  ): Promise<{ body: UserWithPermWithTokenDto; expiresAt: Date }> {
    const mapping = await this.mappings.userByUserid(userid);
    const user = mapping ? await this.users.findLiveById(mapping.userId) : null;
    if (!user) throw SyncErrors.notRegistered();
    return this.auth.signInVerified(user, client, 'DingTalk');
  }
}

/** Bad credentials, a missing scope and a used-up quota cannot be fixed by retrying. */
export function toJobError(error: unknown): unknown {
  if (error instanceof DingTalkScopeError) return new NonRetryableJobError(error.message, 'missing_scope');
  if (error instanceof DingTalkCredentialsError)
    return new NonRetryableJobError(error.message, 'credentials');
  if (error instanceof DingTalkQuotaError) return new NonRetryableJobError(error.message, 'quota');
  return error;
}
