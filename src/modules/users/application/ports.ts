import type { Queryable } from '../../../platform/db/db.js';
import type { OneTimeToken, OneTimeTokenPurpose } from '../domain/one-time-token.js';
import type { User } from '../domain/user.js';

/**
 * Every method takes the Queryable to run on: the database, or the transaction of the command
 * that calls it, so a use case composes several writes into one commit.
 */
export interface UserRepository {
  /** Creates the tenant and its owner; undefined when the email is taken (nothing is written then). */
  insertTenantWithOwner(
    q: Queryable,
    input: { tenantId: string; tenantName: string; user: Omit<User, 'tenantId' | 'role' | 'tokenVersion' | 'createdAt'>; now: Date },
  ): Promise<User | undefined>;
  findById(q: Queryable, id: string): Promise<User | undefined>;
  findByEmail(q: Queryable, email: string): Promise<User | undefined>;
  /** The one lookup every authenticated request makes (by primary key). */
  findTokenState(q: Queryable, id: string): Promise<{ tenantId: string; tokenVersion: number } | undefined>;
  markEmailVerified(q: Queryable, id: string, at: Date): Promise<User | undefined>;
  /** Replaces the hash only (a rehash with current parameters). */
  updatePasswordHash(q: Queryable, id: string, passwordHash: string, at: Date): Promise<void>;
  /** Sets a new password and bumps the token version (and, since the mailbox was proven, marks the email verified). */
  resetPassword(q: Queryable, id: string, passwordHash: string, at: Date): Promise<User | undefined>;
  /** Bumps the token version and returns the new one. */
  bumpTokenVersion(q: Queryable, id: string, at: Date): Promise<number | undefined>;
}

export interface OneTimeTokenRepository {
  insert(q: Queryable, token: Omit<OneTimeToken, 'usedAt'> & { tokenHash: string }): Promise<void>;
  /** Locks the row (FOR UPDATE) when forUpdate is set, so two requests cannot both use it. */
  findByHash(q: Queryable, purpose: OneTimeTokenPurpose, tokenHash: string, options?: { forUpdate?: boolean }): Promise<OneTimeToken | undefined>;
  markUsed(q: Queryable, id: string, at: Date): Promise<void>;
  /** Retires every unused token of the user for this purpose (a newer link supersedes older ones). */
  retireOutstanding(q: Queryable, userId: string, purpose: OneTimeTokenPurpose, at: Date): Promise<void>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** false for a wrong password or an unreadable hash. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** true when the hash was made with other parameters than the current ones. */
  needsRehash(passwordHash: string): boolean;
  /** Spends the time of a real verification, for unknown emails, so timing does not reveal accounts. */
  verifyDummy(password: string): Promise<void>;
}
