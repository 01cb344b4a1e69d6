import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createHttpApp, type App } from '../platform/http/app.js';
import { systemRoutes, type ReadinessCheck } from '../platform/http/system-routes.js';
import { OutboxRelay } from '../events/outbox/outbox-relay.js';
import { deadLetterStream } from '../events/bus/stream-bus.js';
import { createResources, type Resources } from './resources.js';
import { buildModules, type Modules, type Runnable } from './modules.js';

export interface Wahub {
  resources: Resources;
  app: App;
  /** The API's base URL when the api role runs here. */
  url: string | undefined;
  relay: OutboxRelay | undefined;
  modules: Modules;
  stop(): Promise<void>;
}

/**
 * Builds wahub from its configuration and starts the roles it names. The one composition root:
 * main.ts, the CLI and the end-to-end tests all come through here.
 */
export async function startWahub(config: Config, overrides: { logger?: Logger; metrics?: Metrics } = {}): Promise<Wahub> {
  const resources = await createResources(config, overrides);
  const { logger, db, redis, bus, metrics } = resources;
  const roles = new Set(config.roles);

  const relay = roles.has('relay')
    ? new OutboxRelay({
        db,
        bus,
        logger: logger.child({ role: 'relay' }),
        retentionHours: config.outboxRetentionHours,
        onPublished: (n) => metrics.outboxPublished.inc(n),
      })
    : undefined;

  const modules = buildModules(resources, { onOutboxWrite: () => relay?.notify() });

  metrics.gauge('wahub_outbox_backlog', 'Outbox rows not yet published', [], async (gauge) => {
    const [row] = await db.query<{ n: number }>(`select count(*)::int as n from outbox where status = 'pending'`);
    gauge.set(row?.n ?? 0);
  });
  // Consumers count what they handle and dead-letter through StreamConsumer's `metrics` option
  // (or streamConsumerMetrics hooks); these gauges read the streams themselves at scrape time.
  // A failing read (Redis away) logs and leaves the gauge as it was, so /metrics still answers.
  const collecting = async (what: string, collect: () => Promise<void>) => {
    try {
      await collect();
    } catch (error) {
      logger.warn({ err: error }, `metrics: could not collect ${what}`);
    }
  };
  metrics.gauge('wahub_stream_consumer_lag', 'Entries of a stream not yet delivered to a consumer group', ['stream', 'group'], (gauge) =>
    collecting('consumer lag', async () => {
      for (const { stream, group } of modules.consumerGroups) {
        const { lag } = await bus.groupStats(stream, group);
        if (lag !== null) gauge.set({ stream, group }, lag);
      }
    }),
  );
  metrics.gauge('wahub_stream_consumer_pending', 'Entries delivered to a consumer group and not yet acknowledged', ['stream', 'group'], (gauge) =>
    collecting('consumer pending', async () => {
      for (const { stream, group } of modules.consumerGroups) {
        gauge.set({ stream, group }, (await bus.groupStats(stream, group)).pending);
      }
    }),
  );
  metrics.gauge('wahub_stream_dead_letters', 'Entries in a dead-letter stream', ['stream'], (gauge) =>
    collecting('dead letters', async () => {
      for (const stream of new Set(modules.consumerGroups.map((g) => g.stream))) {
        gauge.set({ stream }, await bus.length(deadLetterStream(stream)));
      }
    }),
  );

  const checks: ReadinessCheck[] = [{ name: 'postgres', check: () => db.ping() }];
  if (redis) checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
  if (resources.mediaStorage.kind === 's3') checks.push({ name: 'storage', check: () => resources.mediaStorage.ping() });

  const app = createHttpApp({
    logger,
    metrics: config.metricsEnabled ? metrics : undefined,
    corsOrigins: config.corsOrigins,
    bodyLimitBytes: config.bodyLimitBytes,
    // POST /media streams its multipart body and enforces the limit of each kind itself.
    bodyLimitExempt: [{ method: 'POST', path: '/media' }],
    trustProxyHops: config.trustProxyHops,
  });
  app.route('/', systemRoutes({ db, checks, metrics: config.metricsEnabled ? metrics : undefined }));
  for (const router of modules.routers) app.route('/', router);
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'wahub', version: '0.1.0', description: 'Multi-tenant WhatsApp sessions: auth, sessions, chats, messages, media and real-time events.' },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });

  const started: Runnable[] = [];
  const startAll = async (runnables: Runnable[]) => {
    for (const r of runnables) {
      await r.start();
      started.push(r);
    }
  };
  if (relay) {
    relay.start();
  }
  if (roles.has('consumer')) await startAll(modules.consumers);
  if (roles.has('worker')) await startAll(modules.workers);

  let server: ServerType | undefined;
  let url: string | undefined;
  if (roles.has('api')) {
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    });
    const address = server.address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    url = `http://${host}:${address.port}`;
    await startAll(modules.apiAttachments.map((attach) => attach(server!)));
  }

  let stopping: Promise<void> | undefined;
  return {
    resources,
    app,
    url,
    relay,
    modules,
    stop() {
      stopping ??= (async () => {
        if (server) {
          server.close();
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }
        for (const r of started.reverse()) {
          try {
            await r.stop();
          } catch (error) {
            logger.error({ err: error }, 'error while stopping');
          }
        }
        await relay?.stop();
        await resources.close();
      })();
      return stopping;
    },
  };
}
