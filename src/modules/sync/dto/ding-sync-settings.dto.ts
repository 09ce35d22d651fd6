import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { LEAVER_POLICIES, type LeaverPolicy } from '../entities/ding.entities';

/** PATCH sync/ding/config/: any subset. Secrets are write-only; an empty secret keeps the stored one. */
export class UpdateDingConfigDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) app_key?: string;
  @ApiPropertyOptional({ writeOnly: true }) @IsOptional() @IsString() @MaxLength(256) app_secret?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) corp_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) qr_app_id?: string;
  @ApiPropertyOptional({ writeOnly: true }) @IsOptional() @IsString() @MaxLength(256) qr_app_secret?: string;
  @ApiPropertyOptional({ enum: LEAVER_POLICIES })
  @IsOptional()
  @IsIn(LEAVER_POLICIES)
  leaver_policy?: LeaverPolicy;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(3650) leaver_delete_days?: number;
  /** Standard 5-field cron, or null to turn the schedule off. */
  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(128)
  pull_cron?: string | null;
  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(128)
  push_cron?: string | null;
}

export interface DingConfigDto {
  app_key: string;
  app_valid: boolean;
  corp_id: string;
  qr_app_id: string;
  qr_app_valid: boolean;
  has_app_secret: boolean;
  has_qr_app_secret: boolean;
  leaver_policy: LeaverPolicy;
  leaver_delete_days: number;
  pull_cron: string | null;
  push_cron: string | null;
  pull_next_run_at: string | null;
  push_next_run_at: string | null;
}
