export const EMAIL_MAX_LENGTH = 254;

/** One account per address however it is typed: surrounding spaces dropped, case folded. */
export function normaliseEmail(raw: string): string {
  return raw.trim().toLowerCase();
}
