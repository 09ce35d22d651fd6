import { All, Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { AdminOnly, CurrentScope, RequirePower } from '../../common/decorators/auth.decorators';
import type { AdminScope } from '../../common/guards/admin-scope';
import { apiPaths } from '../../common/http/api-paths';
import { auditCsv } from './audit-csv';
import { AuditErrors } from './audit.errors';
import { AuditService, type LogDto, type LogPage } from './audit.service';

/**
 * `log/`, `log/{uuid}`, `meta/log/` (contract §3.9) and the CSV export. Readers need the log permission
 * (superusers hold it) and see only entries about users, nodes and apps in their scope. The log is
 * append-only: every other method answers 405.
 */
@ApiTags('audit')
@ApiBearerAuth('Token')
@Controller(apiPaths())
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @RequirePower('system_log_read')
  @Get('log')
  @ApiOperation({
    summary:
      'Log entries, newest first: `days`, `user`, `subject` (a|b), `summary`, `after_created`, `before_created`',
  })
  list(
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
    @CurrentScope() scope: AdminScope,
  ): Promise<LogPage> {
    return this.audit.list(req, query, scope);
  }

  @RequirePower('system_log_read')
  @Get('log/export')
  @ApiOperation({ summary: 'The filtered log as CSV (same filters as `log/`), streamed' })
  async export(
    @Query() query: Record<string, unknown>,
    @CurrentScope() scope: AdminScope,
    @Res() res: Response,
  ): Promise<void> {
    const filter = this.audit.filterOf(query);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="audit-log-${stamp}.csv"`);
    await pipeline(
      auditCsv(this.audit.scan(filter, scope), (d) => this.audit.formatDate(d)),
      res,
    );
  }

  @RequirePower('system_log_read')
  @Get('log/:uuid')
  @ApiOperation({ summary: 'One entry with its `detail` (IP, Agent, URL, Method, DATA); 404 outside scope' })
  detail(@Param('uuid') uuid: string, @CurrentScope() scope: AdminScope): Promise<LogDto> {
    return this.audit.detail(uuid, scope);
  }

  @AdminOnly()
  @Get('meta/log')
  @ApiOperation({ summary: 'Every log subject with its label' })
  meta(): { subject: string; name: string }[] {
    return this.audit.subjects();
  }

  @RequirePower('system_log_read')
  @All(['log', 'log/export', 'log/:uuid'])
  @ApiOperation({ summary: 'The log is append-only: 405' })
  readOnly(@Req() req: Request): never {
    throw AuditErrors.readOnly(req.method);
  }
}
