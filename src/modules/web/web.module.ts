import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuthModule } from '../auth/auth.module';
import { OidcModule } from '../oidc/oidc.module';
import { PermissionsModule } from '../permissions/permissions.module';
import { SettingsModule } from '../settings/settings.module';
import { BrandingService } from './branding.service';
import { WebController } from './web.controller';
import { WebPagesService } from './web-pages.service';

/** Server-rendered hosted pages (see WebController). */
@Module({
  imports: [AccountsModule, AuthModule, PermissionsModule, OidcModule, SettingsModule],
  controllers: [WebController],
  providers: [BrandingService, WebPagesService],
})
export class WebModule {}
