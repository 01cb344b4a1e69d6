import type { Readable } from 'node:stream';
import {
  DEFAULT_CACHE_TTLS,
  downloadMediaMessage,
  generateMessageIDV2,
  initAuthCreds,
  jidDecode,
  jidNormalizedUser,
  makeCacheableSignalKeyStore,
  makeWASocket,
  type AuthenticationCreds,
  type BaileysEventMap,
  type GroupMetadata,
  type proto,
  type UserFacingSocketConfig,
  type WABrowserDescription,
  type WAMessage,
  type WAMessageKey,
  type WAVersion,
} from 'baileys';
import type { Db } from '../../../../platform/db/db.js';
import type { Logger } from '../../../../platform/logger.js';
import { systemClock, type Clock } from '../../../../platform/clock.js';
import {
  MediaDownloadError,
  WhatsAppCommandError,
  type CommandAttachments,
  type ConnectionClose,
  type ConnectionListener,
  type ConnectionOpen,
  type ConnectOptions,
  type MediaMessageRef,
  type WhatsAppConnection,
  type WhatsAppDriver,
} from '../../domain/whatsapp-driver.js';
import { limitBytes } from '../../domain/media-stream.js';
import type { LidMapping, WhatsAppCommand, WhatsAppCommandResult, WhatsAppEvent } from '../../domain/whatsapp-events.js';
import {
  createAuthStateStore,
  deleteAuthState,
  isLoggedIn,
  readStoredCreds,
  type AuthStateStore,
  type LeaseLostError,
} from './auth-state-store.js';
import { BoundedCache } from './bounded-cache.js';
import { describeClose } from './close-reason.js';
import { toCommandError } from './command-errors.js';
import { reviveRaw, sentEvents, toSocketCall } from './commands.js';
import { toBaileysKey } from './message-key.js';
import { statusCodeOf } from './close-reason.js';
import { editToken, RecentIds, withoutEchoes } from './echo-filter.js';
import { mapBaileysEvents } from './event-mapper.js';
import { tapLidMappings } from './lid-mapping-tap.js';
import type { MapContext } from './map-context.js';
import { toBaileysBrowser, type BaileysSocket, type MakeSocket } from './socket.js';

/**
 * How long a QR lives, from Baileys rc14 Socket/socket.js (pair-device handler):
 * `let qrMs = qrTimeout || 60000; // time to let a QR live` for the first ref, then
 * `qrMs = qrTimeout || 20000; // shorter subsequent qrs`.
 */
export const FIRST_QR_TTL_MS = 60_000;
export const NEXT_QR_TTL_MS = 20_000;
/**
 * WhatsApp sends 6 refs in pair-device (WhatsApp Web's PairDevice and whatsmeow's qrchan: one of
 * 60 s, five of 20 s). rc14 ends the socket when they run out (408 'QR refs attempts ended'), and
 * a pairing code requested on that socket dies with it: 60 + 5 × 20 = 160 s after the first QR.
 */
export const QR_REFS = 6;
export const PAIRING_CODE_TTL_MS = FIRST_QR_TTL_MS + (QR_REFS - 1) * NEXT_QR_TTL_MS;

export interface BaileysCacheLimits {
  /** Signal keys cached for every socket of the process together (Baileys' default is one unbounded cache per socket). */
  signalKeys: number;
  /** Message retry counters of every session together; they survive reconnects. */
  retryCounters: number;
  /** Group metadata of every session together. */
  groupMetadata: number;
}

export const DEFAULT_CACHE_LIMITS: BaileysCacheLimits = { signalKeys: 50_000, retryCounters: 20_000, groupMetadata: 2_000 };
const GROUP_METADATA_TTL_SECONDS = 5 * 60;

export interface BaileysDriverOptions {
  db: Db;
  logger: Logger;
  /** WA_VERSION; undefined keeps the version bundled with Baileys. */
  version?: WAVersion | undefined;
  /** WA_BROWSER as [platform, browser], e.g. ['macOS', 'Desktop']. */
  browser: readonly [string, string];
  /**
   * Finds a message this session sent, in wahub's message store: Baileys re-encrypts and resends
   * it when a peer asks with a retry receipt (else the peer sees "Waiting for this message").
   */
  getMessage: (sessionId: string, key: WAMessageKey) => Promise<proto.IMessage | undefined>;
  /** Defaults to Baileys' makeWASocket. Tests pass a fake: the real one dials WhatsApp. */
  makeSocket?: MakeSocket;
  /** Defaults to Baileys' downloadMediaMessage (tests use the real one against a local media server). */
  downloadMedia?: typeof downloadMediaMessage;
  /**
   * Ask the phone for its full history (Baileys' default). With a 'Desktop' browser on macOS or
   * Windows this registers as a desktop client and gets desktop-level history; false gets the
   * few months WhatsApp Web gets.
   */
  syncFullHistory?: boolean;
  cacheLimits?: Partial<BaileysCacheLimits>;
  clock?: Clock;
}

export interface BaileysDriver extends WhatsAppDriver {
  readonly name: 'baileys';
}

/** The production WhatsAppDriver: Baileys sockets with their auth state in Postgres. */
export function createBaileysDriver(options: BaileysDriverOptions): BaileysDriver {
  const { db } = options;
  const limits = { ...DEFAULT_CACHE_LIMITS, ...options.cacheLimits };
  // One instance of each cache per driver, so per process: every socket shares them by namespace.
  const caches: DriverCaches = {
    signalKeys: new BoundedCache({ maxKeys: limits.signalKeys, ttlSeconds: DEFAULT_CACHE_TTLS.SIGNAL_STORE }),
    retryCounters: new BoundedCache({ maxKeys: limits.retryCounters, ttlSeconds: DEFAULT_CACHE_TTLS.MSG_RETRY }),
    groupMetadata: new BoundedCache({ maxKeys: limits.groupMetadata, ttlSeconds: GROUP_METADATA_TTL_SECONDS }),
  };
  const dropCaches = (sessionId: string) => {
    caches.signalKeys.deleteNamespace(sessionId);
    caches.retryCounters.deleteNamespace(sessionId);
    caches.groupMetadata.deleteNamespace(sessionId);
  };
  const settings: ConnectionSettings = {
    makeSocket: options.makeSocket ?? makeWASocket,
    downloadMedia: options.downloadMedia ?? downloadMediaMessage,
    version: options.version,
    browser: toBaileysBrowser(options.browser),
    syncFullHistory: options.syncFullHistory ?? true,
    getMessage: options.getMessage,
    clock: options.clock ?? systemClock,
    caches,
    wipe: async (sessionId) => {
      await deleteAuthState(db, sessionId);
      dropCaches(sessionId);
    },
  };

  return {
    name: 'baileys',

    async connect(connectOptions) {
      const { tenantId, sessionId, fence } = connectOptions;
      let connection: BaileysConnection | undefined;
      const store = createAuthStateStore({
        db,
        tenantId,
        sessionId,
        fence,
        logger: connectOptions.logger,
        onLeaseLost: (error) => connection?.leaseLost(error),
      });
      let creds: AuthenticationCreds | undefined = await store.readCreds();
      if (creds && isLoggedIn(creds)) {
        // Never dial without the lease: two sockets on one login fight (440) and fork the ratchets.
        await store.assertLease();
      } else {
        // Not linked, or linking never finished: start from fresh creds (one fenced transaction).
        // Leftovers of an unfinished pairing code (creds.me without an account) would make the
        // next handshake a login that WhatsApp refuses.
        creds = initAuthCreds();
        await store.reset(creds);
      }
      // Each connection starts from what the database holds: a worker that had this session
      // before a takeover must not reuse the keys it cached then.
      caches.signalKeys.deleteNamespace(sessionId);
      connection = new BaileysConnection(connectOptions, creds, store, settings);
      return connection;
    },

    async wipeAuthState(sessionId) {
      await settings.wipe(sessionId);
    },

    async hasRegisteredAuthState(sessionId) {
      return isLoggedIn(await readStoredCreds(db, sessionId));
    },
  };
}

interface DriverCaches {
  signalKeys: BoundedCache;
  retryCounters: BoundedCache;
  groupMetadata: BoundedCache;
}

interface ConnectionSettings {
  makeSocket: MakeSocket;
  downloadMedia: typeof downloadMediaMessage;
  version: WAVersion | undefined;
  browser: WABrowserDescription;
  syncFullHistory: boolean;
  getMessage: BaileysDriverOptions['getMessage'];
  clock: Clock;
  caches: DriverCaches;
  wipe(sessionId: string): Promise<void>;
}

type Closing = 'close' | 'logout' | 'lease_lost';

/** Baileys' own level is at most warn: its info and debug lines are per-frame chatter. */
function baileysLogger(logger: Logger): Logger {
  const warn = logger.levels.values.warn ?? 40;
  return logger.child({ component: 'baileys' }, { level: logger.levelVal > warn ? logger.level : 'warn' });
}

/** One socket's life, from dial to close. A reconnect is a new BaileysConnection. */
class BaileysConnection implements WhatsAppConnection {
  private readonly sessionId: string;
  private readonly listener: ConnectionListener;
  private readonly log: Logger;
  private readonly sock: BaileysSocket;
  private readonly credsWriter: CredsWriter;
  private readonly pairingDigits: string | null;
  private readonly seenQrs = new Set<string>();
  private firstQrAt: number | null = null;
  private lastQr: { qr: string; expiresAt: Date } | null = null;
  private pairing: 'idle' | 'requested' | 'failed' = 'idle';
  private opened = false;
  private closing: Closing | null = null;
  private closeStarted = false;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private readonly groupFetches = new Map<string, Promise<GroupMetadata>>();
  /** Ids of the messages our commands sent: Baileys' echoes of them are not reported again. */
  private readonly sentIds = new RecentIds();

  constructor(
    options: ConnectOptions,
    private readonly creds: AuthenticationCreds,
    private readonly store: AuthStateStore,
    private readonly settings: ConnectionSettings,
  ) {
    this.sessionId = options.sessionId;
    this.listener = options.listener;
    this.log = options.logger;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const digits = options.pairingPhone?.replace(/\D/g, '') ?? '';
    this.pairingDigits = digits !== '' && !isLoggedIn(creds) ? digits : null;
    this.credsWriter = new CredsWriter(() => store.saveCreds(creds), this.log);

    const { caches } = settings;
    const bLogger = baileysLogger(this.log);
    const config: UserFacingSocketConfig = {
      auth: {
        creds,
        keys: makeCacheableSignalKeyStore(
          tapLidMappings(store.keys, (mappings) => this.onStoredLidMappings(mappings)),
          bLogger,
          caches.signalKeys.namespace(this.sessionId),
        ),
      },
      // Never `version: undefined`: Baileys spreads the config over its defaults.
      ...(settings.version ? { version: settings.version } : {}),
      browser: settings.browser,
      logger: bLogger,
      markOnlineOnConnect: false,
      syncFullHistory: settings.syncFullHistory,
      // Explicit: a default of one rc silently dropped history sync.
      shouldSyncHistoryMessage: () => true,
      getMessage: (key) => this.getMessage(key),
      msgRetryCounterCache: caches.retryCounters.namespace(this.sessionId),
      cachedGroupMetadata: (jid) => this.cachedGroupMetadata(jid),
    };
    try {
      this.sock = settings.makeSocket(config);
    } catch (error) {
      store.seal();
      throw error;
    }
    this.sock.ev.on('connection.update', (update) => this.onConnectionUpdate(update));
    this.sock.ev.on('creds.update', (update) => this.onCredsUpdate(update));
    this.sock.ev.on('groups.upsert', (groups) => {
      for (const group of groups) caches.groupMetadata.set(this.sessionId, group.id, group);
    });
    // Changed groups are fetched again on their next send.
    this.sock.ev.on('groups.update', (updates) => {
      for (const update of updates) if (update.id) caches.groupMetadata.delete(this.sessionId, update.id);
    });
    this.sock.ev.on('group-participants.update', ({ id }) => caches.groupMetadata.delete(this.sessionId, id));
    // Messages, receipts, edits, deletes, reactions, contacts, chats, presence, history: `process`
    // hands over each flush of Baileys' event buffer as one map (and unbuffered events one by one).
    this.sock.ev.process((events) => this.onBaileysEvents(events));
  }

  async execute(command: WhatsAppCommand, attachments: CommandAttachments = {}): Promise<WhatsAppCommandResult> {
    if (!this.opened || this.closeStarted || this.closing) {
      throw new WhatsAppCommandError('not_connected', 'the WhatsApp connection is not open', true);
    }
    const call = toSocketCall(command, attachments);
    if (call.method === 'readMessages') {
      try {
        await this.sock.readMessages(call.keys);
      } catch (error) {
        throw toCommandError(error);
      }
      return { message: null };
    }

    // The ids are known before the send, so Baileys' echo is recognised whenever it comes.
    const messageId = generateMessageIDV2(this.sock.user?.id);
    const tokens = command.kind === 'edit' ? [messageId, editToken(command.target.key.id)] : [messageId];
    for (const token of tokens) this.sentIds.add(token);
    let sent: WAMessage | undefined;
    try {
      sent = await this.sock.sendMessage(call.jid, call.content, { ...call.options, messageId });
    } catch (error) {
      for (const token of tokens) this.sentIds.delete(token);
      throw toCommandError(error);
    }
    if (!sent) return { message: null };
    if (sent.key.id && sent.key.id !== messageId) this.sentIds.add(sent.key.id);
    const events = sentEvents(sent, command.requestId, this.mapContext());
    this.report(events);
    const upsert = events.find((event) => event.kind === 'messages.upsert');
    return { message: command.kind === 'send' ? (upsert?.messages[0] ?? null) : null };
  }

  /**
   * Baileys' downloadMediaMessage with the re-upload request on this socket. rc14 never makes that
   * request itself: it looks for `error.status` on the Boom its fetch throws, which carries the code
   * in `output.statusCode` (WhiskeySockets/Baileys#2767). So a 404/410 from WhatsApp's CDN that
   * Baileys did not re-request is re-requested here once (`updateMediaMessage`: the phone uploads
   * the file again and answers with a new path), then downloaded again.
   */
  async downloadMedia(ref: MediaMessageRef, options: { maxBytes: number }): Promise<Readable> {
    if (!this.opened || this.closeStarted || this.closing) {
      throw new WhatsAppCommandError('not_connected', 'the WhatsApp connection is not open', true);
    }
    const message = reviveRaw(ref.raw);
    if (!message?.message) throw new MediaDownloadError('not_downloadable', `message ${ref.key.id} has no stored content to download`, false);
    message.key = toBaileysKey(ref.key);
    let reuploaded = false;
    const ctx = {
      logger: baileysLogger(this.log),
      reuploadRequest: (m: WAMessage) => {
        reuploaded = true;
        return this.sock.updateMediaMessage(m);
      },
    };
    let stream: Readable;
    try {
      stream = await this.settings.downloadMedia(message, 'stream', {}, ctx);
    } catch (error) {
      if (reuploaded || !REUPLOAD_STATUSES.has(statusCodeOf(error) ?? 0)) throw toDownloadError(error);
      this.log.info({ messageId: ref.key.id, status: statusCodeOf(error) }, 'media link expired: asking the phone to upload it again');
      try {
        stream = await this.settings.downloadMedia(await ctx.reuploadRequest(message), 'stream', {}, ctx);
      } catch (again) {
        throw toDownloadError(again);
      }
    }
    return limitBytes(stream, options.maxBytes);
  }

  async close(): Promise<void> {
    if (!this.closeStarted) {
      this.closing ??= 'close';
      try {
        await this.sock.end(undefined);
      } catch (err) {
        this.log.warn({ err }, 'ending the WhatsApp socket failed');
      }
      // Baileys' end() reports the close through connection.update; report it here if it did not.
      void this.handleClose(undefined);
    }
    await this.closed;
  }

  async logout(): Promise<void> {
    if (!this.closeStarted) {
      this.closing ??= 'logout';
      try {
        // Tells WhatsApp to drop this linked device, then ends the socket (401 'Intentional Logout').
        await this.sock.logout();
      } catch (err) {
        // Not connected: WhatsApp cannot be told. The login is wiped below all the same; the phone
        // drops the dead device by itself later.
        this.log.warn({ err }, 'logging out of WhatsApp failed; wiping the auth state anyway');
        try {
          await this.sock.end(undefined);
        } catch {
          // already ended
        }
      }
      void this.handleClose(undefined);
    }
    await this.closed;
    await this.settings.wipe(this.sessionId);
  }

  /** A fenced write found the lease gone: this worker no longer owns the session, stop at once. */
  leaseLost(error: LeaseLostError): void {
    if (this.closeStarted || this.closing) return;
    this.log.error({ err: error }, 'shard lease lost: closing the WhatsApp connection');
    this.closing = 'lease_lost';
    this.sock.end(error).then(
      () => this.handleClose(error),
      () => this.handleClose(error),
    );
  }

  private onConnectionUpdate(update: BaileysEventMap['connection.update']): void {
    if (this.closeStarted) return;
    if (update.qr) this.onQr(update.qr);
    if (update.connection === 'open') this.onOpen();
    if (update.connection === 'close') void this.handleClose(update.lastDisconnect?.error);
  }

  private onCredsUpdate(update: Partial<AuthenticationCreds>): void {
    // Baileys merges the update into the same creds object itself; doing it here too does not
    // depend on which listener runs first. The whole object is saved, in order, coalesced.
    Object.assign(this.creds, update);
    if (!this.closeStarted) this.credsWriter.request();
  }

  private onQr(qr: string): void {
    if (this.seenQrs.has(qr)) return;
    this.seenQrs.add(qr);
    const now = this.settings.clock.now().getTime();
    const first = this.firstQrAt === null;
    if (first) this.firstQrAt = now;
    const expiresAt = new Date(now + (first ? FIRST_QR_TTL_MS : NEXT_QR_TTL_MS));
    this.lastQr = { qr, expiresAt };
    if (this.pairingDigits && this.pairing !== 'failed') {
      // Pairing by phone number: the QR phase is what keeps the code alive, but the QRs are not
      // shown (two ways to link at once would only confuse). The first QR means the socket is
      // ready for requestPairingCode (Baileys' own example asks for the code on it).
      if (this.pairing === 'idle') {
        this.pairing = 'requested';
        void this.requestPairingCode(this.pairingDigits, now);
      }
      return;
    }
    this.notify('onQr', () => this.listener.onQr(qr, expiresAt));
  }

  private async requestPairingCode(digits: string, firstQrAt: number): Promise<void> {
    try {
      const code = await this.sock.requestPairingCode(digits);
      if (this.closeStarted) return;
      const expiresAt = new Date(firstQrAt + PAIRING_CODE_TTL_MS);
      this.notify('onPairingCode', () => this.listener.onPairingCode(code, expiresAt));
    } catch (err) {
      if (this.closeStarted) return;
      // Fall back to the QR, so the user can still link this session.
      this.log.warn({ err }, 'requesting a pairing code failed: showing QR codes instead');
      this.pairing = 'failed';
      const last = this.lastQr;
      if (last && last.expiresAt.getTime() > this.settings.clock.now().getTime()) {
        this.notify('onQr', () => this.listener.onQr(last.qr, last.expiresAt));
      }
    }
  }

  private onOpen(): void {
    if (this.opened) return;
    this.opened = true;
    const user = this.sock.user ?? this.creds.me;
    if (!user?.id) this.log.warn('connection open without an account id');
    const id = user?.id ?? '';
    const open: ConnectionOpen = {
      // '51999999999:12@s.whatsapp.net' → '51999999999' (the device part goes)
      phone: jidDecode(id)?.user ?? '',
      jid: jidNormalizedUser(id),
      lid: user?.lid ? jidNormalizedUser(user.lid) || null : null,
      name: user?.name || null,
    };
    this.notify('onOpen', () => this.listener.onOpen(open));
  }

  /** Reports the close once, after this connection's writes settled and the socket is ended. */
  private async handleClose(error: Error | undefined): Promise<void> {
    if (this.closeStarted) return;
    this.closeStarted = true;
    const close: ConnectionClose = this.closing
      ? { ...describeClose(error, { loggedIn: true, qrPhaseStarted: false }), reason: 'closed_by_us' }
      : describeClose(error, { loggedIn: isLoggedIn(this.creds), qrPhaseStarted: this.firstQrAt !== null });
    if (this.closing === 'lease_lost' && !close.message) close.message = 'shard lease lost';
    try {
      // After a close the socket is dead; end() is idempotent in Baileys (it returns when closed).
      await this.sock.end(undefined);
    } catch {
      // already ended
    }
    // The next connection (515 right after a scan, above all) must load the creds this one got.
    await this.credsWriter.flush();
    await this.store.whenIdle();
    this.store.seal();
    this.settings.caches.signalKeys.deleteNamespace(this.sessionId);
    this.groupFetches.clear();
    const log = close.reason === 'version_outdated' ? this.log.error.bind(this.log) : this.log.info.bind(this.log);
    log(
      { reason: close.reason, statusCode: close.statusCode, message: close.message },
      close.reason === 'version_outdated'
        ? 'WhatsApp rejected the client version (405): set WA_VERSION to a current WhatsApp Web version'
        : 'WhatsApp connection closed',
    );
    this.notify('onClose', () => this.listener.onClose(close));
    this.resolveClosed();
  }

  private async getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined> {
    try {
      return await this.settings.getMessage(this.sessionId, key);
    } catch (err) {
      this.log.warn({ err, messageId: key.id }, 'looking up a message for a retry failed');
      return undefined;
    }
  }

  /**
   * Group metadata from the shared cache; a miss fetches it once (concurrent sends share the fetch)
   * and keeps it. Baileys would fetch it on every group send otherwise (rate-overlimit).
   */
  private async cachedGroupMetadata(jid: string): Promise<GroupMetadata | undefined> {
    const cache = this.settings.caches.groupMetadata;
    const cached = cache.get<GroupMetadata>(this.sessionId, jid);
    if (cached) return cached;
    let fetch = this.groupFetches.get(jid);
    if (!fetch) {
      fetch = this.sock.groupMetadata(jid).finally(() => this.groupFetches.delete(jid));
      this.groupFetches.set(jid, fetch);
    }
    const metadata = await fetch;
    if (!this.closeStarted) cache.set(this.sessionId, jid, metadata);
    return metadata;
  }

  private onBaileysEvents(events: Partial<BaileysEventMap>): void {
    if (this.closeStarted) return;
    let mapped: WhatsAppEvent[];
    try {
      mapped = mapBaileysEvents(withoutEchoes(events, this.sentIds), this.mapContext());
    } catch (err) {
      // A message shaped in a way nobody foresaw must not stop the ones after it.
      this.log.error({ err, events: Object.keys(events) }, 'mapping WhatsApp events failed');
      return;
    }
    this.report(mapped);
  }

  private onStoredLidMappings(mappings: LidMapping[]): void {
    if (!this.closeStarted) this.report([{ kind: 'lid.mapping', mappings }]);
  }

  private report(events: WhatsAppEvent[]): void {
    if (events.length) this.notify('onEvents', () => this.listener.onEvents(events));
  }

  private mapContext(): MapContext {
    const user = this.sock.user ?? this.creds.me;
    return {
      me: {
        jid: user?.id ? jidNormalizedUser(user.id) || null : null,
        lid: user?.lid ? jidNormalizedUser(user.lid) || null : null,
      },
      now: Math.floor(this.settings.clock.now().getTime() / 1000),
    };
  }

  /** A listener that throws must not break Baileys' event loop. */
  private notify(what: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.log.error({ err }, `connection listener ${what} failed`);
    }
  }
}

/** What WhatsApp's CDN answers for a link that expired (Baileys' REUPLOAD_REQUIRED_STATUS). */
const REUPLOAD_STATUSES = new Set([404, 410]);

/** A failed download in wahub's words: content that is no media never downloads; anything else may later. */
function toDownloadError(error: unknown): MediaDownloadError {
  if (error instanceof MediaDownloadError) return error;
  if (error instanceof WhatsAppCommandError) return new MediaDownloadError(error.reason, error.message, error.retryable);
  const message = error instanceof Error ? error.message : String(error);
  if (/not a media message|No message present|No valid media URL/i.test(message)) return new MediaDownloadError('not_downloadable', message, false);
  const status = statusCodeOf(error);
  return new MediaDownloadError(status ? `download_failed_${status}` : 'download_failed', message, true);
}

/** Saves the whole creds object after each change, one write at a time, coalescing bursts. */
class CredsWriter {
  private running: Promise<void> | null = null;
  private dirty = false;

  constructor(
    private readonly save: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  request(): void {
    this.dirty = true;
    this.running ??= this.loop();
  }

  /** Waits for pending saves; retries once a save that failed. */
  async flush(): Promise<void> {
    if (this.dirty) this.running ??= this.loop();
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.save();
        } catch (err) {
          this.log.error({ err }, 'saving WhatsApp creds failed');
          // A lost lease is final (the connection closes); anything else is retried on the next change or at close.
          if ((err as Error).name !== 'LeaseLostError') this.dirty = true;
          return;
        }
      }
    } finally {
      this.running = null;
    }
  }
}
