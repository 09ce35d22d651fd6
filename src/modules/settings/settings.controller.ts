import { Body, Controller, Get, Patch, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public, RequirePower } from '../../common/decorators/auth.decorators';
import { apiPaths } from '../../common/http/api-paths';
import { UpdateConfigDto, UpdateStorageDto } from './dto/config-input.dto';
import { SettingsService } from './settings.service';

@ApiTags('config')
@Controller(apiPaths())
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Public()
  @Get('meta')
  @ApiOperation({ summary: 'The public part of the site configuration, for login pages' })
  meta(): Promise<Record<string, unknown>> {
    return this.settings.meta();
  }

  @RequirePower('system_config_write')
  @Get('config')
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Site configuration (secrets are write-only and never shown)' })
  get(): Promise<Record<string, unknown>> {
    return this.settings.view();
  }

  @RequirePower('system_config_write')
  @Patch('config')
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Change any sections; e-mail settings are checked against the SMTP server first' })
  patch(@Body() dto: UpdateConfigDto): Promise<Record<string, unknown>> {
    return this.settings.update(dto);
  }

  @RequirePower('system_config_write')
  @Put('config')
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Same as PATCH (sections and fields not sent are kept)' })
  put(@Body() dto: UpdateConfigDto): Promise<Record<string, unknown>> {
    return this.settings.update(dto);
  }

  @RequirePower('system_config_write')
  @Get('config/storage')
  @ApiBearerAuth('Token')
  getStorage(): Promise<Record<string, unknown>> {
    return this.settings.storageView();
  }

  @RequirePower('system_config_write')
  @Patch('config/storage')
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Local directory or MinIO/S3; MinIO settings are checked before they are saved' })
  patchStorage(@Body() dto: UpdateStorageDto): Promise<Record<string, unknown>> {
    return this.settings.updateStorage(dto);
  }
}
