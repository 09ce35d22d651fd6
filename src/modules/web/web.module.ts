import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuthModule } from '../auth/auth.module';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { OidcModule } from '../oidc/oidc.module';
import { PermissionsModule } from '../permissions/permissions.module';
import { SettingsModule } from '../settings/settings.module';
import { StorageModule } from '../storage/storage.module';
import { BrandingService } from './branding.service';
import { PageExceptionFilter } from './page-exception.filter';
import { LifecyclePagesController } from './lifecycle-pages.controller';
import { ProfilePagesController } from './profile-pages.controller';
import { WebController } from './web.controller';
import { WebPagesService } from './web-pages.service';

/** Server-rendered hosted pages (see WebController and LifecyclePagesController). */
@Module({
  imports: [
    AccountsModule,
    AuthModule,
    LifecycleModule,
    PermissionsModule,
    OidcModule,
    SettingsModule,
    StorageModule,
  ],
  controllers: [WebController, LifecyclePagesController, ProfilePagesController],
  providers: [BrandingService, WebPagesService, PageExceptionFilter],
})
export class WebModule {}
