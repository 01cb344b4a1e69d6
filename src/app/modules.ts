import type { ServerType } from '@hono/node-server';
import type { App } from '../platform/http/app.js';
import type { Resources } from './resources.js';
import { buildSessionsModule, createWhatsAppDriver } from './sessions-module.js';
import { buildIdentityModules } from './identity-module.js';
import { buildMessagingModule, messageLookup } from './messaging-module.js';
import { buildMediaModule } from './media-module.js';

/** Anything a role starts and stops: stream consumers, the session worker, the WS hub. */
export interface Runnable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Modules {
  /** Routers mounted on the API. */
  routers: App[];
  /** Started by the consumer role. */
  consumers: Runnable[];
  /** Started by the worker role. */
  workers: Runnable[];
  /** Things that attach to the API's HTTP server (the WebSocket hub). */
  apiAttachments: ((server: ServerType) => Runnable)[];
  /** Consumer groups whose lag and dead letters /metrics reports. */
  consumerGroups: { stream: string; group: string }[];
}

export interface ModuleHooks {
  /** Called after a commit wrote to the outbox, so this process's relay publishes at once. */
  onOutboxWrite: () => void;
}

/** Builds every module from the shared resources. */
export function buildModules(resources: Resources, hooks: ModuleHooks): Modules {
  // Users, auth and mail; identity.auth carries requireAuth and verifyAccessToken for other modules.
  const identity = buildIdentityModules(resources, hooks);
  const messages = messageLookup(resources);
  const sessions = buildSessionsModule(resources, hooks, identity.auth, createWhatsAppDriver(resources, messages), messages);
  const messaging = buildMessagingModule(resources, identity.auth);
  const media = buildMediaModule(resources, identity.auth);
  return {
    routers: [...identity.routers, ...sessions.routers, ...messaging.routers, ...media.routers],
    consumers: [...identity.consumers, ...messaging.consumers],
    workers: [...sessions.workers],
    apiAttachments: [...sessions.apiAttachments],
    consumerGroups: [...identity.consumerGroups, ...messaging.consumerGroups],
  };
}
