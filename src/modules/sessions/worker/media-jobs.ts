import { pause } from '../../../platform/clock.js';
import { Transform, type Readable } from 'node:stream';
import type { Queryable } from '../../../platform/db/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { StreamBus, StreamEntry } from '../../../events/bus/stream-bus.js';
import { messageMediaKey, type MediaStorage } from '../../media/domain/media.js';
import { MediaTooLargeError } from '../domain/media-stream.js';
import type { MediaSkipReason, MessageMediaItem } from '../domain/message-media.js';
import { MediaDownloadError, WhatsAppCommandError, type MediaMessageRef } from '../domain/whatsapp-driver.js';
import type { WaMedia, WaMessage, WaMessageKey, WhatsAppEvent } from '../domain/whatsapp-events.js';
import { DEFAULT_MIME, mediaFileName, missingMetadata, peek, sniffMime } from './media-files.js';

/**
 * Inbound media: every image, video, audio (voice notes too), document and sticker that arrives
 * becomes a job on `media-jobs:{shard}`, consumed by the shard's owner (a download may need the live
 * socket: an expired link is re-requested from the phone through it). Jobs run beside the event
 * path, never on it, at most `concurrency` at once per worker: a large video never holds up text.
 * Each job streams the file from WhatsApp into media storage (never whole in memory), completes
 * WhatsApp's metadata by probing the bytes when some is missing, and emits `session.messages.media`.
 *
 * Retries: a failed download is tried again with exponential backoff, up to maxAttempts, then
 * recorded with `url: null, reason: 'download_failed'`. A storage outage, or a session not connected
 * right now, is not the file's fault: the job waits (backoff up to retryMaxMs) as long as it takes.
 * A retry is a new entry carrying the attempt count and the time it may run (`notBefore`), appended
 * before the old one is acknowledged; a job in hand when its worker dies stays pending under the
 * shard's consumer name and the next owner runs it. Running a job twice stores the same object under
 * the same key and emits the same item again, which the projection applies idempotently.
 */

export const MEDIA_JOBS_GROUP = 'media-workers';
export const mediaJobsStream = (shard: number): string => `media-jobs:${shard}`;

export interface MediaJob {
  tenantId: string;
  sessionId: string;
  chatJid: string;
  key: WaMessageKey;
  /** The library's whole message: what the download needs (keys, paths). */
  raw: unknown;
  /** What WhatsApp's message says of the file. */
  media: WaMedia;
  /** Failed downloads so far. */
  attempt: number;
  /** Waits that were not the download's fault (storage down, session not connected). */
  deferrals: number;
  /** Epoch ms before which the job does not run. */
  notBefore: number;
}

export interface MediaJobSettings {
  /** MEDIA_MAX_BYTES: larger files are recorded with their metadata and no URL. */
  maxBytes: number;
  /** Jobs running at once in this worker (MEDIA_CONCURRENCY). */
  concurrency: number;
  /** Download attempts before a file is recorded as 'download_failed'. */
  maxAttempts: number;
  /** First retry delay; each next one doubles, up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_MEDIA_JOB_SETTINGS: Omit<MediaJobSettings, 'maxBytes'> = {
  concurrency: 4,
  maxAttempts: 5,
  retryBaseMs: 2_000,
  retryMaxMs: 5 * 60_000,
};

/** Streaming probe of a file's dimensions and duration (the media module's createProbe). */
export interface MediaProbe {
  write(chunk: Buffer): Promise<void> | void;
  end(): Promise<{ width: number | null; height: number | null; duration: number | null }>;
}

export interface MediaJobDeps {
  bus: StreamBus;
  db: Queryable;
  storage: MediaStorage;
  logger: Logger;
  settings: MediaJobSettings;
  /** The file of a message, from the session's live connection here (waits a little for it to open). */
  download(sessionId: string, message: MediaMessageRef, options: { maxBytes: number }): Promise<Readable>;
  /** Emits `session.messages.media` (in order after the session's other events). */
  publish(tenantId: string, sessionId: string, items: MessageMediaItem[]): Promise<void>;
  /** A probe for the content type, when WhatsApp left out dimensions or duration. */
  probe?: (mime: string) => MediaProbe;
  now?: () => number;
  random?: () => number;
}

/** The media messages of a batch of driver events that need a download (not ours just sent: those are stored already). */
export function mediaToFetch(events: WhatsAppEvent[]): WaMessage[] {
  const out: WaMessage[] = [];
  for (const event of events) {
    const messages = event.kind === 'history.sync' ? event.messages : event.kind === 'messages.upsert' && event.requestId === null ? event.messages : [];
    for (const message of messages) {
      if (message.media && message.deletedAt === null && message.raw) out.push(message);
    }
  }
  return out;
}

export function newMediaJob(tenantId: string, sessionId: string, message: WaMessage, now: number): MediaJob {
  return {
    tenantId,
    sessionId,
    chatJid: message.key.remoteJid,
    key: message.key,
    raw: message.raw,
    media: message.media!,
    attempt: 0,
    deferrals: 0,
    notBefore: now,
  };
}

const toFields = (job: MediaJob) => ({ type: 'media.job', tenantId: job.tenantId, sessionId: job.sessionId, job: JSON.stringify(job) });

function parseJob(entry: StreamEntry): MediaJob | null {
  try {
    const job = JSON.parse(entry.fields.job ?? '') as MediaJob;
    return job && typeof job.sessionId === 'string' && job.key?.id && job.media?.kind ? job : null;
  } catch {
    return null;
  }
}

/** Bounds how many jobs run at once across every shard of the worker. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly roomWaiters: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /** Jobs that could start now without waiting (0 when every slot is taken or jobs already wait). */
  get free(): number {
    return Math.max(0, this.size - this.running - this.waiting.length);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
  }

  /** Resolves once a job could start at once (or the signal aborts). */
  async room(signal: AbortSignal): Promise<void> {
    while (this.free === 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.roomWaiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

type Outcome = { kind: 'done' } | { kind: 'retry'; job: MediaJob };

/**
 * Runs the media jobs of the shards this worker owns. `enqueue` may be called by any worker (it
 * only appends); the jobs of a shard run where its lease is.
 */
export class MediaJobs {
  private readonly slots: Slots;
  private readonly shards = new Map<number, ShardJobs>();
  private readonly logger: Logger;
  private stopped = false;

  constructor(private readonly deps: MediaJobDeps) {
    this.slots = new Slots(deps.settings.concurrency);
    this.logger = deps.logger.child({ component: 'media-jobs' });
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Appends jobs for the media of these messages; retried until the stream takes them. */
  async enqueue(shard: number, tenantId: string, sessionId: string, messages: WaMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const entries = messages.map((m) => toFields(newMediaJob(tenantId, sessionId, m, this.now())));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.bus.append(mediaJobsStream(shard), entries);
        return;
      } catch (error) {
        if (this.stopped) return;
        this.logger.error({ err: error, sessionId, attempt }, 'queueing media jobs failed; retrying');
        await sleep(Math.min(5000, 100 * 2 ** attempt));
      }
    }
  }

  async startShard(shard: number): Promise<void> {
    this.stopped = false;
    if (this.shards.has(shard)) return;
    const jobs = new ShardJobs(shard, this.deps, this.slots, this.logger, (job) => this.run(shard, job));
    this.shards.set(shard, jobs);
    await jobs.start();
  }

  /** Stops taking the shard's jobs and waits a while for the ones running (those not finished stay pending for the next owner). */
  async stopShard(shard: number): Promise<void> {
    const jobs = this.shards.get(shard);
    this.shards.delete(shard);
    await jobs?.stop({ wait: true });
  }

  /** The lease is gone: stop at once; jobs in hand stay pending for the next owner. */
  abandonShard(shard: number): void {
    const jobs = this.shards.get(shard);
    this.shards.delete(shard);
    void jobs?.stop({ wait: false });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.shards.keys()].map((shard) => this.stopShard(shard)));
  }

  /** Runs one job to its end: stored, recorded without a file, or handed back to retry later. */
  private async run(shard: number, job: MediaJob): Promise<Outcome> {
    try {
      return await this.process(shard, job);
    } catch (error) {
      // Unexpected (the database away, say): not the file's fault either; it runs again later.
      this.logger.error({ err: error, sessionId: job.sessionId, messageId: job.key.id }, 'media job failed; it runs again later');
      return this.defer(job);
    }
  }

  private async process(shard: number, job: MediaJob): Promise<Outcome> {
    const log = this.logger.child({ sessionId: job.sessionId, messageId: job.key.id, shard });
    if (!(await this.sessionLive(job))) {
      log.debug('session deleted: media job dropped');
      return { kind: 'done' };
    }
    const { maxBytes } = this.deps.settings;
    if (job.media.size !== null && job.media.size > maxBytes) {
      await this.record(job, this.item(job, { url: null, reason: 'too_large' }));
      return { kind: 'done' };
    }

    let source: Readable;
    try {
      source = await this.deps.download(job.sessionId, { key: job.key, raw: job.raw }, { maxBytes });
    } catch (error) {
      return this.downloadFailed(job, error, log);
    }

    // The download's own error (WhatsApp, the byte limit) tells it from a storage failure.
    let downloadError: unknown;
    source.on('error', (error) => (downloadError ??= error));
    let stored: { url: string; size: number; mime: string; probed: Awaited<ReturnType<MediaProbe['end']>> | null };
    try {
      stored = await this.store(job, source);
    } catch (error) {
      source.destroy();
      if (downloadError instanceof MediaTooLargeError || error instanceof MediaTooLargeError) {
        await this.removeObjects(job);
        await this.record(job, this.item(job, { url: null, size: null, reason: 'too_large' }));
        return { kind: 'done' };
      }
      if (downloadError !== undefined) return this.downloadFailed(job, downloadError, log);
      log.warn({ err: error, deferrals: job.deferrals }, 'media storage failed; the job waits and runs again');
      return this.defer(job);
    }

    if (!(await this.sessionLive(job))) {
      // Deleted while the file was on its way: its objects go with it.
      await this.removeObjects(job);
      return { kind: 'done' };
    }
    const probed = stored.probed;
    await this.record(
      job,
      this.item(job, {
        url: stored.url,
        mime: stored.mime,
        size: stored.size,
        width: job.media.width ?? probed?.width ?? null,
        height: job.media.height ?? probed?.height ?? null,
        duration: job.media.duration ?? probed?.duration ?? null,
      }),
    );
    return { kind: 'done' };
  }

  /** Streams the file into storage under the seed's key; probes it on the way when metadata is missing. */
  private async store(job: MediaJob, source: Readable) {
    const { head, stream } = await peek(source, 4096);
    const mime = job.media.mime ?? sniffMime(head) ?? DEFAULT_MIME[job.media.kind];
    const probe = this.deps.probe && missingMetadata(job.media.kind, job.media) ? this.deps.probe(mime) : null;
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        const wrote = probe?.write(chunk);
        if (wrote instanceof Promise) wrote.then(() => callback(null, chunk), callback);
        else callback(null, chunk);
      },
    });
    stream.on('error', (error) => tap.destroy(error));
    const key = messageMediaKey(job.tenantId, job.sessionId, job.key.id, mediaFileName(job.media, mime));
    const object = await this.deps.storage.put(key, stream.pipe(tap), { contentType: mime });
    const probed = probe ? await probe.end() : null;
    return { url: object.url, size: object.size || size, mime, probed };
  }

  private item(job: MediaJob, over: Partial<MessageMediaItem> & { reason?: MediaSkipReason }): MessageMediaItem {
    const { media } = job;
    const item: MessageMediaItem = {
      messageId: job.key.id,
      chatJid: job.chatJid,
      kind: media.kind,
      url: null,
      mime: media.mime,
      size: media.size,
      width: media.width,
      height: media.height,
      duration: media.duration,
      ...over,
    };
    if (item.reason === undefined) delete item.reason;
    return item;
  }

  private async record(job: MediaJob, item: MessageMediaItem): Promise<void> {
    await this.deps.publish(job.tenantId, job.sessionId, [item]);
  }

  private downloadFailed(job: MediaJob, error: unknown, log: Logger): Promise<Outcome> | Outcome {
    if (error instanceof WhatsAppCommandError && error.reason === 'not_connected') {
      log.info({ deferrals: job.deferrals }, 'session not connected here: the media job waits');
      return this.defer(job);
    }
    if (error instanceof MediaTooLargeError) {
      return this.record(job, this.item(job, { url: null, size: null, reason: 'too_large' })).then(() => ({ kind: 'done' as const }));
    }
    if (error instanceof MediaDownloadError && !error.retryable) {
      log.warn({ reason: error.reason, detail: error.message }, 'media cannot be downloaded');
      return this.record(job, this.item(job, { url: null, reason: 'not_downloadable' })).then(() => ({ kind: 'done' as const }));
    }
    const attempt = job.attempt + 1;
    if (attempt >= this.deps.settings.maxAttempts) {
      log.error({ err: error, attempts: attempt }, 'media download failed for good');
      return this.record(job, this.item(job, { url: null, reason: 'download_failed' })).then(() => ({ kind: 'done' as const }));
    }
    log.warn({ err: error, attempt }, 'media download failed; retrying later');
    return { kind: 'retry', job: { ...job, attempt, notBefore: this.now() + this.backoff(attempt) } };
  }

  private defer(job: MediaJob): Outcome {
    const deferrals = job.deferrals + 1;
    return { kind: 'retry', job: { ...job, deferrals, notBefore: this.now() + this.backoff(deferrals) } };
  }

  /** Exponential, with ±20% jitter so retries of a burst spread out. */
  private backoff(n: number): number {
    const { retryBaseMs, retryMaxMs } = this.deps.settings;
    const base = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, n - 1));
    const jitter = 0.8 + 0.4 * (this.deps.random?.() ?? Math.random());
    return Math.round(Math.min(retryMaxMs, base * jitter));
  }

  private async sessionLive(job: MediaJob): Promise<boolean> {
    const [row] = await this.deps.db.query<{ live: boolean }>(`select deleted_at is null as live from sessions where id = $1 and tenant_id = $2`, [
      job.sessionId,
      job.tenantId,
    ]);
    return row?.live === true;
  }

  /** Removes whatever a job left of its message's file (a partial upload, a deleted session's file). */
  private async removeObjects(job: MediaJob): Promise<void> {
    const folder = messageMediaKey(job.tenantId, job.sessionId, job.key.id, 'x').replace(/x$/, '');
    await this.deps.storage.deletePrefix(folder).catch((error) => this.logger.warn({ err: error, folder }, 'removing a media object failed'));
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
const STOP_WAIT_MS = 10_000;

/**
 * One shard's jobs: reads its own pending entries first (left by a previous owner), then new ones
 * while a slot is free; a job whose time has not come waits on a timer, pending.
 */
class ShardJobs {
  private running = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly inHand = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stream: string;
  private readonly consumer: string;

  constructor(
    shard: number,
    private readonly deps: MediaJobDeps,
    private readonly slots: Slots,
    private readonly logger: Logger,
    private readonly process: (job: MediaJob) => Promise<Outcome>,
  ) {
    this.stream = mediaJobsStream(shard);
    this.consumer = `shard-${shard}`;
  }

  async start(): Promise<void> {
    await this.deps.bus.ensureGroup(this.stream, MEDIA_JOBS_GROUP, '0');
    this.running = true;
    this.loop = this.run();
  }

  async stop(options: { wait: boolean }): Promise<void> {
    this.running = false;
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.loop;
    // A handover waits a little for jobs in hand (a large video may take long: not forever).
    if (options.wait) await Promise.race([Promise.allSettled([...this.inHand]), sleep(STOP_WAIT_MS)]);
  }

  private async run(): Promise<void> {
    const { bus } = this.deps;
    let cursor = '0';
    while (this.running) {
      const own = await this.safely(() => bus.readGroup(this.stream, MEDIA_JOBS_GROUP, this.consumer, { count: 100, blockMs: 0, pending: true, afterId: cursor }));
      if (!own || own.length === 0) break;
      for (const entry of own) this.accept(entry);
      cursor = own.at(-1)!.id;
    }
    while (this.running) {
      await this.slots.room(this.abort.signal);
      if (!this.running) break;
      const entries = await this.safely(() =>
        bus.readGroup(this.stream, MEDIA_JOBS_GROUP, this.consumer, { count: Math.max(1, this.slots.free), blockMs: 1000, signal: this.abort.signal }),
      );
      if (entries === undefined) await this.pause(500);
      else for (const entry of entries) this.accept(entry);
    }
  }

  private accept(entry: StreamEntry): void {
    const job = parseJob(entry);
    if (!job) {
      this.logger.error({ entryId: entry.id }, 'unreadable media job dropped');
      void this.ack(entry);
      return;
    }
    const wait = job.notBefore - (this.deps.now?.() ?? Date.now());
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.running) this.start_(job, entry);
      }, wait);
      this.timers.add(timer);
      return;
    }
    this.start_(job, entry);
  }

  private start_(job: MediaJob, entry: StreamEntry): void {
    const work = this.slots
      .run(async () => {
        // The shard was handed over while this job waited for a slot: leave it to the new owner.
        if (!this.running) return;
        const outcome = await this.process(job);
        if (outcome.kind === 'done') await this.ack(entry);
        // Handed over meanwhile: the entry stays pending and the shard's next owner runs it.
        else if (this.running) await this.requeue(outcome.job, entry);
      })
      .finally(() => this.inHand.delete(work));
    this.inHand.add(work);
  }

  /** The retry goes in first, then the old entry is acknowledged: a crash in between runs it twice, never zero times. */
  private async requeue(job: MediaJob, entry: StreamEntry): Promise<void> {
    for (let attempt = 0; this.running; attempt++) {
      try {
        await this.deps.bus.append(this.stream, [toFields(job)]);
        await this.ack(entry);
        return;
      } catch (error) {
        this.logger.error({ err: error, attempt }, 'requeueing a media job failed; retrying');
        await this.pause(Math.min(5000, 200 * 2 ** attempt));
      }
    }
  }

  private async ack(entry: StreamEntry): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.bus.ack(this.stream, MEDIA_JOBS_GROUP, [entry.id]);
        return;
      } catch (error) {
        // Left pending, it runs again on the shard's next start: harmless, only extra work.
        if (!this.running || attempt >= 5) return;
        this.logger.warn({ err: error }, 'acknowledging a media job failed; retrying');
        await this.pause(200 * 2 ** attempt);
      }
    }
  }

  private async safely<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      if (!this.running) return undefined;
      this.logger.error({ err: error, stream: this.stream }, 'reading media jobs failed');
      if (String((error as Error).message).includes('NOGROUP')) {
        await this.deps.bus.ensureGroup(this.stream, MEDIA_JOBS_GROUP, '0').catch(() => undefined);
      }
      return undefined;
    }
  }

  /** Sleeps, but wakes at once when stopped. */
  private pause(ms: number): Promise<void> {
    return pause(ms, this.abort.signal);
  }
}
