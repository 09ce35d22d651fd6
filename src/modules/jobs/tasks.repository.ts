import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import { datetimeParameter } from '../../common/database/transaction-runner';
import { JobLeaseEntity, JobScheduleEntity, TaskEntity, type TaskState } from './entities/task.entity';

export const UNFINISHED_STATES: TaskState[] = ['PENDING', 'RETRY', 'STARTED'];

/** Queries over tasks, leases and schedules. */
@Injectable()
export class TasksRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tasks(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(TaskEntity);
  }

  findByTaskId(taskId: string, manager?: EntityManager): Promise<TaskEntity | null> {
    return this.tasks(manager).findOneBy({ taskId });
  }

  findActive(activeKey: string, manager?: EntityManager): Promise<TaskEntity | null> {
    return this.tasks(manager).findOneBy({ activeKey });
  }

  async insert(task: Partial<TaskEntity>): Promise<void> {
    await this.tasks().insert(task);
  }

  async update(taskId: string, changes: Partial<TaskEntity>): Promise<void> {
    await this.tasks().update({ taskId }, changes);
  }

  /** Moves a task between states only from the one expected (compare-and-set); true when it did. */
  async transition(taskId: string, from: TaskState[], changes: Partial<TaskEntity>): Promise<boolean> {
    const result = await this.tasks().update({ taskId, statusRaw: In(from) }, changes);
    return (result.affected ?? 0) > 0;
  }

  unfinished(): Promise<TaskEntity[]> {
    return this.tasks().find({ where: { statusRaw: In(UNFINISHED_STATES) }, order: { id: 'ASC' } });
  }

  // ---- leases ----

  /**
   * Takes or renews the lease `name` for `owner` until `expiresAt`: succeeds when the lease is free,
   * expired or already ours. One statement each way, so two workers never both win.
   */
  async acquireLease(name: string, owner: string, now: Date, expiresAt: Date): Promise<boolean> {
    const leases = this.dataSource.getRepository(JobLeaseEntity);
    const taken = await leases
      .createQueryBuilder()
      .update(JobLeaseEntity)
      .set({ owner, expiresAt })
      .where('name = :name AND (owner = :owner OR expires_at < :now)', {
        name,
        owner,
        now: datetimeParameter(this.dataSource, now),
      })
      .execute();
    if ((taken.affected ?? 0) > 0) return true;
    try {
      await leases.insert({ name, owner, expiresAt });
      return true;
    } catch {
      // Someone else holds it (the row exists and is live).
      return false;
    }
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.dataSource.getRepository(JobLeaseEntity).delete({ name, owner });
  }

  async leaseIsLive(name: string, now: Date): Promise<boolean> {
    const lease = await this.dataSource.getRepository(JobLeaseEntity).findOneBy({ name });
    return lease !== null && lease.expiresAt.getTime() >= now.getTime();
  }

  // ---- schedules ----

  schedule(name: string): Promise<JobScheduleEntity | null> {
    return this.dataSource.getRepository(JobScheduleEntity).findOneBy({ name });
  }

  async saveSchedule(name: string, cron: string | null, nextRunAt: Date | null): Promise<void> {
    await this.dataSource.getRepository(JobScheduleEntity).save({ name, cron, nextRunAt });
  }

  dueSchedules(now: Date): Promise<JobScheduleEntity[]> {
    return this.dataSource
      .getRepository(JobScheduleEntity)
      .createQueryBuilder('s')
      .where('s.cron IS NOT NULL AND s.next_run_at <= :now', { now: datetimeParameter(this.dataSource, now) })
      .getMany();
  }

  /** Claims one firing of a schedule: only the worker that moves next_run_at on fires it. */
  async claimSchedule(name: string, seen: Date, next: Date): Promise<boolean> {
    const result = await this.dataSource
      .getRepository(JobScheduleEntity)
      .createQueryBuilder()
      .update(JobScheduleEntity)
      .set({ nextRunAt: next })
      .where('name = :name AND next_run_at = :seen', { name, seen: datetimeParameter(this.dataSource, seen) })
      .execute();
    return (result.affected ?? 0) > 0;
  }
}
