import type { Response } from 'express';
import type { DomainError } from '../../common/errors/domain-error';
import type { MessageKey } from './i18n';

/** A field of a urlencoded form post as the browser sent it ('' when absent or not text). */
export function formField(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** The image captcha a form answers, in the fields the verification and login services read. */
export function captchaAnswer(body: unknown): { captcha_key: string; captcha: string } {
  return { captcha_key: formField(body, 'captcha_key'), captcha: formField(body, 'captcha') };
}

/** Passes a refusal's wait on to the browser, as the API does. */
export function forwardRetryAfter(res: Response, error: DomainError): void {
  const seconds = error.headers['Retry-After'];
  if (seconds) res.set('Retry-After', seconds);
}

/** What every page that sends or checks a code says when the verification service refuses, by code. */
export const VERIFICATION_MESSAGES: Readonly<Record<string, MessageKey>> = {
  'lifecycle.captcha_invalid': 'captcha_invalid',
  'lifecycle.code_invalid': 'code_invalid',
  'lifecycle.code_expired': 'code_expired',
  'lifecycle.code_attempts': 'code_attempts',
  'lifecycle.cooldown': 'wait',
  'lifecycle.hourly_cap': 'wait',
};
