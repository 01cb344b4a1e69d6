import type { Clock } from '../../../platform/clock.js';
import { newId } from '../../../platform/ids.js';
import { DomainError } from '../../../shared/errors.js';
import type { CommandHandler } from '../../../events/command-bus.js';
import type { MailQueue } from '../../mail/index.js';
import { displayNameViolation } from '../domain/display-name.js';
import { EMAIL_MAX_LENGTH, normaliseEmail } from '../domain/email.js';
import { passwordPolicyViolation } from '../domain/password-policy.js';
import { fieldError, throwIfInvalid } from './input-errors.js';
import type { OneTimeTokens } from './one-time-tokens.js';
import type { PasswordHasher, UserRepository } from './ports.js';
import { toUserView, type UserView } from './user-view.js';
import { verificationEmail, verificationLink } from './verification-email.js';

export interface SignUpInput {
  email: string;
  password: string;
  name?: string | null;
  /** Operators only (CLI --verified): the account starts verified and no email is sent. */
  verified?: boolean;
}

/** What the transactional half receives: the password is already hashed. */
export interface SignUpRecord {
  email: string;
  name: string | null;
  passwordHash: string;
  verified: boolean;
}

export interface SignUpDeps {
  users: UserRepository;
  tokens: OneTimeTokens;
  mail: MailQueue;
  clock: Clock;
  appPublicUrl: string;
  verificationTokenTtlHours: number;
}

export const emailTaken = () => new DomainError('conflict', 'email_taken', 'An account with this email address already exists');

/**
 * Sign-up, in one transaction: a tenant, its owner, a verification token and the email carrying it
 * (an outbox message, sent by the mail consumer once this commits).
 */
export function signUpCommand(deps: SignUpDeps): CommandHandler<SignUpRecord, UserView> {
  return async (record, ctx) => {
    const now = deps.clock.now();
    const tenantId = newId();
    const user = await deps.users.insertTenantWithOwner(ctx.tx, {
      tenantId,
      tenantName: record.name ?? record.email,
      user: { id: newId(), email: record.email, name: record.name, passwordHash: record.passwordHash, emailVerifiedAt: record.verified ? now : null },
      now,
    });
    if (!user) throw emailTaken();
    if (!record.verified) {
      const { token } = await deps.tokens.issue(ctx.tx, {
        tenantId,
        userId: user.id,
        purpose: 'email_verification',
        ttlMs: deps.verificationTokenTtlHours * 3_600_000,
      });
      ctx.emit(
        deps.mail.message(
          tenantId,
          verificationEmail({
            to: user.email,
            name: user.name,
            link: verificationLink(deps.appPublicUrl, user.id, token),
            ttlHours: deps.verificationTokenTtlHours,
          }),
        ),
      );
    }
    return toUserView(user);
  };
}

export class SignUpUseCase {
  constructor(private readonly deps: { hasher: PasswordHasher; commit: (record: SignUpRecord) => Promise<UserView> }) {}

  async execute(input: SignUpInput): Promise<UserView> {
    const email = normaliseEmail(input.email);
    const name = input.name?.trim() || null;
    throwIfInvalid([
      fieldError('email', email.length > EMAIL_MAX_LENGTH || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? 'Invalid email address' : undefined),
      fieldError('password', passwordPolicyViolation(input.password)),
      fieldError('name', name === null ? undefined : displayNameViolation(name)),
    ]);
    // Hashing is the slow part (tens of ms): done before the transaction opens, not while it holds a connection.
    const passwordHash = await this.deps.hasher.hash(input.password);
    return this.deps.commit({ email, name, passwordHash, verified: input.verified ?? false });
  }
}
