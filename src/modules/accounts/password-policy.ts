/** Password rules applied wherever a password is chosen. Returns the problems, empty when acceptable. */
export const PASSWORD_MAX_LENGTH = 128;

export function passwordProblems(password: string, minLength: number, username?: string): string[] {
  const problems: string[] = [];
  if (password.length < minLength) problems.push(`Ensure the password has at least ${minLength} characters.`);
  if (password.length > PASSWORD_MAX_LENGTH) {
    problems.push(`Ensure the password has no more than ${PASSWORD_MAX_LENGTH} characters.`);
  }
  if (!/[A-Za-z]/.test(password) || !/\d/.test(password)) {
    problems.push('The password must contain both letters and digits.');
  }
  if (username && password.toLowerCase().includes(username.toLowerCase())) {
    problems.push('The password must not contain the username.');
  }
  return problems;
}
