import { ApiPropertyOptional } from '@nestjs/swagger';
import { Equals, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { LEAVER_POLICIES, type LeaverPolicy } from '../entities/ding.entities';

const MOVED = { message: 'DingTalk credentials are set in config/ (ding_config).' };

/** Credential fields this route took before they moved to `config/`: named so a client is told where. */
const Moved = (): PropertyDecorator => {
  const decorators = [ValidateIf((_, v) => v !== undefined), Equals(undefined, MOVED)];
  return (target, key) => decorators.forEach((d) => d(target, key));
};

/** PATCH sync/ding/config/: any subset of the sync's own settings (credentials live in `config/`). */
export class UpdateDingSyncSettingsDto {
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

  @Moved() app_key?: unknown;
  @Moved() app_secret?: unknown;
  @Moved() corp_id?: unknown;
  @Moved() corp_secret?: unknown;
  @Moved() qr_app_id?: unknown;
  @Moved() qr_app_secret?: unknown;
}

export interface DingSyncSettingsDto {
  /** Whether the internal app's key and secret are set (in `config/` or the environment). */
  app_configured: boolean;
  leaver_policy: LeaverPolicy;
  leaver_delete_days: number;
  pull_cron: string | null;
  push_cron: string | null;
  pull_next_run_at: string | null;
  push_next_run_at: string | null;
}
