import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { AuditSearchIndexer } from './audit-search-indexer';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { PURGE_AUDIT_JOB, PurgeAuditProcessor } from './jobs/purge-expired.processor';

/** The audit log room: every other room records through AuditService; it calls none of them. */
@Module({
  imports: [
    JobsModule.forFeature([
      { name: PURGE_AUDIT_JOB, attempts: 3, backoffMs: 60_000, lockKey: PURGE_AUDIT_JOB },
    ]),
  ],
  controllers: [AuditController],
  providers: [AuditService, AuditRepository, AuditSearchIndexer, PurgeAuditProcessor],
  exports: [AuditService],
})
export class AuditModule {}
