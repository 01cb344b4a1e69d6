import type { CommandHandler } from '../../../events/command-bus.js';
import type { MailQueue } from '../../mail/index.js';
import { normaliseEmail, type OneTimeTokens, type UserRepository } from '../../users/index.js';
import { passwordResetEmail, passwordResetLink } from './password-reset-email.js';

/**
 * Emails a reset link (retiring earlier ones) when the address has an account. Returns nothing
 * either way: the caller answers the same for every address.
 */
export function requestPasswordResetCommand(deps: {
  users: UserRepository;
  tokens: OneTimeTokens;
  mail: MailQueue;
  appPublicUrl: string;
  resetTokenTtlMinutes: number;
}): CommandHandler<{ email: string }, void> {
  return async (input, ctx) => {
    const user = await deps.users.findByEmail(ctx.tx, normaliseEmail(input.email));
    if (!user) return;
    const { token } = await deps.tokens.issue(ctx.tx, {
      tenantId: user.tenantId,
      userId: user.id,
      purpose: 'password_reset',
      ttlMs: deps.resetTokenTtlMinutes * 60_000,
    });
    const link = passwordResetLink(deps.appPublicUrl, token);
    ctx.emit(deps.mail.message(user.tenantId, passwordResetEmail({ user, link, ttlMinutes: deps.resetTokenTtlMinutes })));
  };
}
