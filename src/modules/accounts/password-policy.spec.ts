import { passwordProblems } from './password-policy';

describe('passwordProblems', () => {
  it('accepts a long mixed password', () => {
    expect(passwordProblems('correct-horse-42', 8)).toEqual([]);
  });

  it('reports length, character classes and the username', () => {
    expect(passwordProblems('abc1', 8)).toEqual(['Ensure the password has at least 8 characters.']);
    expect(passwordProblems('abcdefghij', 8)).toEqual(['The password must contain both letters and digits.']);
    expect(passwordProblems('alice2026x', 8, 'alice')).toEqual([
      'The password must not contain the username.',
    ]);
    expect(passwordProblems('a1'.repeat(65), 8)).toEqual([
      'Ensure the password has no more than 128 characters.',
    ]);
  });
});
