import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config.js';
import type { Db } from '../../platform/db/db.js';
import type { AppEnv } from '../../platform/http/app.js';
import { CommandBus } from '../../events/command-bus.js';
import type { MailQueue } from '../mail/index.js';
import { GetCurrentUserQuery } from './application/get-current-user.query.js';
import type { OneTimeTokens } from './application/one-time-tokens.js';
import type { PasswordHasher, UserRepository } from './application/ports.js';
import { resendVerificationCommand, type ResendVerificationInput } from './application/resend-verification.use-case.js';
import { signUpCommand, SignUpUseCase } from './application/sign-up.use-case.js';
import { verifyEmailCommand, type VerifyEmailInput } from './application/verify-email.use-case.js';
import { usersRoutes } from './http/users.routes.js';

/** What the command bus is told about each command: the relay nudge and the metrics. */
export type CommandHooks = ConstructorParameters<typeof CommandBus>[2];

export interface UsersModuleDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'appPublicUrl' | 'verificationTokenTtlHours'>;
  commandHooks: CommandHooks;
  users: UserRepository;
  oneTimeTokens: OneTimeTokens;
  hasher: PasswordHasher;
  mail: MailQueue;
  requireAuth: MiddlewareHandler<AppEnv>;
}

/** Assembles the users use cases (sign-up, email verification, current user) and their routes. */
export function createUsersModule(deps: UsersModuleDeps) {
  const { db, clock, config, users, mail } = deps;
  const tokens = deps.oneTimeTokens;
  const links = { appPublicUrl: config.appPublicUrl, verificationTokenTtlHours: config.verificationTokenTtlHours };
  const commands = new CommandBus(
    db,
    {
      'users.signUp': signUpCommand({ users, tokens, mail, clock, ...links }),
      'users.verifyEmail': verifyEmailCommand({ users, tokens, clock }),
      'users.resendVerification': resendVerificationCommand({ users, tokens, mail, ...links }),
    },
    deps.commandHooks,
  );
  const signUp = new SignUpUseCase({ hasher: deps.hasher, commit: (record) => commands.execute('users.signUp', record) });
  const verifyEmail = (input: VerifyEmailInput) => commands.execute('users.verifyEmail', input);
  const resendVerification = (input: ResendVerificationInput) => commands.execute('users.resendVerification', input);
  const getCurrentUser = new GetCurrentUserQuery({ db, users });
  const router = usersRoutes({ signUp, verifyEmail, resendVerification, getCurrentUser, requireAuth: deps.requireAuth });
  return { router, signUp, verifyEmail, resendVerification, getCurrentUser };
}
