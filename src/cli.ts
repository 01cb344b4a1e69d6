import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildIdentityModules } from './app/identity-module.js';
import { createResources, type Resources } from './app/resources.js';
import { ConfigError, loadConfig } from './platform/config.js';
import { Metrics } from './platform/metrics.js';
import { DomainError } from './shared/errors.js';

const USAGE = `wahub operator commands (configuration from the environment, as for npm start)

  npm run migrate
      Applies pending database migrations.

  npm run cli -- user:create --email <email> --password <password> [--name <name>] [--verified]
      Creates a tenant and its owner, as POST /users does, and prints the user as JSON.
      --verified marks the email verified and sends no verification email.

In the embedded mode (no DATABASE_URL) stop a running wahub first: one process at a time may
open the embedded database in DATA_DIR.
`;

class UsageError extends Error {}

/** A command parses its arguments first (before any database is opened), then runs. */
interface Command {
  parse(args: string[]): (resources: Resources) => Promise<void>;
}

const commands: Record<string, Command> = {
  migrate: {
    parse: () => async (resources) => {
      // createResources has applied the migrations already: report where the schema stands.
      const rows = await resources.db.query<{ version: string }>('select version from schema_migrations order by version');
      process.stdout.write(`Database is up to date (${rows.length} migrations: ${rows.map((r) => r.version).join(', ')})\n`);
    },
  },

  'user:create': {
    parse(args) {
      const { values } = parseArgs({
        args,
        options: {
          email: { type: 'string' },
          password: { type: 'string' },
          name: { type: 'string' },
          verified: { type: 'boolean', default: false },
        },
        strict: true,
      });
      const { email, password, name, verified } = values;
      if (!email || !password) throw new UsageError('user:create needs --email and --password');
      return async (resources) => {
        const identity = buildIdentityModules(resources, { onOutboxWrite: () => {} });
        const user = await identity.users.signUp.execute({ email, password, name, verified });
        process.stdout.write(`${JSON.stringify(user, null, 2)}\n`);
        if (!verified) process.stderr.write('A verification email is queued; wahub sends it once it runs (npm start).\n');
      };
    },
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${USAGE}`);
    return 1;
  }
  const run = command.parse(args);
  const config = loadConfig();
  // Logs go to stderr: stdout carries the command's result, for scripts to read.
  const logger = pino({ level: config.logLevel, base: { service: 'wahub-cli' } }, pino.destination(2));
  const resources = await createResources(config, { logger, metrics: new Metrics({ defaultMetrics: false }) });
  try {
    await run(resources);
    return 0;
  } finally {
    await resources.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
    } else if (error instanceof DomainError) {
      const fields = Array.isArray(error.details.errors) ? error.details.errors : [];
      if (fields.length === 0) process.stderr.write(`${error.code}: ${error.message}\n`);
      else process.stderr.write(`${error.code}:\n${(fields as { path: string; message: string }[]).map((f) => `  --${f.path}: ${f.message}\n`).join('')}`);
    } else if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (error as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  },
);
