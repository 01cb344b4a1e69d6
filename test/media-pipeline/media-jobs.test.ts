import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamBus } from '../../src/events/bus/stream-bus.js';
import type { Queryable } from '../../src/platform/db/db.js';
import type { MediaStorage, StoredObject } from '../../src/modules/media/domain/media.js';
import { limitBytes } from '../../src/modules/sessions/domain/media-stream.js';
import type { MessageMediaItem } from '../../src/modules/sessions/domain/message-media.js';
import { MediaDownloadError, WhatsAppCommandError, type MediaMessageRef } from '../../src/modules/sessions/domain/whatsapp-driver.js';
import type { WaMedia, WaMessage, WhatsAppEvent } from '../../src/modules/sessions/domain/whatsapp-events.js';
import { MEDIA_JOBS_GROUP, MediaJobs, mediaJobsStream, mediaToFetch, type MediaJobSettings } from '../../src/modules/sessions/worker/media-jobs.js';
import { createProbe } from '../../src/modules/media/index.js';
import { BUS_KINDS, BusFactory, silentLogger, waitUntil } from '../events/helpers.js';
import { fixture } from '../media/support.js';

const TENANT = '9e3a5b9c-56b9-4b8d-9e2b-5c3a1f4b9a12';
const SESSION = '4b1a9c08-6b70-4c1c-9d5b-2b7d8fd5b901';
const PEER = '51999999999@s.whatsapp.net';

function message(id: string, media: Partial<WaMedia> & { kind: WaMedia['kind'] }, over: Partial<WaMessage> = {}): WaMessage {
  return {
    key: { id, remoteJid: PEER, fromMe: false, participant: null, remoteJidAlt: null, participantAlt: null },
    timestamp: 1767220040,
    type: `${media.kind}Message`,
    text: null,
    quotedMessageId: null,
    pushName: null,
    status: null,
    editedAt: null,
    deletedAt: null,
    media: { mime: null, size: null, width: null, height: null, duration: null, fileName: null, ...media },
    raw: { key: { id }, message: { [`${media.kind}Message`]: {} } },
    ...over,
  };
}

/** Media storage in memory; `down` makes every put fail (an outage) after reading nothing. */
class MemoryStorage implements MediaStorage {
  readonly kind = 'local' as const;
  readonly objects = new Map<string, { bytes: Buffer; contentType: string }>();
  down = false;
  puts = 0;
  deleted: string[] = [];
  async put(key: string, body: Readable, options: { contentType: string }): Promise<StoredObject> {
    this.puts += 1;
    if (this.down) {
      body.destroy();
      throw new Error('connect ECONNREFUSED 127.0.0.1:9000');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    this.objects.set(key, { bytes, contentType: options.contentType });
    return { key, size: bytes.length, url: this.url(key) };
  }
  async get(key: string): Promise<Readable> {
    return Readable.from([this.objects.get(key)!.bytes]);
  }
  url(key: string): string {
    return `https://media.example/${key}`;
  }
  async deletePrefix(prefix: string): Promise<void> {
    this.deleted.push(prefix);
    for (const key of [...this.objects.keys()]) if (key.startsWith(prefix)) this.objects.delete(key);
  }
  async ping(): Promise<void> {}
}

/** A chunked stream of bytes, slow enough that jobs overlap. */
const chunked = (bytes: Buffer, delayMs = 0) =>
  Readable.from(
    (async function* () {
      for (let i = 0; i < bytes.length; i += 1024) {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        yield bytes.subarray(i, i + 1024);
      }
    })(),
  );

describe.each(BUS_KINDS)('media jobs (%s stream)', (busKind) => {
  const buses = new BusFactory(busKind);
  const running: MediaJobs[] = [];
  afterEach(async () => {
    for (const jobs of running.splice(0)) await jobs.stop();
    await buses.cleanup();
  });

  function setup(options: { settings?: Partial<MediaJobSettings>; bus?: StreamBus; storage?: MemoryStorage; live?: () => boolean } = {}) {
    const bus = options.bus ?? buses.create();
    const storage = options.storage ?? new MemoryStorage();
    const published: MessageMediaItem[] = [];
    const downloads: string[] = [];
    let download: (ref: MediaMessageRef, maxBytes: number) => Promise<Readable> = async () => {
      throw new Error('no download set');
    };
    const db = { query: async () => [{ live: options.live ? options.live() : true }] } as unknown as Queryable;
    const jobs = new MediaJobs({
      bus,
      db,
      storage,
      logger: silentLogger,
      settings: { maxBytes: 1 << 20, concurrency: 4, maxAttempts: 3, retryBaseMs: 20, retryMaxMs: 100, ...options.settings },
      download: async (_sessionId, ref, { maxBytes }) => {
        downloads.push(ref.key.id);
        return download(ref, maxBytes);
      },
      publish: async (_tenantId, _sessionId, items) => void published.push(...items),
      probe: createProbe,
    });
    running.push(jobs);
    return {
      bus,
      jobs,
      storage,
      published,
      downloads,
      onDownload(fn: typeof download) {
        download = fn;
      },
      itemOf: (id: string) => published.find((i) => i.messageId === id),
    };
  }

  it('stores the file under the seed key and publishes the seed item, completing metadata WhatsApp left out by probing', async () => {
    const t = setup();
    const photo = fixture('photo.jpg');
    const video = fixture('video.mp4');
    t.onDownload(async (ref) => chunked(ref.key.id === 'img' ? photo : video));
    await t.jobs.startShard(0);
    await t.jobs.enqueue(0, TENANT, SESSION, [
      message('img', { kind: 'image', mime: 'image/jpeg', size: photo.length, width: 720, height: 1280 }),
      message('vid', { kind: 'video', mime: null, size: null }),
    ]);
    await waitUntil(() => t.published.length === 2, 'both published');
    const imageKey = `tenants/${TENANT}/sessions/${SESSION}/messages/img/image.jpg`;
    expect(t.itemOf('img')).toEqual({
      messageId: 'img',
      chatJid: PEER,
      kind: 'image',
      url: `https://media.example/${imageKey}`,
      mime: 'image/jpeg',
      size: photo.length,
      // WhatsApp's own metadata wins when it has some.
      width: 720,
      height: 1280,
      duration: null,
    });
    expect(t.storage.objects.get(imageKey)!.bytes.equals(photo)).toBe(true);
    // No mime, no size, no dimensions: sniffed, counted and probed from the bytes.
    expect(t.itemOf('vid')).toMatchObject({ kind: 'video', mime: 'video/mp4', size: video.length, width: 160, height: 120, duration: 2 });
    expect(t.storage.objects.get(`tenants/${TENANT}/sessions/${SESSION}/messages/vid/video.mp4`)!.contentType).toBe('video/mp4');
  });

  it('retries a failed download with backoff, then records download_failed after maxAttempts', async () => {
    const t = setup({ settings: { maxAttempts: 3 } });
    const failures = new Map([['flaky', 2]]);
    t.onDownload(async (ref) => {
      const left = failures.get(ref.key.id) ?? Infinity;
      if (left > 0) {
        failures.set(ref.key.id, left - 1);
        throw new MediaDownloadError('download_failed_410', 'Gone', true);
      }
      return chunked(fixture('voice.ogg'));
    });
    await t.jobs.startShard(1);
    await t.jobs.enqueue(1, TENANT, SESSION, [
      message('flaky', { kind: 'audio', mime: 'audio/ogg; codecs=opus', duration: null }),
      message('gone', { kind: 'document', mime: 'application/pdf', size: 584, fileName: 'f.pdf' }),
    ]);
    await waitUntil(() => t.published.length === 2, 'both recorded');
    expect(t.itemOf('flaky')).toMatchObject({ url: expect.stringContaining('/messages/flaky/audio.ogg'), duration: 3 });
    expect(t.itemOf('gone')).toEqual({
      messageId: 'gone',
      chatJid: PEER,
      kind: 'document',
      url: null,
      mime: 'application/pdf',
      size: 584,
      width: null,
      height: null,
      duration: null,
      reason: 'download_failed',
    });
    expect(t.downloads.filter((id) => id === 'flaky')).toHaveLength(3);
    expect(t.downloads.filter((id) => id === 'gone')).toHaveLength(3);
    // Every retry went through the stream and was acknowledged: nothing left pending.
    await waitUntil(async () => (await t.bus.groupStats(mediaJobsStream(1), MEDIA_JOBS_GROUP)).pending === 0, 'all acknowledged');
  });

  it('records what it will not fetch: larger than MEDIA_MAX_BYTES (declared or streamed) and media that cannot be downloaded', async () => {
    const t = setup({ settings: { maxBytes: 5000 } });
    const video = fixture('video.mp4');
    t.onDownload(async (ref, maxBytes) => {
      if (ref.key.id === 'nothing') throw new MediaDownloadError('not_downloadable', 'no media', false);
      return limitBytes(chunked(video), maxBytes);
    });
    await t.jobs.startShard(2);
    await t.jobs.enqueue(2, TENANT, SESSION, [
      message('declared', { kind: 'video', mime: 'video/mp4', size: video.length, width: 160, height: 120, duration: 2 }),
      message('undeclared', { kind: 'video', mime: 'video/mp4', size: null, width: 160, height: 120, duration: 2 }),
      message('nothing', { kind: 'image', mime: 'image/jpeg' }),
    ]);
    await waitUntil(() => t.published.length === 3, 'three recorded');
    expect(t.itemOf('declared')).toEqual({
      messageId: 'declared',
      chatJid: PEER,
      kind: 'video',
      url: null,
      mime: 'video/mp4',
      size: video.length,
      width: 160,
      height: 120,
      duration: 2,
      reason: 'too_large',
    });
    expect(t.downloads).not.toContain('declared');
    expect(t.itemOf('undeclared')).toMatchObject({ url: null, size: null, reason: 'too_large', width: 160 });
    expect(t.itemOf('nothing')).toMatchObject({ url: null, reason: 'not_downloadable' });
    // The partial upload of the undeclared one is removed.
    expect(t.storage.deleted).toContain(`tenants/${TENANT}/sessions/${SESSION}/messages/undeclared/`);
    expect([...t.storage.objects.keys()]).toEqual([]);
  });

  it('waits out a storage outage and a disconnected session without spending attempts: nothing lost', async () => {
    const storage = new MemoryStorage();
    storage.down = true;
    const t = setup({ storage, settings: { maxAttempts: 2 } });
    let connected = false;
    t.onDownload(async () => {
      if (!connected) throw new WhatsAppCommandError('not_connected', 'not connected', true);
      return chunked(fixture('sticker.webp'));
    });
    await t.jobs.startShard(3);
    await t.jobs.enqueue(3, TENANT, SESSION, [message('st', { kind: 'sticker', mime: 'image/webp', width: 512, height: 512 })]);
    await waitUntil(() => t.downloads.length >= 4, 'several tries while disconnected');
    connected = true;
    await waitUntil(() => storage.puts >= 4, 'several puts while storage is down');
    expect(t.published).toEqual([]);
    storage.down = false;
    await waitUntil(() => t.published.length === 1, 'stored after the outage');
    expect(t.itemOf('st')).toMatchObject({ url: expect.stringContaining('/messages/st/sticker.webp'), size: fixture('sticker.webp').length });
  });

  it('runs at most `concurrency` jobs at once, across shards', async () => {
    const t = setup({ settings: { concurrency: 2 } });
    let now = 0;
    let peak = 0;
    t.onDownload(async () => {
      now += 1;
      peak = Math.max(peak, now);
      const stream = chunked(fixture('photo.jpg'), 5);
      stream.on('close', () => (now -= 1));
      return stream;
    });
    await t.jobs.startShard(4);
    await t.jobs.startShard(5);
    const batch = (prefix: string) => Array.from({ length: 4 }, (_, i) => message(`${prefix}${i}`, { kind: 'image', mime: 'image/jpeg' }));
    await t.jobs.enqueue(4, TENANT, SESSION, batch('a'));
    await t.jobs.enqueue(5, TENANT, SESSION, batch('b'));
    await waitUntil(() => t.published.length === 8, 'all eight stored');
    expect(peak).toBe(2);
  });

  it('a job left pending by a dead owner runs on the next owner of the shard; running it twice stores the same object and item', async () => {
    const bus = buses.create();
    const storage = new MemoryStorage();
    const first = setup({ bus, storage });
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    first.onDownload(async () => {
      await stuck; // the worker dies with the job in hand
      throw new Error('socket gone');
    });
    await first.jobs.startShard(6);
    await first.jobs.enqueue(6, TENANT, SESSION, [message('m1', { kind: 'image', mime: 'image/jpeg' })]);
    await waitUntil(() => first.downloads.length === 1, 'first owner took it');
    first.jobs.abandonShard(6);

    const second = setup({ bus, storage });
    second.onDownload(async () => chunked(fixture('photo.jpg')));
    await second.jobs.startShard(6);
    await waitUntil(() => second.published.length === 1, 'the next owner ran it');
    // Redelivered on purpose: the same object, the same item.
    const third = setup({ bus, storage });
    third.onDownload(async () => chunked(fixture('photo.jpg')));
    await bus.append(mediaJobsStream(7), (await bus.range(mediaJobsStream(6), '0', 1)).map((e) => e.fields));
    await third.jobs.startShard(7);
    await waitUntil(() => third.published.length === 1, 'ran again');
    expect(third.published[0]).toEqual(second.published[0]);
    expect([...storage.objects.keys()]).toEqual([`tenants/${TENANT}/sessions/${SESSION}/messages/m1/image.jpg`]);
    release();
    expect(first.published).toEqual([]);
  });

  it('drops the jobs of a deleted session', async () => {
    let live = true;
    const t = setup({ live: () => live });
    t.onDownload(async () => chunked(fixture('photo.jpg')));
    live = false;
    await t.jobs.startShard(8);
    await t.jobs.enqueue(8, TENANT, SESSION, [message('x', { kind: 'image', mime: 'image/jpeg' })]);
    await waitUntil(async () => (await t.bus.groupStats(mediaJobsStream(8), MEDIA_JOBS_GROUP)).pending === 0 && (await t.bus.length(mediaJobsStream(8))) === 1, 'consumed');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.downloads).toEqual([]);
    expect(t.published).toEqual([]);
  });
});

describe('mediaToFetch', () => {
  it('takes media of upserts and history, not our own sends (stored already), text, or deleted messages', () => {
    const events: WhatsAppEvent[] = [
      { kind: 'messages.upsert', upsertType: 'notify', requestId: null, messages: [message('in', { kind: 'image' }), { ...message('txt', { kind: 'image' }), media: null }] },
      { kind: 'messages.upsert', upsertType: 'append', requestId: 'req-1', messages: [message('ours', { kind: 'image' }, { key: { ...message('ours', { kind: 'image' }).key, fromMe: true } })] },
      // Sent from the phone (another device of ours): no requestId, its file is fetched like any other.
      { kind: 'messages.upsert', upsertType: 'append', requestId: null, messages: [message('phone', { kind: 'video' }, { key: { ...message('phone', { kind: 'video' }).key, fromMe: true } })] },
      { kind: 'messages.upsert', upsertType: 'append', requestId: null, messages: [message('revoked', { kind: 'audio' }, { deletedAt: 1 })] },
      { kind: 'history.sync', syncType: 'RECENT', progress: 100, isLatest: true, chats: [], contacts: [], lidMappings: [], messages: [message('old', { kind: 'document' })] },
    ];
    expect(mediaToFetch(events).map((m) => m.key.id)).toEqual(['in', 'phone', 'old']);
  });
});
