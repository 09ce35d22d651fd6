import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { uniqueViolationIndex } from '../../common/database/transaction-runner';
import { CommonErrors } from '../../common/errors/domain-error';
import { Clock } from '../../common/time/clock';
import type { TaskEntity, TaskState } from './entities/task.entity';
import { JobRegistry, type TaskRecordError } from './job-registry';
import { QUEUE_DRIVER, type QueueDriver } from './queue-driver';
import { TasksRepository } from './tasks.repository';

/**
 * At most this many per-record errors are kept with a task (the count says how many there were), each
 * message cut to MAX_ERROR_MESSAGE characters: the list stays well inside a TEXT column (64 KB).
 */
export const MAX_KEPT_ERRORS = 150;
export const MAX_ERROR_MESSAGE = 200;

/** ArkID TaskResult: `status` 1 waiting, 2 doing, 3 failed, 4 success; plus Arbor's progress and errors. */
export interface TaskResultDto {
  task_id: string;
  job: string;
  status: 1 | 2 | 3 | 4;
  status_label: 'waiting' | 'doing' | 'failed' | 'success';
  status_raw: string;
  progress: { stage: string; done: number; total: number };
  attempts: number;
  max_attempts: number;
  dead_letter: boolean;
  errors: TaskRecordError[];
  error_count: number;
  failure: string | null;
  result: unknown;
  created: string;
  started: string | null;
  finished: string | null;
}

export interface TaskTicketDto {
  task_id: string;
  task_msg: string;
}

/**
 * Groups a raw state as the contract does. Any state this release does not know (a newer release's,
 * a hand-edited row) reads as waiting instead of failing the request (D32).
 */
export function statusOf(raw: string): Pick<TaskResultDto, 'status' | 'status_label'> {
  switch (raw as TaskState) {
    case 'STARTED':
      return { status: 2, status_label: 'doing' };
    case 'FAILURE':
    case 'REVOKED':
      return { status: 3, status_label: 'failed' };
    case 'SUCCESS':
      return { status: 4, status_label: 'success' };
    case 'PENDING':
    case 'RETRY':
      return { status: 1, status_label: 'waiting' };
    default:
      return { status: 1, status_label: 'waiting' };
  }
}

/** Enqueues jobs (idempotently) and reports their tasks. */
@Injectable()
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly registry: JobRegistry,
    private readonly clock: Clock,
    @Inject(QUEUE_DRIVER) private readonly driver: QueueDriver,
  ) {}

  /**
   * Queues `name` with `payload`. With a `dedupeKey`, a second request for the same work while the
   * first is still waiting or running returns the first task instead of queueing another.
   */
  async enqueue(
    name: string,
    payload: Record<string, unknown>,
    dedupeKey?: string,
  ): Promise<{ task: TaskEntity; created: boolean }> {
    const definition = this.registry.definition(name);
    const activeKey = dedupeKey === undefined ? null : `${name}:${dedupeKey}`;
    if (activeKey) {
      const existing = await this.tasks.findActive(activeKey);
      if (existing) return { task: existing, created: false };
    }
    const taskId = randomUUID();
    try {
      await this.tasks.insert({
        taskId,
        jobName: name,
        activeKey,
        statusRaw: 'PENDING',
        payload: JSON.stringify(payload),
        maxAttempts: definition.attempts,
        errors: null,
        result: null,
        failure: null,
      });
    } catch (error) {
      if (activeKey && uniqueViolationIndex(error)) {
        const existing = await this.tasks.findActive(activeKey);
        if (existing) return { task: existing, created: false };
      }
      throw error;
    }
    const task = await this.tasks.findByTaskId(taskId);
    if (!task) throw new Error(`task ${taskId} vanished after insert`);
    await this.driver.dispatch(task, 0);
    return { task, created: true };
  }

  async ticket(name: string, payload: Record<string, unknown>, dedupeKey?: string): Promise<TaskTicketDto> {
    const { task, created } = await this.enqueue(name, payload, dedupeKey);
    return { task_id: task.taskId, task_msg: created ? name : `${name} (already queued)` };
  }

  async result(taskId: string): Promise<TaskResultDto> {
    const task = /^[0-9a-f-]{36}$/.test(taskId) ? await this.tasks.findByTaskId(taskId) : null;
    if (!task) throw CommonErrors.notFound();
    return toResultDto(task);
  }

  find(taskId: string): Promise<TaskEntity | null> {
    return this.tasks.findByTaskId(taskId);
  }

  now(): Date {
    return this.clock.now();
  }
}

export function toResultDto(task: TaskEntity): TaskResultDto {
  const errors = task.errors
    ? (JSON.parse(task.errors) as { count: number; items: TaskRecordError[] })
    : null;
  return {
    task_id: task.taskId,
    job: task.jobName,
    ...statusOf(task.statusRaw),
    status_raw: task.statusRaw,
    progress: { stage: task.stage, done: task.done, total: task.total },
    attempts: task.attempts,
    max_attempts: task.maxAttempts,
    dead_letter: task.deadLetter,
    errors: errors?.items ?? [],
    error_count: errors?.count ?? 0,
    failure: task.failure,
    result: task.result ? (JSON.parse(task.result) as unknown) : null,
    created: task.createdAt.toISOString(),
    started: task.startedAt?.toISOString() ?? null,
    finished: task.finishedAt?.toISOString() ?? null,
  };
}
