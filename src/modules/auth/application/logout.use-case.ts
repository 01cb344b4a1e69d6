import type { Clock } from '../../../platform/clock.js';
import { sha256 } from '../../../platform/crypto.js';
import type { CommandHandler } from '../../../events/command-bus.js';
import type { RefreshTokenRepository } from './ports.js';

/**
 * Ends the session of this refresh token: its family is revoked, which is the current token and
 * the rotated ones before it. Quietly does nothing for a missing or unknown token.
 */
export function logoutCommand(deps: { refreshTokens: RefreshTokenRepository; clock: Clock }): CommandHandler<{ refreshToken?: string }, void> {
  return async (input, ctx) => {
    if (!input.refreshToken) return;
    const token = await deps.refreshTokens.findByHash(ctx.tx, sha256(input.refreshToken));
    if (token) await deps.refreshTokens.revokeFamily(ctx.tx, token.familyId, deps.clock.now(), 'logout');
  };
}
