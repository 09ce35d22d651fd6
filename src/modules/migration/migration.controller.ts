import { Body, Controller, HttpCode, Inject, Post, Req, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Logger } from 'pino';
import { CurrentScope, ManagerAccess } from '../../common/decorators/auth.decorators';
import type { AdminScope } from '../../common/guards/admin-scope';
import { DomainError } from '../../common/errors/domain-error';
import { apiPaths } from '../../common/http/api-paths';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { queryBool } from '../../common/http/query-params';
import { StringListField } from '../../common/validation/fields';
import { CsvExportService } from './csv-export.service';
import { CsvImportService, type ImportSummary } from './csv-import.service';
import { receiveUpload } from './upload';

export class ExportUsersDto {
  @StringListField({ maxItems: 10_000, itemMax: 64, description: 'usernames; all users when omitted' })
  user_uids?: string[];
}

/** `migration/user/csv/…`: move whole companies in and out as CSV (sub-admins: their scope only). */
@ApiTags('migration')
@ApiBearerAuth('Token')
@ManagerAccess()
@Controller(apiPaths('migration/user/csv'))
export class MigrationController {
  constructor(
    private readonly exporter: CsvExportService,
    private readonly importer: CsvImportService,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  @Post('export')
  @HttpCode(200)
  @ApiOperation({ summary: 'Users as CSV (all, or the listed user_uids)' })
  async export(@Body() dto: ExportUsersDto, @CurrentScope() scope: AdminScope): Promise<StreamableFile> {
    const stream = await this.exporter.export(dto.user_uids, scope);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    return new StreamableFile(stream, {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="users-${stamp}.csv"`,
    });
  }

  @Post('import')
  @HttpCode(200)
  @ApiConsumes('multipart/form-data')
  @ApiOperation({
    summary: 'Create or update users from a CSV file (`users`), optional `node_uid`, `dry_run`',
  })
  async import(@Req() req: Request, @CurrentScope() scope: AdminScope): Promise<ImportSummary> {
    const upload = await receiveUpload(req, 'users');
    try {
      const nodeUid = upload.fields.node_uid || undefined;
      if (nodeUid !== undefined && nodeUid.length > 80) {
        throw new DomainError('migration.bad_node', 400, {
          node_uid: ['Ensure this field has no more than 80 characters.'],
        });
      }
      const dryRun = queryBool({ dry_run: upload.fields.dry_run ?? req.query.dry_run }, 'dry_run');
      // A large import takes a while; at debug level the log shows how far it is (written rows).
      const onProgress = (done: number, total: number) =>
        this.logger.debug({ done, total }, 'csv import progress');
      return await this.importer.importFile(upload.path, { dryRun, nodeUid, onProgress, scope });
    } finally {
      await upload.discard();
    }
  }
}
