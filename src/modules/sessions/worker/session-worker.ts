import type { Readable } from 'node:stream';
import type { Db } from '../../../platform/db/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { StreamBus, StreamEntry } from '../../../events/bus/stream-bus.js';
import { StreamConsumer } from '../../../events/bus/stream-consumer.js';
import { fromStreamFields, STREAMS, type EventEnvelope } from '../../../events/envelope.js';
import { RUNNING_STATUSES, SESSION_COMMANDS, shardOf } from '../domain/session.js';
import type { LeaseFence, WhatsAppDriver } from '../domain/whatsapp-driver.js';
import { fencedTransaction } from './fencing.js';
import { SessionRunner } from './session-runner.js';
import { ShardLeaseManager } from './shard-leases.js';
import { enqueueOutbox } from '../../../events/outbox/outbox.js';
import { updateSession } from '../adapters/session-repository.js';
import { sessionEvent } from '../application/session-messages.js';
import { MESSAGING_COMMANDS, toDriverCommand } from '../domain/messaging-commands.js';
import { WhatsAppCommandError } from '../domain/whatsapp-driver.js';
import type { WhatsAppEvent } from '../domain/whatsapp-events.js';
import type { SessionEventPublisher } from './session-event-publisher.js';
import { DomainError } from '../../../shared/errors.js';
import type { MediaStorage } from '../../media/domain/media.js';
import { MediaJobs, mediaToFetch, type MediaJobSettings, type MediaProbe } from './media-jobs.js';

/** Media: where files are stored, and how inbound media jobs run. */
export interface SessionWorkerMedia {
  storage: MediaStorage;
  settings: MediaJobSettings;
  /** Probes a file's dimensions and duration when WhatsApp's message leaves them out. */
  probe?: (mime: string) => MediaProbe;
}

export const SESSION_WORKERS_GROUP = 'session-workers';

export interface SessionWorkerOptions {
  db: Db;
  bus: StreamBus;
  driver: WhatsAppDriver;
  logger: Logger;
  workerId: string;
  shards: number;
  leaseTtlMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
  onOutboxWrite: () => void;
  publisher: SessionEventPublisher;
  /** Without it media is neither downloaded nor sendable (tests of other things). */
  media?: SessionWorkerMedia;
}

interface OwnedShard {
  fence: LeaseFence;
  consumer: StreamConsumer;
}

/**
 * Owns WhatsApp connections: for each shard it holds the lease of, it consumes the shard's
 * command stream and keeps the shard's running sessions connected. The consumer name is the
 * shard's, so a new owner reads the previous owner's unacknowledged commands first.
 */
export class SessionWorker {
  private readonly shards = new Map<number, OwnedShard>();
  private readonly runners = new Map<string, SessionRunner>();
  private readonly leases: ShardLeaseManager;
  private readonly logger: Logger;
  private readonly mediaJobs: MediaJobs | undefined;
  /** Media messages queued lately: WhatsApp often delivers one twice (an upsert, then history). */
  private readonly queuedMedia = new Set<string>();

  constructor(private readonly options: SessionWorkerOptions) {
    this.logger = options.logger.child({ worker: options.workerId });
    const media = options.media;
    this.mediaJobs = media
      ? new MediaJobs({
          bus: options.bus,
          db: options.db,
          storage: media.storage,
          logger: this.logger,
          settings: media.settings,
          probe: media.probe,
          download: (sessionId, message, downloadOptions) => {
            const runner = this.runners.get(sessionId);
            if (!runner?.active) throw new WhatsAppCommandError('not_connected', 'The session is not running on this worker', true);
            return runner.downloadMedia(message, downloadOptions);
          },
          publish: (tenantId, sessionId, items) => options.publisher.publishMedia(tenantId, sessionId, items),
        })
      : undefined;
    this.leases = new ShardLeaseManager({
      db: options.db,
      workerId: options.workerId,
      shards: options.shards,
      ttlMs: options.leaseTtlMs,
      logger: this.logger,
      listener: {
        acquired: (shard, epoch) => this.acquireShard(shard, epoch),
        releasing: (shard) => this.releaseShard(shard),
        lost: (shard) => this.loseShard(shard),
      },
    });
  }

  get sessionIds(): string[] {
    return [...this.runners.keys()];
  }

  get ownedShards(): number[] {
    return [...this.shards.keys()];
  }

  async start(): Promise<void> {
    await this.leases.start();
  }

  /** Graceful shutdown: stop taking commands, close sockets without logging out, free the leases. */
  async stop(): Promise<void> {
    await this.leases.stop();
    await this.mediaJobs?.stop();
  }

  /** Stops everything without cleanup, as if the process died: leases stay until they expire. */
  crash(): void {
    this.leases.halt();
    for (const [shard, owned] of this.shards) {
      void owned.consumer.stop();
      this.mediaJobs?.abandonShard(shard);
      this.shards.delete(shard);
    }
    for (const runner of this.runners.values()) runner.abandon();
  }

  private async acquireShard(shard: number, epoch: number): Promise<void> {
    const fence: LeaseFence = { shard, owner: this.options.workerId, epoch };
    const consumer = new StreamConsumer({
      bus: this.options.bus,
      stream: STREAMS.sessionCommands(shard),
      group: SESSION_WORKERS_GROUP,
      consumer: `shard-${shard}`,
      handle: (entry) => this.handleCommand(shard, entry),
      logger: this.logger,
      claimIdleMs: this.options.claimIdleMs,
      maxDeliveries: this.options.maxDeliveries,
      blockMs: 1000,
    });
    this.shards.set(shard, { fence, consumer });
    await this.resumeSessions(shard, fence);
    await consumer.start();
    await this.mediaJobs?.startShard(shard);
  }

  private async releaseShard(shard: number): Promise<void> {
    const owned = this.shards.get(shard);
    this.shards.delete(shard);
    await owned?.consumer.stop();
    await this.mediaJobs?.stopShard(shard);
    await Promise.all(this.runnersOf(shard).map((runner) => runner.release()));
  }

  private loseShard(shard: number): void {
    const owned = this.shards.get(shard);
    this.shards.delete(shard);
    void owned?.consumer.stop();
    this.mediaJobs?.abandonShard(shard);
    for (const runner of this.runnersOf(shard)) runner.abandon();
  }

  private runnersOf(shard: number): SessionRunner[] {
    return [...this.runners.values()].filter((r) => shardOf(r.sessionId, this.options.shards) === shard);
  }

  /** Sessions that were running when their previous owner stopped reconnect from stored credentials. */
  private async resumeSessions(shard: number, fence: LeaseFence): Promise<void> {
    const rows = await this.options.db.query<{ id: string; tenant_id: string; pairing_phone: string | null }>(
      `select id, tenant_id, pairing_phone from sessions where deleted_at is null and status = any($1::text[])`,
      [[...RUNNING_STATUSES]],
    );
    for (const row of rows) {
      if (shardOf(row.id, this.options.shards) !== shard) continue;
      this.logger.info({ sessionId: row.id, shard }, 'resuming session');
      this.run(row.tenant_id, row.id, row.pairing_phone, fence);
    }
  }

  private run(tenantId: string, sessionId: string, pairingPhone: string | null, fence: LeaseFence): SessionRunner {
    const existing = this.runners.get(sessionId);
    if (existing?.active) return existing;
    const runner = new SessionRunner(tenantId, sessionId, pairingPhone, {
      db: this.options.db,
      driver: this.options.driver,
      fence,
      logger: this.logger,
      onOutboxWrite: this.options.onOutboxWrite,
      onEnded: (id) => {
        if (this.runners.get(id) === runner) this.runners.delete(id);
      },
      onEvents: (from, events) => this.onDriverEvents(from, events),
    });
    this.runners.set(sessionId, runner);
    runner.start();
    return runner;
  }

  private async handleCommand(shard: number, entry: StreamEntry): Promise<void> {
    const owned = this.shards.get(shard);
    if (!owned) throw new Error(`shard ${shard} is not owned`);
    const command = fromStreamFields(entry.fields) as EventEnvelope<{ tenantId: string; pairingPhone?: string | null }>;
    const sessionId = command.sessionId;
    if (!sessionId) return;
    const { db } = this.options;
    // Commands carry ids and their outcome is recorded: one delivered again is not run twice.
    const [done] = await db.query(`select 1 from session_commands where command_id = $1`, [command.eventId]);
    if (done) return;
    const tenantId = command.payload.tenantId;
    const runner = this.runners.get(sessionId);
    switch (command.type) {
      case SESSION_COMMANDS.start: {
        const [row] = await db.query<{ status: string }>(`select status from sessions where id = $1 and deleted_at is null`, [sessionId]);
        if (row && RUNNING_STATUSES.includes(row.status as never)) this.run(tenantId, sessionId, command.payload.pairingPhone ?? null, owned.fence);
        break;
      }
      case SESSION_COMMANDS.stop:
        if (runner?.active) await runner.stop();
        else await this.recordStopped(tenantId, sessionId, owned.fence);
        break;
      case SESSION_COMMANDS.logout:
        if (runner?.active) await runner.logout();
        else await this.options.driver.wipeAuthState(sessionId);
        // A deleted session's files go too (a failure leaves the command pending: it runs again).
        if ((command.payload as { deleted?: boolean }).deleted && this.options.media) {
          await this.options.media.storage.deletePrefix(`tenants/${tenantId}/sessions/${sessionId}/`);
        }
        break;
      default:
        if (MESSAGING_COMMANDS.includes(command.type)) {
          await this.runMessagingCommand(owned.fence, command);
          return;
        }
        this.logger.warn({ type: command.type }, 'unknown session command ignored');
    }
    await db.query(
      `insert into session_commands (command_id, tenant_id, session_id, type, status) values ($1, $2, $3, $4, 'done')
       on conflict (command_id) do nothing`,
      [command.eventId, tenantId, sessionId, command.type],
    );
  }

  /**
   * Runs a send, edit, delete, react or read on the session's connection and records the outcome
   * with the command id, so a redelivered command is never run twice. A refusal is reported to the
   * tenant as `session.command.failed` instead of vanishing.
   */
  private async runMessagingCommand(fence: LeaseFence, command: EventEnvelope<{ tenantId: string }>): Promise<void> {
    const sessionId = command.sessionId!;
    const tenantId = command.payload.tenantId;
    const runner = this.runners.get(sessionId);
    let outcome: { status: 'done' | 'failed'; result: Record<string, unknown> };
    let file: Readable | undefined;
    try {
      if (!runner?.active) throw new WhatsAppCommandError('not_connected', 'The session is not connected to WhatsApp', true);
      const driverCommand = toDriverCommand(command.type, command.eventId, command.payload);
      const media = driverCommand.kind === 'send' ? driverCommand.media : null;
      // The upload streams from storage to WhatsApp; a storage outage leaves the command pending (retried).
      if (media) file = await this.openUpload(media.storageKey);
      const { message } = await runner.execute(driverCommand, { media: file });
      outcome = { status: 'done', result: message ? { messageId: message.key.id, chatJid: message.key.remoteJid } : {} };
      if (media && message) {
        // The message's file is the upload itself: no download, the media event points to it.
        void this.options.publisher.publishMedia(tenantId, sessionId, [
          {
            messageId: message.key.id,
            chatJid: message.key.remoteJid,
            kind: media.kind,
            url: this.options.media!.storage.url(media.storageKey),
            mime: media.mime,
            size: message.media?.size ?? media.size,
            width: media.width,
            height: media.height,
            duration: media.duration,
          },
        ]);
      }
    } catch (error) {
      if (!(error instanceof WhatsAppCommandError)) throw error; // unexpected: leave it pending, it is retried
      this.logger.warn({ sessionId, requestId: command.eventId, command: command.type, reason: error.reason }, 'command failed');
      outcome = { status: 'failed', result: { reason: error.reason, detail: error.message } };
    } finally {
      file?.destroy();
    }
    await fencedTransaction(this.options.db, fence, async (tx) => {
      const [recorded] = await tx.query(
        `insert into session_commands (command_id, tenant_id, session_id, type, status, result) values ($1, $2, $3, $4, $5, $6)
         on conflict (command_id) do nothing returning command_id`,
        [command.eventId, tenantId, sessionId, command.type, outcome.status, outcome.result],
      );
      if (recorded && outcome.status === 'failed') {
        await enqueueOutbox(tx, [
          sessionEvent('session.command.failed', sessionId, { tenantId, requestId: command.eventId, command: command.type, reason: String(outcome.result.reason), messageId: null }),
        ]);
      }
    });
    if (outcome.status === 'failed') this.options.onOutboxWrite();
  }

  /** An upload's bytes; one that is gone fails the send for good. */
  private async openUpload(storageKey: string): Promise<Readable> {
    const storage = this.options.media?.storage;
    if (!storage) throw new WhatsAppCommandError('media_unavailable', 'Media storage is not configured on this worker', false);
    try {
      return await storage.get(storageKey);
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'not_found') throw new WhatsAppCommandError('media_not_found', 'The uploaded file is gone from storage', false);
      throw error;
    }
  }

  private onDriverEvents(runner: SessionRunner, events: WhatsAppEvent[]): void {
    const published = this.options.publisher.publish(runner.tenantId, runner.sessionId, events);
    const media = this.mediaJobs ? mediaToFetch(events).filter((m) => this.firstTimeQueued(runner.sessionId, m.key.remoteJid, m.key.id)) : [];
    if (media.length > 0) {
      const shard = shardOf(runner.sessionId, this.options.shards);
      // After the messages are in the stream, so their media event never comes before them.
      void published.then(() => this.mediaJobs!.enqueue(shard, runner.tenantId, runner.sessionId, media));
    }
    const nacks = events.flatMap((e) =>
      e.kind === 'messages.update' ? e.updates.filter((u) => u.status === 'failed' && u.key.fromMe) : [],
    );
    if (nacks.length > 0) {
      const fence = this.shards.get(shardOf(runner.sessionId, this.options.shards))?.fence;
      if (fence) void this.reportNacks(fence, runner.tenantId, runner.sessionId, nacks).catch((error) => this.logger.error({ err: error }, 'reporting a failed send failed'));
    }
  }

  private firstTimeQueued(sessionId: string, chatJid: string, messageId: string): boolean {
    const key = `${sessionId}\u0000${chatJid}\u0000${messageId}`;
    if (this.queuedMedia.has(key)) return false;
    this.queuedMedia.add(key);
    if (this.queuedMedia.size > 10_000) this.queuedMedia.delete(this.queuedMedia.values().next().value!);
    return true;
  }

  /** WhatsApp refused a send after it resolved (e.g. 463): tell the tenant which request it was. */
  private async reportNacks(
    fence: LeaseFence,
    tenantId: string,
    sessionId: string,
    nacks: { key: { id: string }; error: { code: number; reason: string } | null }[],
  ): Promise<void> {
    await fencedTransaction(this.options.db, fence, async (tx) => {
      const rows = await tx.query<{ command_id: string; type: string; message_id: string }>(
        `update session_commands set status = 'failed', result = result || jsonb_build_object('nack', true)
         where session_id = $1 and result ? 'messageId' and result ->> 'messageId' = any($2::text[]) and status = 'done'
         returning command_id, type, result ->> 'messageId' as message_id`,
        [sessionId, nacks.map((n) => n.key.id)],
      );
      await enqueueOutbox(
        tx,
        rows.map((row) => {
          const error = nacks.find((n) => n.key.id === row.message_id)?.error;
          return sessionEvent('session.command.failed', sessionId, {
            tenantId,
            requestId: row.command_id,
            command: row.type,
            reason: error ? `${error.reason} (${error.code})` : 'rejected_by_server',
            messageId: row.message_id,
          });
        }),
      );
    });
    this.options.onOutboxWrite();
  }

  /** A stop for a session no runner holds here (it never connected): record it stopped all the same. */
  private async recordStopped(tenantId: string, sessionId: string, fence: LeaseFence): Promise<void> {
    const at = new Date();
    await fencedTransaction(this.options.db, fence, async (tx) => {
      const row = await updateSession(tx, sessionId, { status: 'stopped', qr: null, qr_expires_at: null, disconnected_at: at, disconnected_reason: 'stopped' }, at);
      if (row) {
        await enqueueOutbox(tx, [
          sessionEvent('session.status.disconnected', sessionId, { tenantId, reason: 'stopped', disconnectedAt: at.toISOString() }, at),
        ]);
      }
    });
    this.options.onOutboxWrite();
  }
}
