import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { LoginDto } from './dto/login.dto';

/** Checks a login request before its password is tried (an image captcha after failed logins). */
export type LoginChallenge = (dto: LoginDto, consecutiveFailures: () => Promise<number>) => Promise<void>;

/** Proves `{mobile, sms_token}` inside the sign-in transaction: the user id, or an error to answer. */
export type SmsTokenVerifier = (manager: EntityManager, mobile: string, smsToken: string) => Promise<number>;

/**
 * What other rooms add to `ucenter/login/` without auth depending on them: the lifecycle room plugs in
 * its captcha rule and its SMS-token check at start. Without them, SMS login is refused.
 */
@Injectable()
export class LoginExtensions {
  private challenge: LoginChallenge = () => Promise.resolve();
  private smsVerifier: SmsTokenVerifier | null = null;

  useChallenge(challenge: LoginChallenge): void {
    this.challenge = challenge;
  }

  useSmsTokenVerifier(verifier: SmsTokenVerifier): void {
    this.smsVerifier = verifier;
  }

  check(dto: LoginDto, consecutiveFailures: () => Promise<number>): Promise<void> {
    return this.challenge(dto, consecutiveFailures);
  }

  smsTokenVerifier(): SmsTokenVerifier | null {
    return this.smsVerifier;
  }
}
