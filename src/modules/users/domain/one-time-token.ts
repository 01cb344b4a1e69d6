export type OneTimeTokenPurpose = 'email_verification' | 'password_reset';

export interface OneTimeToken {
  id: string;
  tenantId: string;
  userId: string;
  purpose: OneTimeTokenPurpose;
  expiresAt: Date;
  usedAt: Date | null;
}

export type OneTimeTokenState = 'valid' | 'used' | 'expired';

/** A token works once, before it expires. Used wins over expired: it can never work again. */
export function oneTimeTokenState(token: Pick<OneTimeToken, 'expiresAt' | 'usedAt'>, now: Date): OneTimeTokenState {
  if (token.usedAt !== null) return 'used';
  if (token.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'valid';
}
