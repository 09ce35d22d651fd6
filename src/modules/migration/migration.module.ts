import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuditModule } from '../audit/audit.module';
import { OrgModule } from '../org/org.module';
import { CsvExportService } from './csv-export.service';
import { CsvImportService } from './csv-import.service';
import { MigrationController } from './migration.controller';

@Module({
  imports: [AccountsModule, AuditModule, OrgModule],
  controllers: [MigrationController],
  providers: [CsvImportService, CsvExportService],
  exports: [CsvImportService, CsvExportService],
})
export class MigrationModule {}
