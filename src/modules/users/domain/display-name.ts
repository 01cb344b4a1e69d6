export const NAME_MAX_LENGTH = 200;

/**
 * Names are stored exactly as given (emoji, right-to-left scripts, combining marks, quotes): only
 * what Postgres or a terminal cannot hold safely is refused. A lone surrogate would be silently
 * replaced when encoded to UTF-8, and NUL cannot be stored in a text column at all.
 */
export function displayNameViolation(name: string): string | undefined {
  if (name.length > NAME_MAX_LENGTH) return `must be at most ${NAME_MAX_LENGTH} characters`;
  if (/\p{Cc}/u.test(name)) return 'must not contain control characters';
  if (/\p{Cs}/u.test(name)) return 'must be valid Unicode text';
  return undefined;
}
