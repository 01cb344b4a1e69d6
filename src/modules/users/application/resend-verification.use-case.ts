import type { CommandHandler } from '../../../events/command-bus.js';
import type { MailQueue } from '../../mail/index.js';
import { normaliseEmail } from '../domain/email.js';
import { isEmailVerified } from '../domain/user.js';
import type { OneTimeTokens } from './one-time-tokens.js';
import type { UserRepository } from './ports.js';
import { verificationEmail, verificationLink } from './verification-email.js';

export interface ResendVerificationInput {
  email: string;
}

/**
 * Sends a new verification link (retiring the older ones) when the address belongs to an account
 * that is not verified yet. Returns nothing either way: the caller answers the same for any email.
 */
export function resendVerificationCommand(deps: {
  users: UserRepository;
  tokens: OneTimeTokens;
  mail: MailQueue;
  appPublicUrl: string;
  verificationTokenTtlHours: number;
}): CommandHandler<ResendVerificationInput, void> {
  return async (input, ctx) => {
    const user = await deps.users.findByEmail(ctx.tx, normaliseEmail(input.email));
    if (!user || isEmailVerified(user)) return;
    const { token } = await deps.tokens.issue(ctx.tx, {
      tenantId: user.tenantId,
      userId: user.id,
      purpose: 'email_verification',
      ttlMs: deps.verificationTokenTtlHours * 3_600_000,
    });
    ctx.emit(
      deps.mail.message(
        user.tenantId,
        verificationEmail({
          to: user.email,
          name: user.name,
          link: verificationLink(deps.appPublicUrl, user.id, token),
          ttlHours: deps.verificationTokenTtlHours,
        }),
      ),
    );
  };
}
