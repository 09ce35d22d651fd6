import COMMON_PASSWORDS from './common-passwords.json';

/**
 * The password policy: length bounds, a check against a shipped list of common passwords, the username,
 * and composition rules only when an admin turns them on (every `min_*` defaults to 0). The values live in
 * the site configuration (`password_config`); accounts only applies them.
 */
export interface PasswordPolicy {
  min_length: number;
  max_length: number;
  /** Refuse the 10,000 most common passwords of 8+ characters (`common-passwords.json`). */
  check_common: boolean;
  min_upper: number;
  min_lower: number;
  min_letter: number;
  min_digit: number;
  min_special: number;
  min_word: number;
  /** false turns the composition rules (`min_upper` … `min_word`) off, as ArkID's `is_active`. */
  is_active: boolean;
}

/** Hard limits whatever the configuration says: at least 8 characters; longer passwords may always be chosen. */
export const PASSWORD_MIN_FLOOR = 8;
export const PASSWORD_RECOMMENDED_LENGTH = 12;
/** The longest password any policy accepts (the configurable maximum lies between 64 and this). */
export const PASSWORD_MAX_LENGTH = 128;

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  min_length: PASSWORD_MIN_FLOOR,
  max_length: PASSWORD_MAX_LENGTH,
  check_common: true,
  min_upper: 0,
  min_lower: 0,
  min_letter: 0,
  min_digit: 0,
  min_special: 0,
  min_word: 0,
  is_active: true,
};

const COMMON = new Set<string>(COMMON_PASSWORDS);

export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}

const distinct = (chars: string[]): number => new Set(chars).size;

/** The problems of a chosen password under a policy, empty when acceptable; every unmet rule is listed. */
export function passwordProblems(password: string, policy: PasswordPolicy, username?: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  const min = Math.max(PASSWORD_MIN_FLOOR, policy.min_length);
  const max = Math.min(PASSWORD_MAX_LENGTH, Math.max(64, policy.max_length));
  if (length < min) problems.push(`Ensure the password has at least ${min} characters.`);
  if (length > max) problems.push(`Ensure the password has no more than ${max} characters.`);
  if (policy.is_active) {
    const chars = [...password];
    const rules: [number, number, string][] = [
      [policy.min_upper, distinct(chars.filter((c) => /\p{Lu}/u.test(c))), 'distinct uppercase letters'],
      [policy.min_lower, distinct(chars.filter((c) => /\p{Ll}/u.test(c))), 'distinct lowercase letters'],
      [policy.min_letter, distinct(chars.filter((c) => /\p{L}/u.test(c))), 'distinct letters'],
      [policy.min_digit, distinct(chars.filter((c) => /\p{Nd}/u.test(c))), 'distinct digits'],
      [policy.min_special, chars.filter((c) => /[^\p{L}\p{N}\s]/u.test(c)).length, 'special characters'],
      [policy.min_word, distinct(password.match(/\b\w+/g) ?? []), 'distinct words'],
    ];
    for (const [required, actual, what] of rules) {
      if (required > 0 && actual < required)
        problems.push(`The password needs at least ${required} ${what}.`);
    }
  }
  if (policy.check_common && isCommonPassword(password)) {
    problems.push('This password is too common.');
  }
  if (username && username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) {
    problems.push('The password must not contain the username.');
  }
  return problems;
}
