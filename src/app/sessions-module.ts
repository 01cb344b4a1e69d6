import { hostname } from 'node:os';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../platform/http/app.js';
import { randomToken } from '../platform/crypto.js';
import { CommandBus } from '../events/command-bus.js';
import { WsHub, type WsIdentity } from '../events/ws/ws-hub.js';
import { MemoryTicketStore, RedisTicketStore } from '../events/ws/ws-tickets.js';
import { findLiveSession, toPrimitives } from '../modules/sessions/adapters/session-repository.js';
import { SimulatorDriver } from '../modules/sessions/adapters/simulator/simulator-driver.js';
import { createBaileysDriver, storedMessage } from '../modules/sessions/adapters/baileys/index.js';
import { startSession } from '../modules/sessions/application/start-session.use-case.js';
import { stopSession } from '../modules/sessions/application/stop-session.use-case.js';
import { deleteSession } from '../modules/sessions/application/delete-session.use-case.js';
import type { WhatsAppDriver } from '../modules/sessions/domain/whatsapp-driver.js';
import { sessionsRoutes } from '../modules/sessions/http/sessions-routes.js';
import { messagingRoutes } from '../modules/sessions/http/messaging-routes.js';
import { MessagingUseCases } from '../modules/sessions/application/messaging-use-cases.js';
import type { MessageLookup } from '../modules/sessions/application/messaging.ports.js';
import { simulatorRoutes } from '../modules/sessions/http/simulator-routes.js';
import { wsTicketRoutes } from '../events/ws/ws-ticket-routes.js';
import { SessionWorker } from '../modules/sessions/worker/session-worker.js';
import { SessionEventPublisher } from '../modules/sessions/worker/session-event-publisher.js';
import { SimulatorMediaStash } from '../modules/sessions/adapters/simulator/simulator-media.js';
import { createProbe, findMediaUpload } from '../modules/media/index.js';
import path from 'node:path';
import type { ModuleHooks, Modules } from './modules.js';
import type { Resources } from './resources.js';

export interface AuthPorts {
  requireAuth: MiddlewareHandler<AppEnv>;
  verifyAccessToken: (token: string) => Promise<WsIdentity>;
}

/** Sessions: the API side, the worker with its WhatsApp driver, the simulator, and the WebSocket hub. */
export function buildSessionsModule(
  resources: Resources,
  hooks: ModuleHooks,
  auth: AuthPorts,
  driver: WhatsAppDriver,
  messages: MessageLookup,
): Pick<Modules, 'routers' | 'workers' | 'apiAttachments'> {
  const { config, db, bus, logger, clock, redis, metrics, mediaStorage } = resources;
  const commands = new CommandBus(db, { startSession, stopSession, deleteSession }, {
    afterCommit: hooks.onOutboxWrite,
    observe: (command, ms, ok) => metrics.commands.observe({ command, outcome: ok ? 'ok' : 'error' }, ms / 1000),
  });
  const tickets = redis ? new RedisTicketStore(redis, config.redisKeyPrefix) : new MemoryTicketStore();
  const routers = [
    sessionsRoutes({ db, commands, requireAuth: auth.requireAuth, shards: config.workerShards, clock }),
    wsTicketRoutes({ tickets, verifyAccessToken: auth.verifyAccessToken }),
    messagingRoutes({
      messaging: new MessagingUseCases({
        db,
        bus,
        messages,
        shards: config.workerShards,
        findUpload: async (tenantId, mediaId) => {
          const upload = await findMediaUpload(db, tenantId, mediaId);
          return upload && { ...upload, storageKey: upload.key };
        },
      }),
      requireAuth: auth.requireAuth,
    }),
  ];
  if (driver instanceof SimulatorDriver) routers.push(simulatorRoutes({ db, bus, requireAuth: auth.requireAuth, media: simulatorMediaStash(resources) }));

  const worker = new SessionWorker({
    db,
    bus,
    driver,
    logger: logger.child({ role: 'worker' }),
    workerId: config.workerId ?? `${hostname()}-${process.pid}-${randomToken(4)}`,
    shards: config.workerShards,
    leaseTtlMs: config.workerLeaseTtlMs,
    claimIdleMs: config.streamClaimIdleMs,
    maxDeliveries: config.streamMaxDeliveries,
    onOutboxWrite: hooks.onOutboxWrite,
    // Inbound media: downloaded off the event path into media storage; outbound: read from it.
    media: { storage: mediaStorage, settings: { maxBytes: config.mediaMaxBytes, ...config.mediaJobs }, probe: createProbe },
    publisher: new SessionEventPublisher(bus, logger.child({ role: 'worker' }), {
      storeRaw: config.storeRawMessages,
      onPublished: (types) => {
        for (const type of types) metrics.sessionEvents.inc({ type });
      },
    }),
  });
  metrics.gauge('wahub_sessions', 'Sessions by status', ['status'], async (gauge) => {
    gauge.reset();
    const rows = await db.query<{ status: string; n: number }>(`select status, count(*)::int as n from sessions where deleted_at is null group by status`);
    for (const row of rows) gauge.set({ status: row.status }, row.n);
  });
  const wsConnections = metrics.gauge('wahub_ws_connections', 'Open WebSocket connections on this process', [], async () => {});

  const workers = [];
  if (driver instanceof SimulatorDriver) workers.push({ start: () => driver.start(), stop: () => driver.stop() });
  workers.push({ start: () => worker.start(), stop: () => worker.stop(), worker });

  return {
    routers,
    workers,
    apiAttachments: [
      (server) =>
        new WsHub(server as never, {
          bus,
          logger: logger.child({ role: 'ws' }),
          verifyAccessToken: auth.verifyAccessToken,
          tickets,
          loadSession: async (tenantId) => {
            const row = await findLiveSession(db, tenantId);
            return row ? { ...toPrimitives(row) } : null;
          },
          corsOrigins: config.corsOrigins,
          onConnectionsChanged: (n) => wsConnections.set(n),
        }),
    ],
  };
}

/** The WhatsApp driver the configuration names: Baileys in production, the simulator for tests and demos. */
export function createWhatsAppDriver(resources: Resources, messages: MessageLookup): WhatsAppDriver {
  const { config, db, logger } = resources;
  if (config.waDriver === 'simulator') return createSimulatorDriver(resources);
  return createBaileysDriver({
    db,
    logger: logger.child({ driver: 'baileys' }),
    version: config.waVersion,
    browser: config.waBrowser,
    // A retry receipt asks for a message again: without it the peer sees "Waiting for this message".
    getMessage: async (sessionId, key) => {
      const [session] = await db.query<{ tenant_id: string }>(`select tenant_id from sessions where id = $1`, [sessionId]);
      if (!session || !key.remoteJid || !key.id) return undefined;
      const found = await messages.findMessage(session.tenant_id, sessionId, key.remoteJid, key.id);
      return found ? (storedMessage(found, 'quote').message ?? undefined) : undefined;
    },
  });
}

function createSimulatorDriver(resources: Resources): SimulatorDriver {
  const ttl = resources.config.simulatorQrTtlMs;
  return new SimulatorDriver({
    db: resources.db,
    bus: resources.bus,
    logger: resources.logger.child({ driver: 'simulator' }),
    firstQrTtlMs: ttl,
    nextQrTtlMs: Math.max(100, Math.floor(ttl / 3)),
    media: simulatorMediaStash(resources),
  });
}

/** The simulated phone's media files (DATA_DIR/simulator-media), shared by its routes and its driver. */
const simulatorMediaStash = (resources: Resources) => new SimulatorMediaStash(path.join(resources.config.dataDir, 'simulator-media'));
