import type { Clock } from '../../../platform/clock.js';
import type { CommandHandler } from '../../../events/command-bus.js';
import type { UserRepository } from '../../users/index.js';
import { unauthorized } from './auth-errors.js';
import { userTokensRevoked } from './auth-events.js';
import type { RefreshTokenRepository } from './ports.js';

/**
 * Logs the user out everywhere: every refresh token revoked, and the token version bumped so every
 * access token issued before stops being accepted; the WebSocket hub hears it on `auth-events`.
 */
export function logoutAllCommand(deps: {
  users: UserRepository;
  refreshTokens: RefreshTokenRepository;
  clock: Clock;
}): CommandHandler<{ userId: string; tenantId: string }, void> {
  return async (input, ctx) => {
    const now = deps.clock.now();
    await deps.refreshTokens.revokeAllOfUser(ctx.tx, input.userId, now, 'logout_all');
    const tokenVersion = await deps.users.bumpTokenVersion(ctx.tx, input.userId, now);
    if (tokenVersion === undefined) throw unauthorized('The user of this access token no longer exists');
    ctx.emit(userTokensRevoked({ tenantId: input.tenantId, userId: input.userId, tokenVersion }));
  };
}
