import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { AuditModule } from '../audit/audit.module';
import { SettingsModule } from '../settings/settings.module';
import { AliyunSmsProvider, MAIL_PROVIDER, SMS_PROVIDER, SmtpMailProvider } from './notification-providers';
import { NotificationsService } from './notifications.service';

@Module({
  imports: [SettingsModule, AuditModule],
  providers: [
    NotificationsService,
    {
      provide: SMS_PROVIDER,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new AliyunSmsProvider(config.sms.aliyunEndpoint),
    },
    { provide: MAIL_PROVIDER, useClass: SmtpMailProvider },
  ],
  exports: [NotificationsService],
})
export class NotificationsModule {}
