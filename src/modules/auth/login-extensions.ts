import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { LoginDto } from './dto/login.dto';

/** What a login request must carry before its password is tried (an image captcha after failed logins). */
export interface LoginChallenge {
  /** Whether the next attempt on a subject with these consecutive failures must carry it. */
  required(consecutiveFailures: () => Promise<number>): Promise<boolean>;
  /** Throws the answer to give when the request does not carry it. */
  verify(dto: LoginDto): Promise<void>;
}

/** Proves `{mobile, sms_token}` inside the sign-in transaction: the user id, or an error to answer. */
export type SmsTokenVerifier = (manager: EntityManager, mobile: string, smsToken: string) => Promise<number>;

/**
 * What other rooms add to `ucenter/login/` without auth depending on them: the lifecycle room plugs in
 * its captcha rule and its SMS-token check at start. Without them, SMS login is refused.
 */
@Injectable()
export class LoginExtensions {
  private challenge: LoginChallenge = {
    required: () => Promise.resolve(false),
    verify: () => Promise.resolve(),
  };
  private smsVerifier: SmsTokenVerifier | null = null;

  useChallenge(challenge: LoginChallenge): void {
    this.challenge = challenge;
  }

  useSmsTokenVerifier(verifier: SmsTokenVerifier): void {
    this.smsVerifier = verifier;
  }

  async check(dto: LoginDto, consecutiveFailures: () => Promise<number>): Promise<void> {
    if (await this.challenge.required(consecutiveFailures)) await this.challenge.verify(dto);
  }

  challengeRequired(consecutiveFailures: () => Promise<number>): Promise<boolean> {
    return this.challenge.required(consecutiveFailures);
  }

  smsTokenVerifier(): SmsTokenVerifier | null {
    return this.smsVerifier;
  }
}
