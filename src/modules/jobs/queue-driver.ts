import type { TaskEntity } from './entities/task.entity';

export const QUEUE_DRIVER = Symbol('QUEUE_DRIVER');

/**
 * Carries tasks to the runner: BullMQ on Redis (the API only enqueues, `src/worker.ts` processes), or
 * in-process when REDIS_URL is unset. The `tasks` rows stay the source of truth for both.
 */
export interface QueueDriver {
  readonly kind: 'bullmq' | 'inline';
  /** Hands a task over to run after `delayMs`; dispatching a task twice runs it once. */
  dispatch(task: TaskEntity, delayMs: number): Promise<void>;
}
