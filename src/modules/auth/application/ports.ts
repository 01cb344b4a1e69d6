import type { Queryable } from '../../../platform/db/db.js';
import type { AccessTokenClaims } from '../domain/access-token.js';
import type { RefreshToken, RevocationReason } from '../domain/refresh-token.js';

export interface AccessTokenCodec {
  readonly ttlSeconds: number;
  sign(claims: AccessTokenClaims): Promise<{ token: string; expiresAt: Date }>;
  /** Throws when the signature, the expiry or a claim is wrong. */
  verify(token: string): Promise<AccessTokenClaims & { expiresAt: Date }>;
}

/** Every method takes the Queryable to run on (the command's transaction, usually). */
export interface RefreshTokenRepository {
  insert(q: Queryable, token: Omit<RefreshToken, 'rotatedAt' | 'revokedAt'> & { tokenHash: string }): Promise<void>;
  /** Locks the row: two refreshes racing with one token are serialised, the second is reuse. */
  findByHashForUpdate(q: Queryable, tokenHash: string): Promise<RefreshToken | undefined>;
  findByHash(q: Queryable, tokenHash: string): Promise<RefreshToken | undefined>;
  markRotated(q: Queryable, id: string, at: Date): Promise<void>;
  revokeFamily(q: Queryable, familyId: string, at: Date, reason: RevocationReason): Promise<void>;
  revokeAllOfUser(q: Queryable, userId: string, at: Date, reason: RevocationReason): Promise<void>;
}

export interface RateLimitState {
  count: number;
  /** Seconds until the window of this key ends; 0 for a key without hits. */
  resetInSeconds: number;
}

/** Counters in fixed windows (Redis, or this process's memory in the embedded mode). */
export interface RateLimiter {
  peek(keys: string[]): Promise<RateLimitState[]>;
  /** Adds one to each key; a key's window starts with its first hit. */
  hit(keys: string[], windowSeconds: number): Promise<void>;
  reset(key: string): Promise<void>;
}
