import {
  DEFAULT_PASSWORD_POLICY,
  isCommonPassword,
  type PasswordPolicy,
  passwordProblems,
} from './password-policy';

const policy = (overrides: Partial<PasswordPolicy> = {}): PasswordPolicy => ({
  ...DEFAULT_PASSWORD_POLICY,
  ...overrides,
});

describe('passwordProblems', () => {
  it('accepts any long, uncommon password without composition rules by default', () => {
    expect(passwordProblems('correct horse battery', policy())).toEqual([]);
    expect(passwordProblems('abcdefghij', policy())).toEqual([]);
    expect(passwordProblems('пароль-очень-длинный', policy())).toEqual([]);
  });

  it('counts characters, not UTF-16 units, against the length bounds', () => {
    expect(passwordProblems('abc1', policy())).toEqual(['Ensure the password has at least 8 characters.']);
    expect(passwordProblems('😀😀😀😀😀😀😀😀', policy())).toEqual([]);
    expect(passwordProblems('abcdefghijk', policy({ min_length: 12 }))).toEqual([
      'Ensure the password has at least 12 characters.',
    ]);
    expect(passwordProblems('a'.repeat(64) + 'b', policy({ max_length: 64 }))).toEqual([
      'Ensure the password has no more than 64 characters.',
    ]);
  });

  it('never goes below 8 characters or a 64-character maximum, whatever the stored policy says', () => {
    expect(passwordProblems('abcdefg', policy({ min_length: 4 }))).toEqual([
      'Ensure the password has at least 8 characters.',
    ]);
    expect(passwordProblems('x'.repeat(60) + 'qwer', policy({ max_length: 10 }))).toEqual([]);
    expect(passwordProblems('x'.repeat(129), policy())).toEqual([
      'Ensure the password has no more than 128 characters.',
    ]);
  });

  it('refuses common passwords, whatever their case, unless the check is off', () => {
    expect(isCommonPassword('password')).toBe(true);
    expect(isCommonPassword('PassWord')).toBe(true);
    expect(isCommonPassword('12345678')).toBe(true);
    expect(passwordProblems('Password', policy())).toEqual(['This password is too common.']);
    expect(passwordProblems('password', policy({ check_common: false }))).toEqual([]);
    expect(isCommonPassword('violet-tractor-ocean')).toBe(false);
  });

  it('refuses a password that contains the username', () => {
    expect(passwordProblems('alice-and-bob', policy(), 'alice')).toEqual([
      'The password must not contain the username.',
    ]);
  });

  it('applies composition rules an admin turned on, listing every unmet one', () => {
    const strict = policy({ min_upper: 1, min_digit: 2, min_special: 1, min_word: 2 });
    expect(passwordProblems('lowercaseonly', strict)).toEqual([
      'The password needs at least 1 distinct uppercase letters.',
      'The password needs at least 2 distinct digits.',
      'The password needs at least 1 special characters.',
      'The password needs at least 2 distinct words.',
    ]);
    expect(passwordProblems('Two words 12!', strict)).toEqual([]);
    // Digits must be distinct: "11" counts once.
    expect(passwordProblems('Two words 11!', strict)).toEqual([
      'The password needs at least 2 distinct digits.',
    ]);
    expect(passwordProblems('lowercaseonly', { ...strict, is_active: false })).toEqual([]);
  });
});
