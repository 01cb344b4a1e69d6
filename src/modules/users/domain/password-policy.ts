export const PASSWORD_MIN_LENGTH = 10;
/** An upper bound keeps a single request from buying seconds of hashing. */
export const PASSWORD_MAX_LENGTH = 256;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordPolicyViolation(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (/\p{Cs}/u.test(password)) return 'must be valid Unicode text';
  return undefined;
}
