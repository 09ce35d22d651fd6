import { Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import { API_MOUNTS } from '../../common/http/api-paths';
import { AppConfig } from '../../config/app-config';
import { receiveImage } from './file-upload';
import { StorageService } from './storage.service';

/** Infrastructure routes live at /service/ and under both API mounts (contract §1). */
export const SERVICE_MOUNTS = ['service', ...API_MOUNTS.map((mount) => `${mount}/service`)];

@ApiTags('service')
@Controller(SERVICE_MOUNTS)
export class StorageController {
  constructor(
    private readonly storage: StorageService,
    private readonly config: AppConfig,
  ) {}

  @Post('file')
  @HttpCode(200)
  @ApiBearerAuth('Token')
  @ApiConsumes('multipart/form-data')
  @ApiOperation({ summary: 'Upload an image (multipart field `file`): PNG, JPEG, GIF or WebP' })
  async upload(@Req() req: Request): Promise<{ file_name: string }> {
    const content = await receiveImage(req, this.config.files.maxBytes);
    return { file_name: await this.storage.save(content) };
  }

  @Public()
  @Get('file/:name')
  @ApiOperation({ summary: 'A stored file, or a redirect to a short-lived URL in the bucket' })
  async download(@Param('name') name: string, @Res() res: Response): Promise<void> {
    const file = await this.storage.open(name);
    if (file.kind === 'redirect') {
      res.redirect(302, file.url);
      return;
    }
    res.setHeader('Content-Type', file.contentType);
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'public, max-age=86400, immutable');
    file.stream.pipe(res);
  }
}
