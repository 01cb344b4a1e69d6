import type { Clock } from '../../../platform/clock.js';
import type { Queryable } from '../../../platform/db/db.js';
import type { CommandHandler } from '../../../events/command-bus.js';
import {
  fieldError,
  passwordPolicyViolation,
  throwIfInvalid,
  tokenInvalid,
  type OneTimeTokens,
  type PasswordHasher,
  type User,
  type UserRepository,
} from '../../users/index.js';
import { userTokensRevoked } from './auth-events.js';
import type { LoginThrottle } from './login-throttle.js';
import type { RefreshTokenRepository } from './ports.js';

export interface ConfirmPasswordResetInput {
  token: string;
  password: string;
}

/**
 * Uses the reset token and sets the new password; every refresh token of the user is revoked and
 * the token version bumped (so every access token too), and the WebSocket hub is told. Following
 * the link proved the mailbox, so an unverified address becomes verified.
 */
export function confirmPasswordResetCommand(deps: {
  users: UserRepository;
  tokens: OneTimeTokens;
  refreshTokens: RefreshTokenRepository;
  clock: Clock;
}): CommandHandler<{ token: string; passwordHash: string }, User> {
  return async (input, ctx) => {
    const now = deps.clock.now();
    const token = await deps.tokens.consume(ctx.tx, 'password_reset', input.token);
    const user = await deps.users.resetPassword(ctx.tx, token.userId, input.passwordHash, now);
    if (!user) throw tokenInvalid();
    await deps.tokens.retire(ctx.tx, user.id, 'password_reset');
    await deps.refreshTokens.revokeAllOfUser(ctx.tx, user.id, now, 'password_reset');
    ctx.emit(userTokensRevoked({ tenantId: user.tenantId, userId: user.id, tokenVersion: user.tokenVersion }));
    return user;
  };
}

export class ConfirmPasswordResetUseCase {
  constructor(
    private readonly deps: {
      db: Queryable;
      tokens: OneTimeTokens;
      hasher: PasswordHasher;
      throttle: LoginThrottle;
      commit: (input: { token: string; passwordHash: string }) => Promise<User>;
    },
  ) {}

  async execute(input: ConfirmPasswordResetInput): Promise<void> {
    throwIfInvalid([fieldError('password', passwordPolicyViolation(input.password))]);
    // A cheap look first, so an invalid token costs no argon2 time; the commit checks again under a lock.
    await this.deps.tokens.check(this.deps.db, 'password_reset', input.token);
    const passwordHash = await this.deps.hasher.hash(input.password);
    const user = await this.deps.commit({ token: input.token, passwordHash });
    // The owner just proved the mailbox: failed guesses no longer lock the account.
    await this.deps.throttle.clearAccount(user.email);
  }
}
