/**
 * Refresh tokens rotate: each use replaces the token by a new one of the same family. Presenting a
 * token that was already rotated means two parties hold the family (RFC 9700 reuse detection).
 */
export interface RefreshToken {
  id: string;
  tenantId: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

export type RefreshTokenState = 'active' | 'revoked' | 'reused' | 'expired';

export function refreshTokenState(token: RefreshToken, now: Date): RefreshTokenState {
  if (token.revokedAt !== null) return 'revoked';
  // Before expiry: a rotated token is a sign of theft even after it would have expired.
  if (token.rotatedAt !== null) return 'reused';
  if (token.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export type RevocationReason = 'logout' | 'logout_all' | 'password_reset' | 'reuse_detected';
