import type { Clock } from '../../../platform/clock.js';
import { sha256 } from '../../../platform/crypto.js';
import type { Logger } from '../../../platform/logger.js';
import type { CommandHandler } from '../../../events/command-bus.js';
import { isEmailVerified, type User, type UserRepository } from '../../users/index.js';
import { refreshTokenState } from '../domain/refresh-token.js';
import { refreshTokenInvalid, refreshTokenReused } from './auth-errors.js';
import type { AccessTokenCodec, RefreshTokenRepository } from './ports.js';
import { issueRefreshToken, openSession, type AuthSession, type IssuedRefreshToken } from './session-tokens.js';

export type RotationOutcome =
  | { ok: true; user: User; refresh: IssuedRefreshToken }
  | { ok: false; reason: 'invalid' | 'reused'; userId?: string; familyId?: string };

/**
 * Rotation, under a lock on the presented token's row. Failures are returned, not thrown: a throw
 * rolls the transaction back, and the family revoked on reuse must stay revoked.
 */
export function rotateRefreshTokenCommand(deps: {
  users: UserRepository;
  refreshTokens: RefreshTokenRepository;
  clock: Clock;
  refreshTokenTtlDays: number;
}): CommandHandler<{ refreshToken: string }, RotationOutcome> {
  return async (input, ctx) => {
    const now = deps.clock.now();
    const current = await deps.refreshTokens.findByHashForUpdate(ctx.tx, sha256(input.refreshToken));
    if (!current) return { ok: false, reason: 'invalid' };
    const state = refreshTokenState(current, now);
    if (state === 'reused') {
      await deps.refreshTokens.revokeFamily(ctx.tx, current.familyId, now, 'reuse_detected');
      return { ok: false, reason: 'reused', userId: current.userId, familyId: current.familyId };
    }
    if (state !== 'active') return { ok: false, reason: 'invalid' };
    const user = await deps.users.findById(ctx.tx, current.userId);
    if (!user || user.tenantId !== current.tenantId || !isEmailVerified(user)) return { ok: false, reason: 'invalid' };
    await deps.refreshTokens.markRotated(ctx.tx, current.id, now);
    const refresh = await issueRefreshToken(deps.refreshTokens, ctx.tx, {
      user,
      familyId: current.familyId,
      now,
      ttlDays: deps.refreshTokenTtlDays,
    });
    return { ok: true, user, refresh };
  };
}

/** A new access token and a rotated refresh token for a valid refresh token. */
export class RefreshSessionUseCase {
  constructor(
    private readonly deps: {
      accessTokens: AccessTokenCodec;
      logger: Logger;
      commit: (input: { refreshToken: string }) => Promise<RotationOutcome>;
    },
  ) {}

  async execute(refreshToken: string | undefined): Promise<AuthSession> {
    if (!refreshToken) throw refreshTokenInvalid();
    const outcome = await this.deps.commit({ refreshToken });
    if (!outcome.ok) {
      if (outcome.reason === 'reused') {
        this.deps.logger.warn({ userId: outcome.userId, familyId: outcome.familyId }, 'refresh token reuse detected: token family revoked');
        throw refreshTokenReused();
      }
      throw refreshTokenInvalid();
    }
    return openSession(this.deps.accessTokens, outcome.user, outcome.refresh);
  }
}
