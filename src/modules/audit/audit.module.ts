import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditRetention } from './audit-retention.service';
import { AuditService } from './audit.service';

/** The audit log room: every other room records through AuditService; it calls none of them. */
@Module({
  controllers: [AuditController],
  providers: [AuditService, AuditRepository, AuditRetention],
  exports: [AuditService],
})
export class AuditModule {}
