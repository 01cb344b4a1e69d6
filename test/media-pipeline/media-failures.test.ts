import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaStorage } from '../../src/modules/media/index.js';
import { eventually } from '../support/clients.js';
import { MODES } from '../support/services.js';
import { connectedSession, type ConnectedSession } from '../support/session.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { startTestS3, type TestS3 } from '../media/s3-server.js';
import { fixture } from '../media/support.js';
import { FAST_RETRIES, fetchStored, sha256 } from './support.js';

const enc = encodeURIComponent;
const contact = '51911122233@s.whatsapp.net';

function helpers(s: ConnectedSession) {
  return {
    mediaEventOf: (id: string, timeoutMs = 15_000) =>
      s.ws.next((e) => e.type === 'session.messages.media' && e.payload.media.some((m: any) => m.messageId === id), { timeoutMs, fromIndex: 0 }),
    mediaEventsOf: (id: string) => s.ws.events.filter((e) => e.type === 'session.messages.media' && e.payload.media.some((m: any) => m.messageId === id)),
    messageOf: async (id: string) => ((await s.ok('GET', `/chats/${enc(contact)}/messages`, undefined, 200)).items as any[]).find((m) => m.id === id),
    receive: async (body: Record<string, unknown>) => (await s.ok('POST', `/simulator/sessions/${s.sessionId}/media`, { from: '51911122233', ...body })).ids[0] as string,
  };
}

/** Makes a storage's writes fail (an outage) until `restore()`; counts the tries. */
function outage(storage: MediaStorage) {
  const put = storage.put.bind(storage);
  const state = { down: true, tries: 0 };
  storage.put = async (key: string, body: Readable, options: { contentType: string; contentLength?: number }) => {
    state.tries += 1;
    if (state.down) {
      body.destroy();
      throw new Error('connect ECONNREFUSED (storage down)');
    }
    return put(key, body, options);
  };
  return {
    state,
    restore: () => {
      state.down = false;
    },
    uninstall: () => {
      storage.put = put;
    },
  };
}

describe.each(MODES)('inbound media that fails, is too large, or meets a storage outage (local storage, %s)', (mode) => {
  let wahub: TestWahub;
  let s: ConnectedSession;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    wahub = await startTestWahub(mode, { WA_DRIVER: 'simulator', MEDIA_MAX_BYTES: '8000', MEDIA_DOWNLOAD_MAX_ATTEMPTS: '3', ...FAST_RETRIES });
    s = await connectedSession(wahub, `media-failures-${mode}`);
    h = helpers(s);
  });
  afterAll(async () => {
    s?.ws.close();
    await wahub?.stop();
  });

  it('a download that fails twice is retried and then stored: one media event, with the file', async () => {
    const id = await h.receive({ kind: 'image', fixture: 'photo.jpg', failDownloads: 2 });
    const event = await h.mediaEventOf(id);
    expect(event.payload.media[0]).toMatchObject({ messageId: id, kind: 'image', mime: 'image/jpeg', size: fixture('photo.jpg').length, width: 320, height: 240 });
    expect(event.payload.media[0].url).toContain(`/messages/${id}/image.jpg`);
    const stored = await fetchStored(wahub, event.payload.media[0].url, s.token);
    expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(fixture('photo.jpg')));
    await new Promise((r) => setTimeout(r, 300));
    expect(h.mediaEventsOf(id)).toHaveLength(1);
  });

  it('a file WhatsApp never gives is recorded after the last attempt: url null, reason download_failed, its metadata kept', async () => {
    const id = await h.receive({ kind: 'document', fixture: 'document.pdf', caption: 'Factura', failDownloads: 50 });
    const event = await h.mediaEventOf(id);
    expect(event.payload).toEqual({
      tenantId: s.tenantId,
      mediaCount: 1,
      media: [{ messageId: id, chatJid: contact, kind: 'document', url: null, mime: 'application/pdf', size: fixture('document.pdf').length, width: null, height: null, duration: null, reason: 'download_failed' }],
      source: 'event',
    });
    const view = await eventually(async () => {
      const message = await h.messageOf(id);
      return message?.media && 'url' in message.media ? message : null;
    });
    expect(view.media).toMatchObject({ kind: 'document', url: null, mime: 'application/pdf', size: 584 });

    // The control for media already sent: unknown messages are 404.
    const unknown = await s.api('POST', `/simulator/sessions/${s.sessionId}/media-failures`, { messageId: 'nope', count: 1 });
    expect(unknown.status).toBe(404);
    expect((await s.api('POST', `/simulator/sessions/${s.sessionId}/media-failures`, { messageId: id, count: 1 })).status).toBe(202);
  });

  it('media over MEDIA_MAX_BYTES is recorded with its metadata and url null, not fetched (declared) or not kept (undeclared)', async () => {
    const video = fixture('video.mp4');
    expect(video.length).toBeGreaterThan(8000);
    const declared = await h.receive({ kind: 'video', caption: 'big' });
    expect((await h.mediaEventOf(declared)).payload.media).toEqual([
      { messageId: declared, chatJid: contact, kind: 'video', url: null, mime: 'video/mp4', size: video.length, width: 160, height: 120, duration: 2, reason: 'too_large' },
    ]);
    // The phone's message does not say how large it is: the download stops at the limit.
    const undeclared = await h.receive({ kind: 'video', metadata: { size: null } });
    expect((await h.mediaEventOf(undeclared)).payload.media[0]).toMatchObject({ url: null, size: null, reason: 'too_large', width: 160, height: 120, duration: 2 });
    const key = `tenants/${s.tenantId}/sessions/${s.sessionId}/messages/${undeclared}/video.mp4`;
    await expect(wahub.resources.mediaStorage.get(key)).rejects.toMatchObject({ code: 'media_file_not_found' });
  });

  it('a storage outage holds the file back, never the messages; once storage is back the file is stored: nothing lost', async () => {
    const down = outage(wahub.resources.mediaStorage);
    try {
      const id = await h.receive({ kind: 'audio', fixture: 'voice.ogg' });
      await eventually(async () => down.state.tries >= 3);
      // Text keeps flowing meanwhile.
      const { ids } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/messages`, { from: '51911122233', text: 'still here' });
      await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.messages[0].id === ids[0], { fromIndex: 0 });
      expect(h.mediaEventsOf(id)).toHaveLength(0);
      // More tries than MEDIA_DOWNLOAD_MAX_ATTEMPTS: an outage does not spend attempts.
      await eventually(async () => down.state.tries >= 5);
      down.restore();
      const event = await h.mediaEventOf(id);
      expect(event.payload.media[0]).toMatchObject({ kind: 'audio', mime: 'audio/ogg; codecs=opus', size: fixture('voice.ogg').length, duration: 3 });
      const stored = await fetchStored(wahub, event.payload.media[0].url, s.token);
      expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(fixture('voice.ogg')));
    } finally {
      down.uninstall();
    }
  });
});

/** A TCP hop in front of the S3 server that can refuse every connection (the endpoint unreachable). */
async function startToggleProxy(target: string) {
  const { port } = new URL(target);
  const sockets = new Set<Socket>();
  const state = { down: false, refused: 0 };
  const server: Server = createServer((client) => {
    if (state.down) {
      state.refused += 1;
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), '127.0.0.1');
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    down() {
      state.down = true;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      state.down = false;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('inbound media when the S3 endpoint is unreachable for a while (real)', () => {
  let s3: TestS3;
  let proxy: Awaited<ReturnType<typeof startToggleProxy>>;
  let wahub: TestWahub;
  let s: ConnectedSession;

  beforeAll(async () => {
    s3 = await startTestS3();
    proxy = await startToggleProxy(s3.endpoint);
    wahub = await startTestWahub('real', { WA_DRIVER: 'simulator', ...FAST_RETRIES, ...s3.env, S3_ENDPOINT: proxy.url });
    s = await connectedSession(wahub, 'media-s3-outage');
  });
  afterAll(async () => {
    s?.ws.close();
    await wahub?.stop();
    await proxy?.stop();
    await s3?.stop();
  });

  it('retries the upload later and stores the file once the endpoint answers again', async () => {
    const h = helpers(s);
    proxy.down();
    const id = await h.receive({ kind: 'image', fixture: 'image.png' });
    await eventually(async () => proxy.state.refused >= 4, 20_000);
    expect(h.mediaEventsOf(id)).toHaveLength(0);
    proxy.up();
    const event = await h.mediaEventOf(id, 30_000);
    const key = `tenants/${s.tenantId}/sessions/${s.sessionId}/messages/${id}/image.png`;
    expect(event.payload.media[0]).toMatchObject({ url: `${proxy.url}/${s3.bucket}/${key}`, mime: 'image/png', size: fixture('image.png').length, width: 64, height: 32 });
    expect(await s3.keys(key)).toEqual([key]);
    const stored = await fetch(`${s3.endpoint}/${s3.bucket}/${key}`);
    expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(fixture('image.png')));
  });
});
