import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { AppConfig } from '../../config/app-config';

/** Seconds; from a fast token check to a slow bulk import. */
const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type LoginOutcome = 'success' | 'failure' | 'locked' | 'throttled' | 'disabled';
export type PermissionDecisionResult = 'granted' | 'denied';
export type JobOutcome = 'success' | 'retry' | 'failed' | 'interrupted';
export const OAUTH_GRANTS = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'implicit',
  'password',
] as const;
export type OAuthGrant = (typeof OAUTH_GRANTS)[number];

/**
 * The application's metrics, one registry per app instance (tests start several apps in one process).
 * Rooms inject this and count; only ops renders it. To add a metric, add a readonly field here named
 * `arbor_<area>_<what>_<unit>`, with labels whose values come from a small fixed set (never ids, names
 * or raw paths), and describe it in the README.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'arbor_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpRequestDuration = new Histogram({
    name: 'arbor_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to finishing its response, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly loginAttempts = new Counter({
    name: 'arbor_login_attempts_total',
    help: 'Password logins by outcome: success, failure (bad credentials), locked (refused: account locked), throttled (refused: delay or per-IP limit), disabled (right password, inactive account).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly permissionDecisions = new Counter({
    name: 'arbor_permission_decisions_total',
    help: 'Permission checks answered (auth/token/?perm_uid=…), by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly oauthTokens = new Counter({
    name: 'arbor_oauth_tokens_issued_total',
    help: 'Access tokens issued to apps by the OAuth/OIDC provider, by grant type.',
    labelNames: ['grant'] as const,
    registers: [this.registry],
  });

  readonly jobRuns = new Counter({
    name: 'arbor_job_runs_total',
    help: 'Job attempts by job and outcome: success, retry, failed (for good, dead-lettered), interrupted (shutdown; resumes).',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'arbor_job_duration_seconds',
    help: 'Duration of job attempts by job and outcome.',
    labelNames: ['job', 'outcome'] as const,
    buckets: [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  constructor(config: AppConfig) {
    // Process metrics (CPU, memory, event loop lag, GC, handles) only when someone can read them.
    if (config.metrics.enabled) collectDefaultMetrics({ register: this.registry });
    for (const outcome of ['success', 'failure', 'locked', 'throttled', 'disabled'] as const) {
      this.loginAttempts.labels(outcome);
    }
    for (const result of ['granted', 'denied'] as const) this.permissionDecisions.labels(result);
    for (const grant of OAUTH_GRANTS) this.oauthTokens.labels(grant);
  }

  login(outcome: LoginOutcome): void {
    this.loginAttempts.inc({ outcome });
  }

  oauthTokenIssued(grant: OAuthGrant): void {
    this.oauthTokens.inc({ grant });
  }

  jobAttempt(job: string, outcome: JobOutcome, seconds: number): void {
    this.jobRuns.inc({ job, outcome });
    this.jobDuration.observe({ job, outcome }, seconds);
  }

  permissionDecision(result: PermissionDecisionResult): void {
    this.permissionDecisions.inc({ result });
  }
}
