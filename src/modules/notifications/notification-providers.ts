import Dysmsapi, { SendSmsRequest } from '@alicloud/dysmsapi20170525';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { createTransport } from 'nodemailer';
import type { EmailConfig, SmsConfig } from '../settings/site-config';

/** Why a message could not be sent, by the provider's code, for the API answer and the audit log. */
export class DeliveryError extends Error {
  constructor(
    readonly kind: 'throttled' | 'bad_address' | 'configuration' | 'unavailable',
    readonly providerCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface SmsMessage {
  phoneNumber: string;
  signName: string;
  templateCode: string;
  params: Record<string, string>;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** The providers behind one small interface each, so tests and other vendors can stand in. */
export interface SmsProvider {
  send(settings: SmsConfig, message: SmsMessage): Promise<void>;
}

export interface MailProvider {
  send(settings: EmailConfig, message: MailMessage): Promise<void>;
  /** Connects and signs in to the SMTP server without sending anything. */
  verify(settings: EmailConfig): Promise<void>;
}

export const SMS_PROVIDER = Symbol('SMS_PROVIDER');
export const MAIL_PROVIDER = Symbol('MAIL_PROVIDER');

const THROTTLING = new Set(['isv.BUSINESS_LIMIT_CONTROL']);
const BAD_ADDRESS = new Set(['isv.MOBILE_NUMBER_ILLEGAL']);
const EXPLAINED: Record<string, string> = {
  'isv.BUSINESS_LIMIT_CONTROL': 'the SMS provider limits messages to this number',
  'isv.MOBILE_NUMBER_ILLEGAL': 'the SMS provider rejected the mobile number',
  'isv.SMS_SIGNATURE_ILLEGAL': 'the SMS signature is not approved',
  'isv.SMS_TEMPLATE_ILLEGAL': 'the SMS template is not approved',
  'isv.TEMPLATE_MISSING_PARAMETERS': 'the SMS template expects other variables',
  'isv.INVALID_JSON_PARAM': 'the SMS template parameters were refused',
  'isv.INVALID_PARAMETERS': 'the SMS provider refused the parameters',
  'isv.AMOUNT_NOT_ENOUGH': 'the SMS account balance is used up',
  'isv.OUT_OF_SERVICE': 'the SMS account is out of service',
  'isv.DAY_LIMIT_CONTROL': 'the SMS account reached its daily limit',
  'isv.MONTH_LIMIT_CONTROL': 'the SMS account reached its monthly limit',
  'isp.RAM_PERMISSION_DENY': 'the SMS access key lacks the permission to send',
  'isp.SYSTEM_ERROR': 'the SMS provider had an internal error',
  SignatureDoesNotMatch: 'the SMS access secret is wrong',
  'InvalidAccessKeyId.NotFound': 'the SMS access key is unknown or disabled',
  'Throttling.User': 'the SMS provider is throttling requests',
};

/** Maps an Aliyun answer code to what Arbor tells the caller. */
export function aliyunFailure(code: string, message: string): DeliveryError {
  const why = EXPLAINED[code] ?? 'the SMS provider refused the message';
  const kind =
    THROTTLING.has(code) || code.startsWith('Throttling')
      ? 'throttled'
      : BAD_ADDRESS.has(code)
        ? 'bad_address'
        : code === 'isp.SYSTEM_ERROR'
          ? 'unavailable'
          : 'configuration';
  return new DeliveryError(kind, code, `${why} (${code}: ${message})`);
}

/** Aliyun SendSms (dysmsapi 2017-05-25) through the official SDK, at ALIYUN_SMS_ENDPOINT. */
export class AliyunSmsProvider implements SmsProvider {
  private readonly endpoint: string;
  private readonly protocol: string;

  constructor(endpointUrl: string) {
    const url = new URL(endpointUrl);
    this.endpoint = url.host;
    this.protocol = url.protocol.replace(':', '');
  }

  async send(settings: SmsConfig, message: SmsMessage): Promise<void> {
    const client = new Dysmsapi(
      new $OpenApiUtil.Config({
        accessKeyId: settings.access_key,
        accessKeySecret: settings.access_secret,
        endpoint: this.endpoint,
        protocol: this.protocol,
        connectTimeout: 5000,
        readTimeout: 10000,
      }),
    );
    let body: { code?: string; message?: string } | undefined;
    try {
      const response = await client.sendSms(
        new SendSmsRequest({
          phoneNumbers: message.phoneNumber,
          signName: message.signName,
          templateCode: message.templateCode,
          templateParam: JSON.stringify(message.params),
        }),
      );
      body = response.body;
    } catch (error) {
      // Gateway errors (4xx/5xx with a JSON body) come back with the HTTP status; network errors without.
      const e = error as { code?: unknown; message?: unknown; statusCode?: unknown };
      if (typeof e.code === 'string' && typeof e.statusCode === 'number') {
        throw aliyunFailure(e.code, typeof e.message === 'string' ? e.message : '');
      }
      throw new DeliveryError(
        'unavailable',
        'network',
        `the SMS provider could not be reached (${String(e.message)})`,
      );
    }
    if (body?.code !== 'OK') throw aliyunFailure(body?.code ?? 'unknown', body?.message ?? '');
  }
}

/** SMTP through nodemailer: implicit TLS when `tls`, else STARTTLS whenever the server offers it. */
export class SmtpMailProvider implements MailProvider {
  async send(settings: EmailConfig, message: MailMessage): Promise<void> {
    const transport = this.transport(settings);
    try {
      const from = settings.sender || settings.access_key;
      await transport.sendMail({
        from: settings.nickname ? { name: settings.nickname, address: from } : from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    } catch (error) {
      throw smtpFailure(error);
    } finally {
      transport.close();
    }
  }

  async verify(settings: EmailConfig): Promise<void> {
    const transport = this.transport(settings);
    try {
      await transport.verify();
    } catch (error) {
      throw smtpFailure(error);
    } finally {
      transport.close();
    }
  }

  private transport(settings: EmailConfig) {
    return createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.tls,
      auth: settings.access_key ? { user: settings.access_key, pass: settings.access_secret } : undefined,
      connectionTimeout: 10000,
      greetingTimeout: 10000,
      socketTimeout: 20000,
    });
  }
}

function smtpFailure(error: unknown): DeliveryError {
  const e = error as { code?: unknown; responseCode?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'smtp';
  const status = typeof e.responseCode === 'number' ? e.responseCode : 0;
  const kind =
    code === 'EAUTH' ? 'configuration' : status >= 550 && status < 560 ? 'bad_address' : 'unavailable';
  return new DeliveryError(kind, code, `the mail server refused: ${String(e.message ?? error)}`);
}
