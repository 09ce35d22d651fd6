import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { DomainError } from '../../common/errors/domain-error';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { ROOT_LOGGER } from '../../common/logging/logging.module';
import { AuditService } from '../audit/audit.service';
import { SettingsService } from '../settings/settings.service';
import { type SmsTemplateKey, emailIsValid, smsIsValid } from '../settings/site-config';
import {
  DeliveryError,
  MAIL_PROVIDER,
  type MailMessage,
  type MailProvider,
  SMS_PROVIDER,
  type SmsProvider,
} from './notification-providers';

export type SmsTemplatePurpose = 'code' | 'register' | 'reset_pwd' | 'activate' | 'reset_mobile' | 'login';

/**
 * Sends SMS and mail with the current site settings. A failed delivery becomes a clear API error (never
 * a 500) and an audit entry of its own, written even though the caller's change is abandoned.
 */
@Injectable()
export class NotificationsService implements OnModuleInit {
  constructor(
    private readonly settings: SettingsService,
    @Inject(SMS_PROVIDER) private readonly sms: SmsProvider,
    @Inject(MAIL_PROVIDER) private readonly mail: MailProvider,
    private readonly audit: AuditService,
    private readonly tx: TransactionRunner,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.settings.probe('email', (next) => this.mail.verify(next));
  }

  async smsAvailable(): Promise<boolean> {
    return smsIsValid(await this.settings.section('sms'));
  }

  async mailAvailable(): Promise<boolean> {
    return emailIsValid(await this.settings.section('email'));
  }

  /**
   * A verification code by SMS. Numbers other than mainland China's (`1…`, `+86 …`) use the `_i18n`
   * signature and template; an empty purpose template falls back to `template_code` (contract §3.3).
   */
  async sendCode(purpose: SmsTemplatePurpose, mobile: string, code: string): Promise<void> {
    const settings = await this.settings.section('sms');
    const domestic = /^1\d{10}$/.test(mobile) || mobile.startsWith('+86 ');
    const suffix: '' | '_i18n' = domestic ? '' : '_i18n';
    const key: SmsTemplateKey = `template_${purpose}`;
    const template = settings[`${key}${suffix}`] || settings[`template_code${suffix}`];
    const signName = (domestic ? settings.signature : settings.signature_i18n) || settings.signature;
    const phoneNumber = mobile.startsWith('+86 ') ? mobile.slice(4) : mobile.replace(/^\+(\d+) /, '00$1');
    try {
      if (!smsIsValid(settings) || !template) {
        throw new DeliveryError('configuration', 'not_configured', 'SMS is not configured');
      }
      await this.sms.send(settings, { phoneNumber, signName, templateCode: template, params: { code } });
    } catch (error) {
      throw await this.failed('sms', `短信发送失败: ${mobile}`, error);
    }
  }

  /**
   * The notice to the old number that the account's mobile changed, when the admin set its template
   * (`template_contact_changed`, no fallback: a code template would send a code). Returns whether it went.
   */
  async sendContactChangedNotice(mobile: string, username: string): Promise<boolean> {
    const settings = await this.settings.section('sms');
    const domestic = /^1\d{10}$/.test(mobile) || mobile.startsWith('+86 ');
    const template = domestic ? settings.template_contact_changed : settings.template_contact_changed_i18n;
    if (!smsIsValid(settings) || !template) return false;
    const signName = (domestic ? settings.signature : settings.signature_i18n) || settings.signature;
    const phoneNumber = mobile.startsWith('+86 ') ? mobile.slice(4) : mobile.replace(/^\+(\d+) /, '00$1');
    try {
      await this.sms.send(settings, { phoneNumber, signName, templateCode: template, params: { username } });
      return true;
    } catch (error) {
      throw await this.failed('sms', `短信发送失败: ${mobile}`, error);
    }
  }

  async sendMail(message: MailMessage): Promise<void> {
    const settings = await this.settings.section('email');
    try {
      if (!emailIsValid(settings))
        throw new DeliveryError('configuration', 'not_configured', 'e-mail is not configured');
      await this.mail.send(settings, message);
    } catch (error) {
      throw await this.failed('email', `邮件发送失败: ${message.to}`, error);
    }
  }

  private async failed(channel: 'sms' | 'email', summary: string, error: unknown): Promise<DomainError> {
    const failure =
      error instanceof DeliveryError ? error : new DeliveryError('unavailable', 'unknown', String(error));
    this.logger.warn({ channel, code: failure.providerCode, reason: failure.message }, 'delivery failed');
    await this.tx.run((manager) =>
      this.audit.record(manager, {
        subject: 'notify_failed',
        summary: `${summary} (${failure.providerCode})`.slice(0, 500),
      }),
    );
    switch (failure.kind) {
      case 'throttled':
        return new DomainError(
          `notifications.${channel}_throttled`,
          429,
          {
            detail: `Too many messages: ${failure.message}. Try again later.`,
          },
          { 'Retry-After': '60' },
        );
      case 'bad_address':
        return new DomainError(`notifications.${channel}_bad_address`, 400, {
          [channel === 'sms' ? 'mobile' : 'email']: ['invalid', failure.message],
        });
      case 'configuration':
      case 'unavailable':
        return new DomainError(`notifications.${channel}_failed`, 400, {
          [channel]: [`could not be sent: ${failure.message}`],
        });
    }
  }
}
