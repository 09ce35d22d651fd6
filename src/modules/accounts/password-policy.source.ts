import { Injectable } from '@nestjs/common';
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from './password-policy';

/**
 * Where the current password policy comes from. Accounts applies the policy; the settings room, which
 * stores it, plugs its reader in here at start (accounts depends on no other room). Until then, and in
 * a process without settings, the defaults apply.
 */
@Injectable()
export class PasswordPolicySource {
  private reader: () => Promise<PasswordPolicy> = () => Promise.resolve(DEFAULT_PASSWORD_POLICY);

  use(reader: () => Promise<PasswordPolicy>): void {
    this.reader = reader;
  }

  current(): Promise<PasswordPolicy> {
    return this.reader();
  }
}
