import type { Readable } from 'node:stream';
import type { Db, Queryable } from '../../../platform/db/db.js';
import type { Logger } from '../../../platform/logger.js';
import { enqueueOutbox, type OutboxMessage } from '../../../events/outbox/outbox.js';
import { updateSession } from '../adapters/session-repository.js';
import { sessionEvent } from '../application/session-messages.js';
import { backoffMs, closeAction } from '../domain/reconnect-policy.js';
import type { DisconnectReason } from '../domain/session.js';
import {
  LeaseLostError,
  WhatsAppCommandError,
  type ConnectionClose,
  type ConnectionListener,
  type CommandAttachments,
  type ConnectionOpen,
  type LeaseFence,
  type MediaMessageRef,
  type WhatsAppConnection,
  type WhatsAppDriver,
} from '../domain/whatsapp-driver.js';
import { fencedTransaction } from './fencing.js';
import type { WhatsAppCommand, WhatsAppCommandResult, WhatsAppEvent } from '../domain/whatsapp-events.js';

export interface SessionRunnerDeps {
  db: Db;
  driver: WhatsAppDriver;
  fence: LeaseFence;
  logger: Logger;
  /** Called after a commit that wrote to the outbox. */
  onOutboxWrite: () => void;
  /** Called when the runner ends for good (stopped, logged out, final close, lease lost). */
  onEnded: (sessionId: string) => void;
  /** Receives what the connection reports besides its life (messages, receipts, ...), in order. */
  onEvents: (runner: SessionRunner, events: WhatsAppEvent[]) => void;
  now?: () => Date;
  random?: () => number;
}

type RunnerState = 'idle' | 'connecting' | 'open' | 'waiting' | 'ended';

/**
 * Keeps one session connected: connects through the driver, records what happens (status, QR,
 * phone) with fenced writes plus the matching `session.*` events, and reconnects by WhatsApp's
 * close reasons. Driver callbacks are handled one at a time, in order.
 */
export class SessionRunner implements ConnectionListener {
  private connection: WhatsAppConnection | undefined;
  private state: RunnerState = 'idle';
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly logger: Logger;

  constructor(
    readonly tenantId: string,
    readonly sessionId: string,
    private pairingPhone: string | null,
    private readonly deps: SessionRunnerDeps,
  ) {
    this.logger = deps.logger.child({ sessionId });
  }

  get active(): boolean {
    return this.state !== 'ended';
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  start(): void {
    this.enqueue(() => this.connect());
  }

  /** Closes the connection and records `stopped` (the login is kept). */
  async stop(): Promise<void> {
    await this.enqueueAndWait(async () => {
      await this.end();
      await this.record({ status: 'stopped', qr: null, qr_expires_at: null, disconnected_at: this.now(), disconnected_reason: 'stopped' }, 'stopped');
    });
  }

  /** Logs out of WhatsApp and wipes the stored login; the API already recorded the deletion. */
  async logout(): Promise<void> {
    await this.enqueueAndWait(async () => {
      const connection = this.connection;
      await this.end({ keepConnection: true });
      if (connection && this.wasOpen) {
        await connection.logout().catch((error) => this.logger.warn({ err: error }, 'logout failed; wiping credentials anyway'));
      } else {
        await connection?.close().catch(() => {});
      }
      await this.deps.driver.wipeAuthState(this.sessionId);
    });
  }

  /** Closes the socket without recording anything: another worker takes the session over. */
  async release(): Promise<void> {
    await this.enqueueAndWait(() => this.end());
  }

  /** Drops the connection at once, without waiting for queued work (the lease is gone). */
  abandon(): void {
    this.state = 'ended';
    this.wakeOpenWaiters();
    clearTimeout(this.reconnectTimer);
    const connection = this.connection;
    this.connection = undefined;
    void connection?.close().catch(() => {});
    this.deps.onEnded(this.sessionId);
  }

  private wasOpen = false;
  private openWaiters = new Set<() => void>();

  /**
   * Runs a command on the connection. While the session is (re)connecting it waits up to waitMs
   * for it to open; a session that is not running here fails at once.
   */
  async execute(command: WhatsAppCommand, attachments: CommandAttachments = {}, waitMs = 10_000): Promise<WhatsAppCommandResult> {
    return (await this.openConnection(waitMs)).execute(command, attachments);
  }

  /** Streams a message's media from the connection, waiting for it to open as execute does. */
  async downloadMedia(message: MediaMessageRef, options: { maxBytes: number }, waitMs = 10_000): Promise<Readable> {
    return (await this.openConnection(waitMs)).downloadMedia(message, options);
  }

  private async openConnection(waitMs: number): Promise<WhatsAppConnection> {
    if (this.state !== 'open' && this.state !== 'ended') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.openWaiters.delete(done);
          resolve();
        }
        this.openWaiters.add(done);
      });
    }
    const connection = this.connection;
    if (this.state !== 'open' || !connection) {
      throw new WhatsAppCommandError('not_connected', 'The session is not connected to WhatsApp', true);
    }
    return connection;
  }

  onEvents(events: WhatsAppEvent[]): void {
    if (this.state === 'ended' || events.length === 0) return;
    this.deps.onEvents(this, events);
  }

  private wakeOpenWaiters(): void {
    for (const wake of [...this.openWaiters]) wake();
  }

  // ConnectionListener: the driver calls these; each is queued behind the previous one.
  onQr(qr: string, expiresAt: Date): void {
    this.enqueue(() =>
      this.whileActive({ status: 'qr', qr, qr_expires_at: expiresAt }, undefined, [
        sessionEvent('session.qr.updated', this.sessionId, { tenantId: this.tenantId, qr, expiresAt: expiresAt.toISOString() }, this.now()),
      ]),
    );
  }

  onPairingCode(code: string, expiresAt: Date): void {
    this.enqueue(() =>
      this.whileActive({ status: 'pairing', qr: null, qr_expires_at: null }, undefined, [
        sessionEvent('session.pairing.code', this.sessionId, { tenantId: this.tenantId, code, expiresAt: expiresAt.toISOString() }, this.now()),
      ]),
    );
  }

  onOpen(open: ConnectionOpen): void {
    this.enqueue(async () => {
      if (this.state === 'ended') return;
      this.state = 'open';
      this.wasOpen = true;
      this.attempts = 0;
      const connectedAt = this.now();
      await this.record(
        { status: 'connected', phone: open.phone, qr: null, qr_expires_at: null, connected_at: connectedAt, disconnected_reason: null },
        undefined,
        [sessionEvent('session.status.connected', this.sessionId, { tenantId: this.tenantId, phone: open.phone, connectedAt: connectedAt.toISOString() }, connectedAt)],
      );
      this.logger.info({ phone: open.phone }, 'session connected');
      this.wakeOpenWaiters();
    });
  }

  onClose(close: ConnectionClose): void {
    this.enqueue(() => this.handleClose(close));
  }

  private async handleClose(close: ConnectionClose): Promise<void> {
    if (this.state === 'ended') return;
    this.connection = undefined;
    const action = closeAction(close.reason);
    this.logger[action.kind === 'end' ? 'warn' : 'info']({ reason: close.reason, statusCode: close.statusCode, message: close.message }, 'connection closed');
    switch (action.kind) {
      case 'ignore':
        return;
      case 'reconnect_now':
        this.state = 'waiting';
        await this.connect();
        return;
      case 'reconnect_later': {
        const delay = backoffMs(this.attempts++, this.deps.random);
        const at = this.now();
        await this.record({ status: 'connecting', disconnected_at: at, disconnected_reason: action.reason }, action.reason);
        this.state = 'waiting';
        this.reconnectTimer = setTimeout(() => this.enqueue(() => this.connect()), delay);
        return;
      }
      case 'end': {
        if (close.reason === 'version_outdated') {
          this.logger.error('WhatsApp rejected the client version (405): set WA_VERSION to a current WhatsApp Web version');
        }
        await this.end();
        if (action.wipeAuth) await this.deps.driver.wipeAuthState(this.sessionId);
        await this.record(
          { status: 'disconnected', qr: null, qr_expires_at: null, disconnected_at: this.now(), disconnected_reason: action.reason },
          action.reason,
        );
      }
    }
  }

  private async connect(): Promise<void> {
    if (this.state === 'ended' || this.state === 'connecting' || this.state === 'open') return;
    this.state = 'connecting';
    const registered = await this.deps.driver.hasRegisteredAuthState(this.sessionId);
    if (registered) await this.record({ status: 'connecting' });
    try {
      this.connection = await this.deps.driver.connect({
        tenantId: this.tenantId,
        sessionId: this.sessionId,
        fence: this.deps.fence,
        pairingPhone: registered ? null : this.pairingPhone,
        listener: this,
        logger: this.logger,
      });
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      this.logger.error({ err: error }, 'connect failed; retrying');
      this.state = 'waiting';
      this.reconnectTimer = setTimeout(() => this.enqueue(() => this.connect()), backoffMs(this.attempts++, this.deps.random));
    }
  }

  private async end(options: { keepConnection?: boolean } = {}): Promise<void> {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.wakeOpenWaiters();
    clearTimeout(this.reconnectTimer);
    const connection = this.connection;
    this.connection = undefined;
    if (!options.keepConnection) await connection?.close().catch((error) => this.logger.warn({ err: error }, 'close failed'));
    this.deps.onEnded(this.sessionId);
  }

  private async whileActive(...args: Parameters<SessionRunner['record']>): Promise<void> {
    if (this.state !== 'ended') await this.record(...args);
  }

  /** Writes the session's new state and its events in one fenced transaction. */
  private async record(
    changes: Parameters<typeof updateSession>[2],
    disconnectReason?: DisconnectReason,
    events: OutboxMessage[] = [],
  ): Promise<void> {
    const at = this.now();
    const messages = [...events];
    if (disconnectReason) {
      messages.push(
        sessionEvent('session.status.disconnected', this.sessionId, { tenantId: this.tenantId, reason: disconnectReason, disconnectedAt: at.toISOString() }, at),
      );
    }
    await fencedTransaction(this.deps.db, this.deps.fence, async (tx: Queryable) => {
      const updated = await updateSession(tx, this.sessionId, changes, at);
      // A deleted session records nothing more: the API already announced its end.
      if (updated) await enqueueOutbox(tx, messages);
    });
    if (messages.length > 0) this.deps.onOutboxWrite();
  }

  private enqueue(task: () => Promise<void>): void {
    void this.enqueueAndWait(task).catch(() => {});
  }

  private enqueueAndWait(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task).catch((error) => {
      if (error instanceof LeaseLostError) {
        this.logger.warn('lease lost: dropping the connection');
        this.abandon();
        return;
      }
      this.logger.error({ err: error }, 'session runner task failed');
      throw error;
    });
    this.queue = run.catch(() => {});
    return run;
  }
}
