import type { Clock } from '../../../platform/clock.js';
import type { Queryable } from '../../../platform/db/db.js';
import { newId } from '../../../platform/ids.js';
import type { CommandHandler } from '../../../events/command-bus.js';
import { isEmailVerified, normaliseEmail, type PasswordHasher, type User, type UserRepository } from '../../users/index.js';
import { emailNotVerified, invalidCredentials } from './auth-errors.js';
import type { LoginThrottle } from './login-throttle.js';
import type { AccessTokenCodec, RefreshTokenRepository } from './ports.js';
import { issueRefreshToken, openSession, type AuthSession, type IssuedRefreshToken } from './session-tokens.js';

export interface LoginInput {
  email: string;
  password: string;
  clientIp: string;
}

export interface StartSessionRecord {
  userId: string;
  /** A new hash of the password with the current parameters, when the stored one is outdated. */
  rehash?: string;
}

/** The transactional half of login: the optional rehash and a refresh token of a new family. */
export function startSessionCommand(deps: {
  users: UserRepository;
  refreshTokens: RefreshTokenRepository;
  clock: Clock;
  refreshTokenTtlDays: number;
}): CommandHandler<StartSessionRecord, { user: User; refresh: IssuedRefreshToken }> {
  return async (record, ctx) => {
    const now = deps.clock.now();
    if (record.rehash) await deps.users.updatePasswordHash(ctx.tx, record.userId, record.rehash, now);
    // Read again inside the transaction: the token version signed below is the current one.
    const user = await deps.users.findById(ctx.tx, record.userId);
    if (!user) throw invalidCredentials();
    const refresh = await issueRefreshToken(deps.refreshTokens, ctx.tx, { user, familyId: newId(), now, ttlDays: deps.refreshTokenTtlDays });
    return { user, refresh };
  };
}

/**
 * Login: throttled per account and per IP; an unknown email costs the same argon2 time as a known
 * one and gets the same answer as a wrong password; a correct password on an unverified account
 * is refused with 403 `email_not_verified`.
 */
export class LoginUseCase {
  constructor(
    private readonly deps: {
      db: Queryable;
      users: UserRepository;
      hasher: PasswordHasher;
      throttle: LoginThrottle;
      accessTokens: AccessTokenCodec;
      commit: (record: StartSessionRecord) => Promise<{ user: User; refresh: IssuedRefreshToken }>;
    },
  ) {}

  async execute(input: LoginInput): Promise<AuthSession> {
    const { users, hasher, throttle } = this.deps;
    const email = normaliseEmail(input.email);
    await throttle.assertAllowed(email, input.clientIp);

    const user = await users.findByEmail(this.deps.db, email);
    let passwordMatches = false;
    if (user) passwordMatches = await hasher.verify(user.passwordHash, input.password);
    else await hasher.verifyDummy(input.password);
    if (!user || !passwordMatches) {
      await throttle.recordFailure(email, input.clientIp);
      throw invalidCredentials();
    }
    if (!isEmailVerified(user)) throw emailNotVerified();

    await throttle.clearAccount(email);
    const rehash = hasher.needsRehash(user.passwordHash) ? await hasher.hash(input.password) : undefined;
    const started = await this.deps.commit({ userId: user.id, rehash });
    return openSession(this.deps.accessTokens, started.user, started.refresh);
  }
}
