import type { Clock } from '../../../platform/clock.js';
import { randomToken, sha256 } from '../../../platform/crypto.js';
import type { Queryable } from '../../../platform/db/db.js';
import { newId } from '../../../platform/ids.js';
import { DomainError } from '../../../shared/errors.js';
import { oneTimeTokenState, type OneTimeToken, type OneTimeTokenPurpose } from '../domain/one-time-token.js';
import type { OneTimeTokenRepository } from './ports.js';

// The same answer for an unknown token, another user's token and a used one: nothing to learn from it.
export const tokenInvalid = () => new DomainError('invalid', 'token_invalid', 'This link is invalid or has already been used; ask for a new one');
export const tokenExpired = () => new DomainError('invalid', 'token_expired', 'This link has expired; ask for a new one');

/**
 * Single-use, expiring tokens for links sent by email (verification, password reset): 256 random
 * bits handed out once, only their sha256 stored. Issuing one retires the user's earlier ones.
 */
export class OneTimeTokens {
  constructor(private readonly deps: { repo: OneTimeTokenRepository; clock: Clock }) {}

  async issue(
    q: Queryable,
    input: { tenantId: string; userId: string; purpose: OneTimeTokenPurpose; ttlMs: number },
  ): Promise<{ token: string; expiresAt: Date }> {
    const now = this.deps.clock.now();
    await this.deps.repo.retireOutstanding(q, input.userId, input.purpose, now);
    const token = randomToken();
    const expiresAt = new Date(now.getTime() + input.ttlMs);
    await this.deps.repo.insert(q, {
      id: newId(),
      tenantId: input.tenantId,
      userId: input.userId,
      purpose: input.purpose,
      tokenHash: sha256(token),
      expiresAt,
    });
    return { token, expiresAt };
  }

  /** The token's row when it can be used (by userId, when given); throws token_invalid or token_expired. */
  async check(q: Queryable, purpose: OneTimeTokenPurpose, token: string, options: { userId?: string; forUpdate?: boolean } = {}): Promise<OneTimeToken> {
    const found = await this.deps.repo.findByHash(q, purpose, sha256(token), { forUpdate: options.forUpdate });
    if (!found || (options.userId !== undefined && found.userId !== options.userId)) throw tokenInvalid();
    const state = oneTimeTokenState(found, this.deps.clock.now());
    if (state === 'used') throw tokenInvalid();
    if (state === 'expired') throw tokenExpired();
    return found;
  }

  /** Retires the user's unused tokens of this purpose (after a reset, older reset links stop working). */
  async retire(q: Queryable, userId: string, purpose: OneTimeTokenPurpose): Promise<void> {
    await this.deps.repo.retireOutstanding(q, userId, purpose, this.deps.clock.now());
  }

  /** check() under a row lock, then marks the token used: two requests racing with it cannot both win. */
  async consume(q: Queryable, purpose: OneTimeTokenPurpose, token: string, options: { userId?: string } = {}): Promise<OneTimeToken> {
    const found = await this.check(q, purpose, token, { ...options, forUpdate: true });
    await this.deps.repo.markUsed(q, found.id, this.deps.clock.now());
    return found;
  }
}
