import { Injectable, type OnModuleInit, SetMetadata } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';

const JOB_HANDLER = 'arbor:job-handler';

/** What a job kind is: its name, how often it is tried, and what it must never run beside. */
export interface JobDefinition {
  name: string;
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** First retry delay; each further retry doubles it. */
  backoffMs: number;
  /** Jobs sharing a lock key never run at the same time, on any worker. */
  lockKey: string;
}

/** One error about one record (a user, a department), kept with the task and shown in its result. */
export interface TaskRecordError {
  record: string;
  code: string;
  message: string;
}

export interface JobContext {
  taskId: string;
  payload: Record<string, unknown>;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the process must stop: finish the current unit of work and throw `signal.reason`. */
  signal: AbortSignal;
  progress(stage: string, done: number, total: number): Promise<void>;
  recordError(error: TaskRecordError): void;
}

export interface JobProcessor {
  /** Returns the task's result (JSON-serialisable); throws to fail the attempt. */
  run(context: JobContext): Promise<unknown>;
}

/** A failure no retry can fix (bad credentials, a missing scope): the task fails at once. */
export class NonRetryableJobError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'NonRetryableJobError';
  }
}

/** Marks a provider as the handler of one job kind. */
export const JobHandler = (name: string): ClassDecorator => SetMetadata(JOB_HANDLER, name);

/** The job kinds a feature declares (JobsModule.forFeature); each must have exactly one handler. */
export class JobDeclarations {
  constructor(readonly definitions: readonly JobDefinition[]) {}
}

/**
 * The one map from job names to definitions and handlers, used by both drivers. Start-up fails when a
 * declared job has no handler or two, when a handler names an undeclared job, or a job is declared twice.
 */
@Injectable()
export class JobRegistry implements OnModuleInit {
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly handlers = new Map<string, JobProcessor>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    this.build(
      this.discovery
        .getProviders()
        .map((wrapper) => wrapper.instance as unknown)
        .filter((instance): instance is JobDeclarations => instance instanceof JobDeclarations)
        .flatMap((declarations) => declarations.definitions),
      this.discovery.getProviders().flatMap((wrapper) => {
        const instance = wrapper.instance as JobProcessor | undefined;
        if (!instance || !wrapper.metatype || typeof wrapper.metatype !== 'function') return [];
        const name = this.reflector.get<string | undefined>(JOB_HANDLER, wrapper.metatype);
        return name === undefined ? [] : [{ name, handler: instance }];
      }),
    );
  }

  /** Exposed for unit tests; onModuleInit feeds it what the container holds. */
  build(definitions: JobDefinition[], handlers: { name: string; handler: JobProcessor }[]): void {
    const problems: string[] = [];
    for (const definition of definitions) {
      if (this.definitions.has(definition.name)) problems.push(`job "${definition.name}" is declared twice`);
      this.definitions.set(definition.name, definition);
    }
    const counts = new Map<string, number>();
    for (const { name, handler } of handlers) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (!this.definitions.has(name)) problems.push(`handler for undeclared job "${name}"`);
      this.handlers.set(name, handler);
    }
    for (const name of this.definitions.keys()) {
      const count = counts.get(name) ?? 0;
      if (count === 0) problems.push(`job "${name}" has no handler`);
      if (count > 1) problems.push(`job "${name}" has ${count} handlers`);
    }
    if (problems.length > 0) throw new Error(`Job registry: ${problems.join('; ')}`);
  }

  definition(name: string): JobDefinition {
    const definition = this.definitions.get(name);
    if (!definition) throw new Error(`unknown job "${name}"`);
    return definition;
  }

  handler(name: string): JobProcessor {
    const handler = this.handlers.get(name);
    if (!handler) throw new Error(`no handler for job "${name}"`);
    return handler;
  }

  names(): string[] {
    return [...this.definitions.keys()];
  }
}

/** Delay before attempt `attempt + 1` after `attempt` failed: base, 2×base, 4×base, … */
export function backoffDelayMs(definition: Pick<JobDefinition, 'backoffMs'>, attempt: number): number {
  return definition.backoffMs * 2 ** Math.max(0, attempt - 1);
}
