import type { Clock } from '../../../platform/clock.js';
import type { CommandHandler } from '../../../events/command-bus.js';
import { tokenInvalid, type OneTimeTokens } from './one-time-tokens.js';
import type { UserRepository } from './ports.js';
import { toUserView, type UserView } from './user-view.js';

export interface VerifyEmailInput {
  userId: string;
  token: string;
}

/**
 * Uses a verification token of that user. An unknown user id, another user's token (of this tenant
 * or any other), a used token: all the same `token_invalid`, so the answer reveals no account.
 */
export function verifyEmailCommand(deps: { users: UserRepository; tokens: OneTimeTokens; clock: Clock }): CommandHandler<VerifyEmailInput, UserView> {
  return async (input, ctx) => {
    const token = await deps.tokens.consume(ctx.tx, 'email_verification', input.token, { userId: input.userId });
    const user = await deps.users.markEmailVerified(ctx.tx, token.userId, deps.clock.now());
    if (!user) throw tokenInvalid();
    return toUserView(user);
  };
}
