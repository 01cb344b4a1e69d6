import path from 'node:path';
import type { App } from '../platform/http/app.js';
import { createAuthModule } from '../modules/auth/index.js';
import { JoseAccessTokenCodec } from '../modules/auth/adapters/jose-access-token.codec.js';
import { MemoryRateLimiter } from '../modules/auth/adapters/memory-rate-limiter.js';
import { RedisRateLimiter } from '../modules/auth/adapters/redis-rate-limiter.js';
import { SqlRefreshTokenRepository } from '../modules/auth/adapters/sql-refresh-token.repository.js';
import { createMailModule, MailQueue, MailSealer, type Mailer } from '../modules/mail/index.js';
import { FileMailer } from '../modules/mail/adapters/file.mailer.js';
import { SmtpMailer } from '../modules/mail/adapters/smtp.mailer.js';
import { createUsersModule, OneTimeTokens, type CommandHooks } from '../modules/users/index.js';
import { Argon2PasswordHasher } from '../modules/users/adapters/argon2-password.hasher.js';
import { SqlOneTimeTokenRepository } from '../modules/users/adapters/sql-one-time-token.repository.js';
import { SqlUserRepository } from '../modules/users/adapters/sql-user.repository.js';
import type { ModuleHooks, Runnable } from './modules.js';
import type { Resources } from './resources.js';

/**
 * Users, auth and mail: the adapters they run on (chosen from the configuration) and the modules.
 * `auth` carries `requireAuth` and `verifyAccessToken` for the other modules.
 */
export function buildIdentityModules(resources: Resources, hooks: ModuleHooks) {
  const { config, db, redis, bus, logger, clock, metrics } = resources;
  const commandHooks: CommandHooks = {
    afterCommit: hooks.onOutboxWrite,
    observe: (command, ms, ok) => metrics.commands.observe({ command, outcome: ok ? 'ok' : 'error' }, ms / 1000),
  };
  const sealer = new MailSealer(resources.jwtSecret);
  const mail = new MailQueue(sealer);
  const users = new SqlUserRepository();
  const oneTimeTokens = new OneTimeTokens({ repo: new SqlOneTimeTokenRepository(), clock });
  const hasher = new Argon2PasswordHasher();

  const auth = createAuthModule({
    db,
    clock,
    logger,
    config,
    commandHooks,
    users,
    oneTimeTokens,
    hasher,
    mail,
    refreshTokens: new SqlRefreshTokenRepository(),
    accessTokens: new JoseAccessTokenCodec({ secret: resources.jwtSecret, ttlSeconds: config.accessTokenTtlSeconds, clock }),
    rateLimiter: redis ? new RedisRateLimiter(redis, config.redisKeyPrefix) : new MemoryRateLimiter({ clock }),
  });
  const usersModule = createUsersModule({ db, clock, config, commandHooks, users, oneTimeTokens, hasher, mail, requireAuth: auth.requireAuth });

  const mailer: Mailer = config.smtpUrl
    ? new SmtpMailer(config.smtpUrl, config.mailFrom)
    : new FileMailer({ dir: path.join(config.dataDir, 'mail'), from: config.mailFrom, logger });
  const mailModule = createMailModule({ bus, db, mailer, sealer, logger, metrics, config });

  const routers: App[] = [usersModule.router, auth.router];
  const consumers: Runnable[] = [mailModule.consumer];
  return { auth, users: usersModule, routers, consumers, consumerGroups: [mailModule.consumerGroup] };
}
