import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config.js';
import type { Db } from '../../platform/db/db.js';
import type { Logger } from '../../platform/logger.js';
import { CommandBus } from '../../events/command-bus.js';
import type { MailQueue } from '../mail/index.js';
import type { CommandHooks, OneTimeTokens, PasswordHasher, UserRepository } from '../users/index.js';
import { confirmPasswordResetCommand, ConfirmPasswordResetUseCase } from './application/confirm-password-reset.use-case.js';
import { LoginThrottle } from './application/login-throttle.js';
import { LoginUseCase, startSessionCommand } from './application/login.use-case.js';
import { logoutAllCommand } from './application/logout-all.use-case.js';
import { logoutCommand } from './application/logout.use-case.js';
import type { AccessTokenCodec, RateLimiter, RefreshTokenRepository } from './application/ports.js';
import { RefreshSessionUseCase, rotateRefreshTokenCommand } from './application/refresh-session.use-case.js';
import { requestPasswordResetCommand } from './application/request-password-reset.use-case.js';
import { AccessTokenVerifier } from './application/verify-access-token.query.js';
import { authRoutes } from './http/auth.routes.js';
import { requireAuth } from './http/require-auth.middleware.js';

export interface AuthModuleDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: Pick<
    Config,
    | 'appPublicUrl'
    | 'refreshTokenTtlDays'
    | 'resetTokenTtlMinutes'
    | 'cookieSecure'
    | 'loginMaxFailuresPerEmail'
    | 'loginMaxFailuresPerIp'
    | 'loginFailureWindowSeconds'
  >;
  commandHooks: CommandHooks;
  users: UserRepository;
  oneTimeTokens: OneTimeTokens;
  hasher: PasswordHasher;
  mail: MailQueue;
  refreshTokens: RefreshTokenRepository;
  accessTokens: AccessTokenCodec;
  rateLimiter: RateLimiter;
}

/**
 * Assembles login, refresh rotation, logout, password reset and the access-token guard. The result
 * carries what other modules need: `requireAuth` (Hono middleware) and `verifyAccessToken`.
 */
export function createAuthModule(deps: AuthModuleDeps) {
  const { db, clock, config, users, hasher, refreshTokens, accessTokens, mail } = deps;
  const tokens = deps.oneTimeTokens;
  const logger = deps.logger.child({ module: 'auth' });
  const ttl = { refreshTokenTtlDays: config.refreshTokenTtlDays };
  const commands = new CommandBus(
    db,
    {
      'auth.startSession': startSessionCommand({ users, refreshTokens, clock, ...ttl }),
      'auth.rotateRefreshToken': rotateRefreshTokenCommand({ users, refreshTokens, clock, ...ttl }),
      'auth.logout': logoutCommand({ refreshTokens, clock }),
      'auth.logoutAll': logoutAllCommand({ users, refreshTokens, clock }),
      'auth.requestPasswordReset': requestPasswordResetCommand({
        users,
        tokens,
        mail,
        appPublicUrl: config.appPublicUrl,
        resetTokenTtlMinutes: config.resetTokenTtlMinutes,
      }),
      'auth.confirmPasswordReset': confirmPasswordResetCommand({ users, tokens, refreshTokens, clock }),
    },
    deps.commandHooks,
  );

  const throttle = new LoginThrottle(deps.rateLimiter, {
    maxFailuresPerEmail: config.loginMaxFailuresPerEmail,
    maxFailuresPerIp: config.loginMaxFailuresPerIp,
    windowSeconds: config.loginFailureWindowSeconds,
  });
  const verifier = new AccessTokenVerifier({ db, users, accessTokens });
  const guard = requireAuth(verifier);
  const login = new LoginUseCase({ db, users, hasher, throttle, accessTokens, commit: (r) => commands.execute('auth.startSession', r) });
  const refresh = new RefreshSessionUseCase({ accessTokens, logger, commit: (i) => commands.execute('auth.rotateRefreshToken', i) });
  const confirmPasswordReset = new ConfirmPasswordResetUseCase({
    db,
    tokens,
    hasher,
    throttle,
    commit: (i) => commands.execute('auth.confirmPasswordReset', i),
  });
  const router = authRoutes({
    login,
    refresh,
    logout: (i) => commands.execute('auth.logout', i),
    logoutAll: (i) => commands.execute('auth.logoutAll', i),
    requestPasswordReset: (i) => commands.execute('auth.requestPasswordReset', i),
    confirmPasswordReset,
    requireAuth: guard,
    cookie: { secure: config.cookieSecure },
  });

  return {
    router,
    /** Hono middleware: 401 unless a valid bearer access token; then c.var.auth = { userId, tenantId }. */
    requireAuth: guard,
    /** Signature, expiry and current token version; throws DomainError `unauthorized`. */
    verifyAccessToken: (token: string) => verifier.verifyAccessToken(token),
    verifier,
  };
}

export type AuthModule = ReturnType<typeof createAuthModule>;
