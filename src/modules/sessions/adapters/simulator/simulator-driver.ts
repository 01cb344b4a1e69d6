import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Db } from '../../../../platform/db/db.js';
import type { Logger } from '../../../../platform/logger.js';
import type { StreamBus } from '../../../../events/bus/stream-bus.js';
import {
  MediaDownloadError,
  WhatsAppCommandError,
  type CloseReason,
  type CommandAttachments,
  type MediaMessageRef,
  type ConnectOptions,
  type ConnectionListener,
  type WhatsAppConnection,
  type WhatsAppDriver,
} from '../../domain/whatsapp-driver.js';
import type { WaMessage, WaMessageKey, WhatsAppCommand, WhatsAppCommandResult, WhatsAppEvent } from '../../domain/whatsapp-events.js';
import { limitBytes } from '../../domain/media-stream.js';
import {
  historyBatches,
  inboundMediaMessage,
  inboundMessage,
  LidBook,
  mediaMessage,
  newMessageId,
  nowSeconds,
  textMessage,
  type PhoneAction,
} from './simulated-phone.js';
import type { SimulatorMediaStash } from './simulator-media.js';

export const SIMULATOR_CONTROL_STREAM = 'simulator-control';

export type { PhoneAction as SimulatorAction } from './simulated-phone.js';

/** Numbers starting with 000 play accounts WhatsApp will not let us reach: sends get a 463 NACK. */
export const isRestricted = (jid: string): boolean => /^000\d*@s\.whatsapp\.net$/.test(jid);

export interface SimulatorOptions {
  db: Db;
  bus: StreamBus;
  logger: Logger;
  /** WhatsApp shows the first QR for 60 s and each next one for 20 s, six in all. */
  firstQrTtlMs?: number;
  nextQrTtlMs?: number;
  qrRefs?: number;
  pairingCodeTtlMs?: number;
  /** How long the phone takes to send delivered, then read, receipts for our messages. */
  receiptDelayMs?: number;
  /** The bytes of the media the phone sends (what WhatsApp's CDN serves); without it downloads fail. */
  media?: SimulatorMediaStash;
}

/** A QR payload shaped like WhatsApp's: `ref,noiseKey,identityKey,advSecret`, all base64. */
function fakeQr(): string {
  const b64 = (n: number) => randomBytes(n).toString('base64');
  return [`2@${b64(48)}`, b64(32), b64(32), b64(32)].join(',');
}

const PAIRING_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';
function fakePairingCode(): string {
  return Array.from(randomBytes(8), (b) => PAIRING_ALPHABET[b % PAIRING_ALPHABET.length]).join('');
}

class SimulatedConnection implements WhatsAppConnection {
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  phase: 'linking' | 'open' = 'linking';
  ownJid = '';

  constructor(
    readonly options: ConnectOptions,
    private readonly driver: SimulatorDriver,
  ) {}

  get listener(): ConnectionListener {
    return this.options.listener;
  }

  later(ms: number, fn: () => void): void {
    this.timers.push(setTimeout(() => !this.closed && fn(), ms));
  }

  /** The connection drops with a reason, as WhatsApp would close it. */
  drop(reason: CloseReason, statusCode: number | null): void {
    if (this.closed) return;
    this.shut();
    this.listener.onClose({ reason, statusCode, message: null });
  }

  shut(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.driver.forget(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  report(...events: WhatsAppEvent[]): void {
    if (!this.closed && this.phase === 'open') this.listener.onEvents(events);
  }

  async execute(command: WhatsAppCommand, attachments: CommandAttachments = {}): Promise<WhatsAppCommandResult> {
    if (this.closed || this.phase !== 'open') throw new WhatsAppCommandError('not_connected', 'The session is not connected to WhatsApp', true);
    return this.driver.execute(this, command, attachments);
  }

  async downloadMedia(message: MediaMessageRef, options: { maxBytes: number }): Promise<Readable> {
    if (this.closed || this.phase !== 'open') throw new WhatsAppCommandError('not_connected', 'The session is not connected to WhatsApp', true);
    return this.driver.download(this, message, options);
  }

  async close(): Promise<void> {
    this.shut();
  }

  async logout(): Promise<void> {
    this.shut();
    await this.driver.record(this.options.tenantId, this.options.sessionId, 'logout', {});
    await this.driver.wipeAuthState(this.options.sessionId);
  }
}

/**
 * A believable phone on the other side of WhatsApp, for tests, demos and load tests. Linking
 * (QR scan or pairing code) is remembered in the database, so a session resumes without a QR on
 * any worker. Never enabled in production (config refuses it).
 */
export class SimulatorDriver implements WhatsAppDriver {
  readonly name = 'simulator' as const;
  private readonly connections = new Map<string, SimulatedConnection>();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SimulatorOptions) {}

  /** Starts listening to the phone side's actions (the /simulator API). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const from = await this.options.bus.lastId(SIMULATOR_CONTROL_STREAM);
    this.loop = this.listen(from);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async listen(from: string): Promise<void> {
    let last = from;
    while (this.running) {
      try {
        const entries = await this.options.bus.read(SIMULATOR_CONTROL_STREAM, last, { count: 100, blockMs: 500 });
        for (const entry of entries) {
          last = entry.id;
          await this.apply(JSON.parse(entry.fields.data ?? '{}') as PhoneAction);
        }
      } catch (error) {
        if (this.running) this.options.logger.error({ err: error }, 'simulator control read failed');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private async apply(action: PhoneAction): Promise<void> {
    const connection = this.connections.get(action.sessionId);
    if (!connection) return; // another worker holds it, or nobody: the phone's action reaches no socket
    const { tenantId, sessionId } = connection.options;
    if (action.action === 'scan') {
      if (connection.phase !== 'linking') return;
      await this.options.db.query(
        `insert into simulator_devices (session_id, tenant_id, phone, lid, registered) values ($1, $2, $3, $4, true)
         on conflict (session_id) do update set phone = excluded.phone, lid = excluded.lid, registered = true, updated_at = now()`,
        [sessionId, tenantId, action.phone, `${BigInt('0x' + randomBytes(6).toString('hex'))}@lid`],
      );
      // Like WhatsApp: after pairing the server closes with 515 and the client reconnects.
      connection.drop('restart_required', 515);
      return;
    }
    if (action.action === 'disconnect') {
      switch (action.reason) {
        case 'connection_lost':
          connection.drop('connection_lost', 428);
          break;
        case 'logged_out':
          await this.options.db.query(`update simulator_devices set registered = false, updated_at = now() where session_id = $1`, [sessionId]);
          connection.drop('logged_out', 401);
          break;
        case 'connection_replaced':
          connection.drop('connection_replaced', 440);
          break;
      }
      return;
    }
    await this.phoneDoes(connection, action);
  }

  /** Messages, receipts, edits, deletes, reactions, presence, contacts and history from the other side. */
  private async phoneDoes(connection: SimulatedConnection, action: Exclude<PhoneAction, { action: 'scan' | 'disconnect' }>): Promise<void> {
    const lids = this.lidBook(connection.options.sessionId);
    switch (action.action) {
      case 'message':
        connection.report({ kind: 'messages.upsert', upsertType: 'notify', requestId: null, messages: [inboundMessage(action, lids)] });
        break;
      case 'media':
        connection.report({ kind: 'messages.upsert', upsertType: 'notify', requestId: null, messages: [inboundMediaMessage(action, lids)] });
        break;
      case 'receipts':
        connection.report({
          kind: 'messages.update',
          source: action.keys.some((k) => k.remoteJid.endsWith('@g.us')) ? 'group-receipt' : 'receipt',
          updates: action.keys.map((key) => ({ key, status: action.status, statusAt: action.at, participant: null, error: null })),
        });
        break;
      case 'edit':
        connection.report({ kind: 'messages.edit', edits: [{ key: action.key, type: action.type, text: action.text, editedAt: action.at }] });
        break;
      case 'delete':
        connection.report({ kind: 'messages.delete', scope: 'message', deletes: [{ key: action.key, deletedAt: action.at }] });
        break;
      case 'clear-chat':
        connection.report({ kind: 'messages.delete', scope: 'chat', chatJid: action.chatJid, deletedAt: action.at });
        break;
      case 'reaction':
        connection.report({
          kind: 'messages.reaction',
          reactions: [{ key: action.key, actorJid: action.actorJid, fromMe: false, emoji: action.emoji, reactedAt: action.at, removed: action.emoji === null }],
        });
        break;
      case 'presence':
        connection.report({ kind: 'presence.update', chatJid: action.jid, updates: [{ jid: action.jid, presence: action.presence, lastSeen: action.lastSeen }] });
        break;
      case 'contacts':
        connection.report({ kind: 'contacts.upsert', contacts: action.contacts });
        break;
      case 'lid-mapping':
        lids.add(action.mapping);
        connection.report({ kind: 'lid.mapping', mappings: [action.mapping] });
        break;
      case 'history':
        for (const batch of historyBatches(action, connection.ownJid)) {
          if (connection.isClosed) return;
          connection.report(batch);
          // Let the event loop breathe between batches, as WhatsApp's chunks arrive over time.
          await new Promise((r) => setImmediate(r));
        }
        break;
    }
  }

  private readonly lidBooks = new Map<string, LidBook>();
  private lidBook(sessionId: string): LidBook {
    let book = this.lidBooks.get(sessionId);
    if (!book) {
      book = new LidBook();
      this.lidBooks.set(sessionId, book);
    }
    return book;
  }

  /**
   * The phone's CDN serves the bytes of a media message it sent (from the stash). A download told to
   * fail fails like an expired link the phone has not uploaded again yet.
   */
  async download(connection: SimulatedConnection, message: MediaMessageRef, options: { maxBytes: number }): Promise<Readable> {
    const stash = this.options.media;
    const opened = stash ? await stash.open(connection.options.sessionId, message.key.id) : null;
    if (opened === null) throw new MediaDownloadError('not_downloadable', `the phone has no media for message ${message.key.id}`, false);
    if (opened === 'fail') throw new MediaDownloadError('download_failed_410', `media of ${message.key.id}: 410 Gone (simulated)`, true);
    return limitBytes(opened, options.maxBytes);
  }

  /** Reads a file we send as WhatsApp would upload it: every byte, counted and hashed. */
  private async receiveUpload(stream: Readable | undefined): Promise<{ size: number; sha256: string }> {
    if (!stream) throw new WhatsAppCommandError('invalid_command', 'a media message needs the bytes of its file', false);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    return { size, sha256: hash.digest('hex') };
  }

  /** What the phone sees when we send, edit, delete, react or read; plus the echoes a real phone sends back. */
  async execute(connection: SimulatedConnection, command: WhatsAppCommand, attachments: CommandAttachments = {}): Promise<WhatsAppCommandResult> {
    const { tenantId, sessionId } = connection.options;
    const at = nowSeconds();
    const own = (key: WaMessageKey) => ({ id: key.id, remoteJid: key.remoteJid });
    switch (command.kind) {
      case 'send': {
        const source = command.forward;
        const key: WaMessageKey = { id: newMessageId(), remoteJid: command.to, fromMe: true, participant: null, remoteJidAlt: null, participantAlt: null };
        let message: WaMessage;
        if (command.media) {
          const media = command.media;
          const upload = await this.receiveUpload(attachments.media);
          message = mediaMessage(
            key,
            { kind: media.kind, mime: media.mime, size: upload.size, width: media.width, height: media.height, duration: media.duration, fileName: media.fileName },
            command.text,
            at,
            { quotedMessageId: command.quoted?.key.id ?? null, status: 'sent', ptt: media.ptt },
          );
          await this.record(tenantId, sessionId, 'media', {
            requestId: command.requestId,
            id: key.id,
            to: command.to,
            kind: media.kind,
            mime: media.mime,
            size: upload.size,
            sha256: upload.sha256,
            fileName: media.fileName,
            ptt: media.ptt,
            caption: message.text,
            quotedMessageId: command.quoted?.key.id ?? null,
          });
        } else {
          const text = source ? source.text : command.text;
          message = textMessage(key, text, at, { quotedMessageId: command.quoted?.key.id ?? null, status: 'sent' });
          if (source) message.type = source.type;
          await this.record(tenantId, sessionId, source ? 'forward' : 'message', {
            requestId: command.requestId,
            id: key.id,
            to: command.to,
            text,
            quotedMessageId: command.quoted?.key.id ?? null,
            forwardedMessageId: source?.key.id ?? null,
          });
        }
        connection.report({ kind: 'messages.upsert', upsertType: 'append', requestId: command.requestId, messages: [message] });
        const delay = this.options.receiptDelayMs ?? 150;
        if (isRestricted(command.to)) {
          // Like WhatsApp's reach-out time lock: the send resolved, then the server refuses it (463).
          connection.later(delay, () =>
            connection.report({
              kind: 'messages.update',
              source: 'receipt',
              updates: [{ key, status: 'failed', statusAt: nowSeconds(), participant: null, error: { code: 463, reason: 'reach_out_time_lock' } }],
            }),
          );
          return { message };
        }
        connection.later(delay, () =>
          connection.report({ kind: 'messages.update', source: 'receipt', updates: [{ key, status: 'delivered', statusAt: nowSeconds(), participant: null, error: null }] }),
        );
        connection.later(delay * 2, () =>
          connection.report({ kind: 'messages.update', source: 'receipt', updates: [{ key, status: 'read', statusAt: nowSeconds(), participant: null, error: null }] }),
        );
        return { message };
      }
      case 'edit':
        await this.record(tenantId, sessionId, 'edit', { requestId: command.requestId, ...own(command.target.key), text: command.text });
        connection.report({ kind: 'messages.edit', edits: [{ key: command.target.key, type: command.target.type, text: command.text, editedAt: at }] });
        return { message: null };
      case 'delete':
        await this.record(tenantId, sessionId, 'delete', { requestId: command.requestId, ...own(command.target.key) });
        connection.report({ kind: 'messages.delete', scope: 'message', deletes: [{ key: command.target.key, deletedAt: at }] });
        return { message: null };
      case 'react':
        await this.record(tenantId, sessionId, 'reaction', { requestId: command.requestId, ...own(command.target.key), emoji: command.emoji });
        connection.report({
          kind: 'messages.reaction',
          reactions: [{ key: command.target.key, actorJid: connection.ownJid, fromMe: true, emoji: command.emoji, reactedAt: at, removed: command.emoji === null }],
        });
        return { message: null };
      case 'read':
        await this.record(tenantId, sessionId, 'read', { requestId: command.requestId, messageIds: command.keys.map((k) => k.id), chatJid: command.keys[0]?.remoteJid ?? null });
        return { message: null };
    }
  }

  forget(connection: SimulatedConnection): void {
    if (this.connections.get(connection.options.sessionId) === connection) this.connections.delete(connection.options.sessionId);
  }

  async record(tenantId: string, sessionId: string, kind: string, data: Record<string, unknown>): Promise<void> {
    await this.options.db.query(`insert into simulator_sent (tenant_id, session_id, kind, data) values ($1, $2, $3, $4)`, [tenantId, sessionId, kind, data]);
  }

  async connect(options: ConnectOptions): Promise<WhatsAppConnection> {
    this.connections.get(options.sessionId)?.shut();
    const connection = new SimulatedConnection(options, this);
    this.connections.set(options.sessionId, connection);
    const [device] = await this.options.db.query<{ phone: string; lid: string | null; name: string | null }>(
      `select phone, lid, name from simulator_devices where session_id = $1 and registered`,
      [options.sessionId],
    );
    if (device) {
      connection.later(0, () => {
        connection.phase = 'open';
        connection.ownJid = `${device.phone}@s.whatsapp.net`;
        options.listener.onOpen({ phone: device.phone, jid: `${device.phone}@s.whatsapp.net`, lid: device.lid, name: device.name });
      });
    } else if (options.pairingPhone) {
      const ttl = this.options.pairingCodeTtlMs ?? 180_000;
      connection.later(0, () => options.listener.onPairingCode(fakePairingCode(), new Date(Date.now() + ttl)));
      connection.later(ttl, () => connection.drop('qr_timeout', 408));
    } else {
      this.showQrs(connection);
    }
    return connection;
  }

  private showQrs(connection: SimulatedConnection): void {
    const first = this.options.firstQrTtlMs ?? 60_000;
    const next = this.options.nextQrTtlMs ?? 20_000;
    const refs = this.options.qrRefs ?? 6;
    let at = 0;
    for (let i = 0; i < refs; i++) {
      const ttl = i === 0 ? first : next;
      const shownAt = at;
      connection.later(shownAt, () => connection.listener.onQr(fakeQr(), new Date(Date.now() + ttl)));
      at += ttl;
    }
    // The refs ran out without a scan: WhatsApp closes (408 before registration).
    connection.later(at, () => connection.drop('qr_timeout', 408));
  }

  async wipeAuthState(sessionId: string): Promise<void> {
    await this.options.db.query(`delete from simulator_devices where session_id = $1`, [sessionId]);
  }

  async hasRegisteredAuthState(sessionId: string): Promise<boolean> {
    const rows = await this.options.db.query(`select 1 from simulator_devices where session_id = $1 and registered`, [sessionId]);
    return rows.length > 0;
  }
}
