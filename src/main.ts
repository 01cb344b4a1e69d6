import { ConfigError, loadConfig } from './platform/config.js';
import { startWahub } from './app/wahub.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const wahub = await startWahub(config);
  const { logger } = wahub.resources;
  const mode = `${config.databaseUrl ? 'postgres' : 'embedded postgres'}, ${config.redisUrl ? 'redis streams' : 'in-process streams'}`;
  logger.info({ roles: config.roles, mode }, 'wahub started');
  if (wahub.url) console.log(`wahub is listening on ${wahub.url} (roles: ${config.roles.join(', ')}; ${mode})`);

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    wahub.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
