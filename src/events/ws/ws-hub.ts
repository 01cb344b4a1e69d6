import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../platform/logger.js';
import { newUuidV7, uuidV7Time } from '../../platform/ids.js';
import type { StreamBus, StreamEntry } from '../bus/stream-bus.js';
import { compareStreamIds } from '../bus/stream-bus.js';
import { STREAMS } from '../envelope.js';
import type { TicketStore } from './ws-tickets.js';

export const WS_PATH = '/ws/sessions';

/** Close codes the hub uses (4000-4999 are the application's). */
export const WS_CLOSE = {
  unauthorized: 4401,
  forbiddenOrigin: 4403,
  tooSlow: 4408,
  goingAway: 1001,
} as const;

export interface WsIdentity {
  userId: string;
  tenantId: string;
  tokenVersion: number;
  expiresAt: Date;
}

export interface WsHubOptions {
  bus: StreamBus;
  logger: Logger;
  /** Verifies an access token (signature, expiry, token version). Throws when invalid. */
  verifyAccessToken: (token: string) => Promise<WsIdentity>;
  tickets: TicketStore;
  /** The tenant's current session, for the snapshot. */
  loadSession: (tenantId: string) => Promise<{ id: string } & Record<string, unknown> | null>;
  corsOrigins: string[];
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  onConnectionsChanged?: (count: number) => void;
}

interface Client {
  ws: WebSocket;
  identity: WsIdentity;
  alive: boolean;
  /** Live entries held back while the snapshot and the replay are sent. */
  pending: StreamEntry[] | null;
  expiryTimer: NodeJS.Timeout | undefined;
}

const REPLAY_CHUNK = 500;
// Event ids are made when the event is, a little before the stream entry: look back this far.
const RESUME_LOOKBACK_MS = 10_000;

/**
 * Pushes `domain-events` to WebSocket clients, each event to its tenant's clients only, in stream
 * order. Every API process reads the whole stream (no group), so a client may connect to any of
 * them. `?since=<eventId>` replays what a reconnecting client missed before it goes live.
 */
export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly byTenant = new Map<string, Set<Client>>();
  private position = '0-0';
  private running = false;
  private loops: Promise<void>[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head);

  constructor(
    private readonly server: Server,
    private readonly options: WsHubOptions,
  ) {}

  get connections(): number {
    let n = 0;
    for (const set of this.byTenant.values()) n += set.size;
    return n;
  }

  async start(): Promise<void> {
    const { bus } = this.options;
    this.position = await bus.lastId(STREAMS.domainEvents);
    const authFrom = await bus.lastId(STREAMS.authEvents);
    this.running = true;
    this.loops = [this.fanOut(), this.watchRevocations(authFrom)];
    this.server.on('upgrade', this.upgradeListener);
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs ?? 30_000);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.server.off('upgrade', this.upgradeListener);
    clearInterval(this.heartbeat);
    for (const set of this.byTenant.values()) for (const client of set) this.close(client, WS_CLOSE.goingAway, 'server shutting down');
    await Promise.all(this.loops);
    this.wss.close();
  }

  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true; // not a browser: nothing to protect against
    const allowed = this.options.corsOrigins;
    if (allowed.includes('*') || allowed.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return; // another upgrade handler may want it
    if (!this.originAllowed(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.accept(ws, url.searchParams).catch((error) => {
        this.options.logger.error({ err: error }, 'websocket setup failed');
        ws.close(1011, 'internal error');
      });
    });
  }

  private async authenticate(params: URLSearchParams): Promise<WsIdentity | null> {
    const ticket = params.get('ticket');
    if (ticket) {
      const claims = await this.options.tickets.redeem(ticket);
      return claims ? { ...claims, expiresAt: new Date(claims.expiresAt) } : null;
    }
    const token = params.get('accessToken');
    if (!token) return null;
    try {
      return await this.options.verifyAccessToken(token);
    } catch {
      return null;
    }
  }

  private async accept(ws: WebSocket, params: URLSearchParams): Promise<void> {
    const identity = await this.authenticate(params);
    if (!identity || identity.expiresAt.getTime() <= Date.now()) {
      ws.close(WS_CLOSE.unauthorized, 'unauthorized');
      return;
    }
    const client: Client = { ws, identity, alive: true, pending: [], expiryTimer: undefined };
    // Registered before anything is awaited: every entry after `upTo` is held in client.pending.
    const upTo = this.position;
    this.register(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => this.unregister(client));
    ws.on('error', () => this.unregister(client));
    ws.on('message', () => {}); // the protocol is server → client; input is ignored
    const untilExpiry = identity.expiresAt.getTime() - Date.now();
    client.expiryTimer = setTimeout(() => this.close(client, WS_CLOSE.unauthorized, 'token expired'), Math.min(untilExpiry, 2 ** 31 - 1));

    const since = params.get('since');
    const resumeFrom = since ? await this.findResumePoint(since, identity.tenantId, upTo) : undefined;
    const session = await this.options.loadSession(identity.tenantId);
    const payload: Record<string, unknown> = { tenantId: identity.tenantId, session };
    if (since) payload.resumed = resumeFrom !== null;
    this.send(client, JSON.stringify({ type: 'session.snapshot', sessionId: session?.id ?? null, eventId: newUuidV7(), occurredOn: new Date().toISOString(), payload }));

    if (resumeFrom) await this.replay(client, resumeFrom, upTo);
    const held = client.pending ?? [];
    client.pending = null;
    for (const entry of held) this.send(client, entry.fields.data!);
  }

  /** The stream id of the event `since`, when it is still in the stream; null when it cannot be found. */
  private async findResumePoint(since: string, tenantId: string, upTo: string): Promise<string | null> {
    const madeAt = uuidV7Time(since);
    if (madeAt === null) return null;
    const { bus } = this.options;
    // Not found from just before it was made up to now: trimmed away, or never this tenant's.
    let cursor = `${Math.max(0, madeAt - RESUME_LOOKBACK_MS)}-0`;
    for (;;) {
      const entries = await bus.range(STREAMS.domainEvents, cursor, REPLAY_CHUNK);
      for (const entry of entries) {
        if (compareStreamIds(entry.id, upTo) > 0) return null;
        if (entry.fields.eventId === since) return entry.fields.tenantId === tenantId ? entry.id : null;
      }
      if (entries.length < REPLAY_CHUNK) return null;
      cursor = entries.at(-1)!.id;
    }
  }

  private async replay(client: Client, after: string, upTo: string): Promise<void> {
    let cursor = after;
    while (compareStreamIds(cursor, upTo) < 0) {
      const entries = await this.options.bus.range(STREAMS.domainEvents, cursor, REPLAY_CHUNK);
      if (entries.length === 0) return;
      for (const entry of entries) {
        if (compareStreamIds(entry.id, upTo) > 0) return;
        if (entry.fields.tenantId === client.identity.tenantId) this.send(client, entry.fields.data!);
      }
      cursor = entries.at(-1)!.id;
    }
  }

  private async fanOut(): Promise<void> {
    const { bus, logger } = this.options;
    while (this.running) {
      try {
        const entries = await bus.read(STREAMS.domainEvents, this.position, { count: 500, blockMs: 1000 });
        for (const entry of entries) {
          this.position = entry.id;
          const tenantId = entry.fields.tenantId;
          const clients = tenantId ? this.byTenant.get(tenantId) : undefined;
          if (!clients) continue;
          for (const client of clients) {
            if (client.pending) client.pending.push(entry);
            else this.send(client, entry.fields.data!);
          }
        }
      } catch (error) {
        if (!this.running) return;
        logger.error({ err: error }, 'websocket fan-out read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** logout-all and password resets revoke tokens: close the sockets opened with them. */
  private async watchRevocations(from: string): Promise<void> {
    let cursor = from;
    while (this.running) {
      try {
        const entries = await this.options.bus.read(STREAMS.authEvents, cursor, { count: 100, blockMs: 1000 });
        for (const entry of entries) {
          cursor = entry.id;
          const event = JSON.parse(entry.fields.data ?? '{}') as { type?: string; payload?: { tenantId: string; userId: string; tokenVersion: number } };
          if (event.type !== 'user.tokens.revoked' || !event.payload) continue;
          const { tenantId, userId, tokenVersion } = event.payload;
          for (const client of this.byTenant.get(tenantId) ?? []) {
            if (client.identity.userId === userId && client.identity.tokenVersion < tokenVersion) {
              this.close(client, WS_CLOSE.unauthorized, 'logged out');
            }
          }
        }
      } catch (error) {
        if (!this.running) return;
        this.options.logger.error({ err: error }, 'websocket revocation read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private send(client: Client, data: string): void {
    const { ws } = client;
    if (ws.readyState !== ws.OPEN) return;
    // A client that does not read must not make the server buffer without limit.
    if (ws.bufferedAmount > (this.options.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      this.close(client, WS_CLOSE.tooSlow, 'client too slow');
      ws.terminate();
      return;
    }
    ws.send(data);
  }

  private beat(): void {
    for (const set of this.byTenant.values()) {
      for (const client of set) {
        if (!client.alive) {
          client.ws.terminate();
          this.unregister(client);
          continue;
        }
        client.alive = false;
        client.ws.ping();
      }
    }
  }

  private register(client: Client): void {
    const set = this.byTenant.get(client.identity.tenantId) ?? new Set();
    set.add(client);
    this.byTenant.set(client.identity.tenantId, set);
    this.options.onConnectionsChanged?.(this.connections);
  }

  private unregister(client: Client): void {
    clearTimeout(client.expiryTimer);
    const set = this.byTenant.get(client.identity.tenantId);
    if (!set?.delete(client)) return;
    if (set.size === 0) this.byTenant.delete(client.identity.tenantId);
    this.options.onConnectionsChanged?.(this.connections);
  }

  private close(client: Client, code: number, reason: string): void {
    this.unregister(client);
    if (client.ws.readyState === client.ws.OPEN || client.ws.readyState === client.ws.CONNECTING) client.ws.close(code, reason);
  }
}
