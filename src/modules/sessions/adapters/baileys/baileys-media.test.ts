import { readFileSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { encryptedStream, initAuthCreds, proto, type AuthenticationCreds, type WAMessage } from 'baileys';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MediaTooLargeError } from '../../domain/media-stream.js';
import type { ConnectionListener, WhatsAppConnection } from '../../domain/whatsapp-driver.js';
import type { OutboundMedia, WaMessageKey, WhatsAppCommand, WhatsAppEvent } from '../../domain/whatsapp-events.js';
import { FIXTURES_DIR } from '../simulator/simulator-media.js';
import { createAuthStateStore } from './auth-state-store.js';
import { createBaileysDriver } from './baileys-driver.js';
import { toSocketCall } from './commands.js';
import { FakeWhatsAppSocket, logger, ME } from './fake-socket.js';
import { toRaw } from './message-summary.js';
import { grantLease, newSession, openTestDb, type TestDb, PEER, waKey, listenerRecorder } from './test-fixtures.js';

const T0 = Date.parse('2026-05-01T12:00:00.000Z');
const fixture = (name: string) => readFileSync(path.join(FIXTURES_DIR, name));

const key = waKey;

function linkedCreds(): AuthenticationCreds {
  const creds = initAuthCreds();
  creds.me = { ...ME };
  creds.account = { details: Buffer.from([1, 2]), accountSignatureKey: Buffer.alloc(32, 1), accountSignature: Buffer.alloc(64, 2) };
  return creds;
}

/**
 * WhatsApp's media CDN on 127.0.0.1: serves encrypted files by path; a path may answer 410 Gone
 * (an expired link) or 500. Messages name it in `url` without a directPath, so Baileys' real
 * downloadMediaMessage fetches from here.
 */
class MediaServer {
  readonly files = new Map<string, Buffer>();
  readonly status = new Map<string, number>();
  readonly requests: string[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      const status = this.status.get(req.url ?? '');
      const body = this.files.get(req.url ?? '');
      if (status || !body) {
        res.writeHead(status ?? 404).end();
        return;
      }
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Encrypts a file as WhatsApp's clients do and serves it at `at`; returns the message's media fields. */
  async publish(at: string, plain: Buffer, mediaType: 'image' | 'video' | 'audio' | 'document' | 'sticker') {
    const enc = await encryptedStream(plain, mediaType, { logger });
    this.files.set(at, await readFile(enc.encFilePath));
    await unlink(enc.encFilePath);
    return { url: `${this.url}${at}`, mediaKey: enc.mediaKey, fileEncSha256: enc.fileEncSha256, fileSha256: enc.fileSha256, fileLength: enc.fileLength };
  }
}

const readAll = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

describe('Baileys driver: media', () => {
  let t: TestDb;
  const cdn = new MediaServer();
  beforeAll(async () => {
    t = await openTestDb('embedded');
    await cdn.start();
  });
  afterAll(async () => {
    await cdn.stop();
    await t?.close();
  });

  async function open(options: { open?: boolean } = {}) {
    const sockets: FakeWhatsAppSocket[] = [];
    const driver = createBaileysDriver({
      db: t.db,
      logger,
      version: [2, 3000, 1023223821],
      browser: ['macOS', 'Desktop'],
      getMessage: async () => undefined,
      makeSocket: (config) => {
        const socket = new FakeWhatsAppSocket(config);
        socket.mediaBaseUrl = cdn.url;
        sockets.push(socket);
        return socket;
      },
      clock: { now: () => new Date(T0) },
    });
    const { tenantId, sessionId } = newSession();
    const fence = await grantLease(t.db);
    await createAuthStateStore({ db: t.db, tenantId, sessionId, fence }).saveCreds(linkedCreds());
    const listener = listenerRecorder();
    const connection: WhatsAppConnection = await driver.connect({ tenantId, sessionId, fence, pairingPhone: null, listener, logger });
    const sock = sockets[0]!;
    if (options.open !== false) sock.open();
    const reported = () => listener.onEvents.mock.calls.flatMap(([events]) => events);
    return { connection, sock, reported };
  }

  /** An inbound media message as WhatsApp delivers it (content fields of `type`), JSON-safe as WaMessage.raw. */
  const inbound = (id: string, type: string, content: Record<string, unknown>) => {
    const message = proto.WebMessageInfo.fromObject({ key: { remoteJid: PEER, fromMe: false, id }, messageTimestamp: T0 / 1000, message: { [type]: content } }) as WAMessage;
    return { key: key(id), raw: toRaw(message) };
  };

  it('downloads with Baileys’ downloadMediaMessage: the decrypted bytes, identical to the file', async () => {
    const { connection, sock } = await open();
    const photo = fixture('photo.jpg');
    const media = await cdn.publish('/v/photo-1', photo, 'image');
    const stream = await connection.downloadMedia(inbound('img-1', 'imageMessage', { ...media, mimetype: 'image/jpeg' }), { maxBytes: 1 << 20 });
    expect((await readAll(stream)).equals(photo)).toBe(true);
    expect(sock.updateMediaMessage).not.toHaveBeenCalled();

    const voice = fixture('voice.ogg');
    const audio = await cdn.publish('/v/voice-1', voice, 'audio');
    const again = await connection.downloadMedia(inbound('ptt-1', 'audioMessage', { ...audio, mimetype: 'audio/ogg; codecs=opus', ptt: true }), { maxBytes: 1 << 20 });
    expect((await readAll(again)).equals(voice)).toBe(true);
    await connection.close();
  });

  it('asks the phone to upload an expired file again (410), then downloads it from its new place', async () => {
    const { connection, sock } = await open();
    const video = fixture('video.mp4');
    const media = await cdn.publish('/v/video-new', video, 'video');
    cdn.status.set('/v/video-old', 410);
    sock.reupload = (message) => {
      // messages.media-update gives the new path; Baileys writes it into the message.
      message.message!.videoMessage!.url = media.url;
      return message;
    };
    const stream = await connection.downloadMedia(inbound('vid-1', 'videoMessage', { ...media, url: `${cdn.url}/v/video-old`, mimetype: 'video/mp4' }), {
      maxBytes: 1 << 20,
    });
    expect((await readAll(stream)).equals(video)).toBe(true);
    expect(sock.updateMediaMessage).toHaveBeenCalledTimes(1);
    expect(sock.updateMediaMessage.mock.calls[0]![0].key).toEqual({ remoteJid: PEER, fromMe: false, id: 'vid-1' });
    expect(cdn.requests.filter((r) => r.startsWith('/v/video-'))).toEqual(['/v/video-old', '/v/video-new']);
    await connection.close();
  });

  it('fails in words the media jobs act on: retryable (server error, the re-upload too failed), final (no media), too large, not connected', async () => {
    const { connection, sock } = await open();
    const doc = await cdn.publish('/v/doc', fixture('document.pdf'), 'document');
    cdn.status.set('/v/broken', 500);
    await expect(connection.downloadMedia(inbound('d-1', 'documentMessage', { ...doc, url: `${cdn.url}/v/broken`, mimetype: 'application/pdf' }), { maxBytes: 1 << 20 })).rejects.toMatchObject({
      name: 'MediaDownloadError',
      reason: 'download_failed_500',
      retryable: true,
    });
    // Gone, and the phone's new copy is gone too.
    cdn.status.set('/v/gone', 410);
    sock.reupload = (message) => message;
    await expect(connection.downloadMedia(inbound('d-2', 'documentMessage', { ...doc, url: `${cdn.url}/v/gone`, mimetype: 'application/pdf' }), { maxBytes: 1 << 20 })).rejects.toMatchObject({
      name: 'MediaDownloadError',
      reason: 'download_failed_410',
      retryable: true,
    });
    expect(sock.updateMediaMessage).toHaveBeenCalledTimes(1);
    await expect(connection.downloadMedia(inbound('t-1', 'conversation', {} as never), { maxBytes: 1 << 20 })).rejects.toMatchObject({
      name: 'MediaDownloadError',
      retryable: false,
    });
    await expect(connection.downloadMedia({ key: key('t-2'), raw: { key: { id: 't-2' }, message: { conversation: 'hola' } } }, { maxBytes: 1 << 20 })).rejects.toMatchObject({
      reason: 'not_downloadable',
      retryable: false,
    });

    const big = await connection.downloadMedia(inbound('d-3', 'documentMessage', { ...doc, mimetype: 'application/pdf' }), { maxBytes: 100 });
    await expect(readAll(big)).rejects.toBeInstanceOf(MediaTooLargeError);
    await connection.close();
    await expect(connection.downloadMedia(inbound('d-4', 'documentMessage', { ...doc, mimetype: 'application/pdf' }), { maxBytes: 1 << 20 })).rejects.toMatchObject({
      name: 'WhatsAppCommandError',
      reason: 'not_connected',
    });
  });

  const upload = (kind: OutboundMedia['kind'], mime: string, over: Partial<OutboundMedia> = {}): OutboundMedia => ({
    kind,
    mime,
    fileName: null,
    storageKey: `tenants/t/uploads/u/${kind}`,
    ptt: false,
    size: null,
    width: null,
    height: null,
    duration: null,
    ...over,
  });

  it('turns a media send into the exact content Baileys sends: stream, mimetype, caption only where WhatsApp shows one, voice notes as ptt', () => {
    const stream = Readable.from([Buffer.from('x')]);
    const send = (media: OutboundMedia, text: string | null): WhatsAppCommand => ({ kind: 'send', requestId: 'r', to: PEER, text, quoted: null, forward: null, media });
    const content = (media: OutboundMedia, text: string | null) => {
      const call = toSocketCall(send(media, text), { media: stream });
      if (call.method !== 'sendMessage') throw new Error('expected a send');
      return call.content;
    };
    expect(content(upload('image', 'image/jpeg', { width: 320, height: 240 }), 'Foto')).toEqual({ image: { stream }, mimetype: 'image/jpeg', caption: 'Foto', width: 320, height: 240 });
    expect(content(upload('video', 'video/mp4', { width: 160, height: 120, duration: 2 }), null)).toEqual({ video: { stream }, mimetype: 'video/mp4', width: 160, height: 120 });
    expect(content(upload('document', 'application/pdf', { fileName: 'invoice.pdf' }), 'the invoice')).toEqual({
      document: { stream },
      mimetype: 'application/pdf',
      fileName: 'invoice.pdf',
      caption: 'the invoice',
    });
    expect(content(upload('sticker', 'image/webp', { width: 512, height: 512 }), 'ignored')).toEqual({ sticker: { stream }, mimetype: 'image/webp', width: 512, height: 512 });
    expect(content(upload('audio', 'audio/ogg; codecs=opus', { ptt: true, duration: 2.9 }), null)).toEqual({
      audio: { stream },
      mimetype: 'audio/ogg; codecs=opus',
      ptt: true,
      seconds: 3,
    });
    expect(content(upload('audio', 'audio/mpeg'), null)).toEqual({ audio: { stream }, mimetype: 'audio/mpeg', ptt: false });
    expect(() => toSocketCall(send(upload('image', 'image/jpeg'), null))).toThrow(expect.objectContaining({ name: 'WhatsAppCommandError', reason: 'invalid_command' }));
  });

  it('sends media through the socket: the exact call, the upload WhatsApp gets decrypts to the file, one upsert with the requestId', async () => {
    const { connection, sock, reported } = await open();
    const photo = fixture('photo.jpg');
    const media = upload('image', 'image/jpeg', { width: 320, height: 240, size: photo.length });
    const stream = Readable.from([photo.subarray(0, 1000), photo.subarray(1000)]);
    const result = await connection.execute({ kind: 'send', requestId: 'req-m1', to: PEER, text: 'Foto', quoted: null, forward: null, media }, { media: stream });
    expect(sock.sendMessage).toHaveBeenCalledWith(
      PEER,
      { image: { stream }, mimetype: 'image/jpeg', caption: 'Foto', width: 320, height: 240 },
      { messageId: expect.any(String) },
    );
    expect(result.message).toMatchObject({
      key: { fromMe: true, remoteJid: PEER },
      type: 'imageMessage',
      text: 'Foto',
      status: 'sent',
      media: { kind: 'image', mime: 'image/jpeg', size: photo.length, width: 320, height: 240 },
    });
    expect(sock.uploads).toHaveLength(1);
    // What WhatsApp's CDN got is what a recipient downloads: serve it and fetch it back.
    cdn.files.set(new URL(sock.uploads[0]!.url).pathname, sock.uploads[0]!.encrypted);
    const back = await connection.downloadMedia({ key: result.message!.key, raw: result.message!.raw }, { maxBytes: 1 << 20 });
    expect((await readAll(back)).equals(photo)).toBe(true);

    await vi.waitFor(() => expect(reported().filter((e: WhatsAppEvent) => e.kind === 'messages.upsert')).toHaveLength(1));
    expect(reported().find((e) => e.kind === 'messages.upsert')).toMatchObject({ requestId: 'req-m1', upsertType: 'append', messages: [{ key: result.message!.key }] });

    const voice = fixture('voice.ogg');
    const note = await connection.execute(
      { kind: 'send', requestId: 'req-m2', to: PEER, text: null, quoted: null, forward: null, media: upload('audio', 'audio/ogg; codecs=opus', { ptt: true, duration: 3 }) },
      { media: Readable.from([voice]) },
    );
    expect(sock.sendMessage).toHaveBeenLastCalledWith(PEER, { audio: expect.any(Object), mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 3 }, { messageId: expect.any(String) });
    expect(note.message).toMatchObject({ type: 'audioMessage', text: null, media: { kind: 'audio', mime: 'audio/ogg; codecs=opus', duration: 3, size: voice.length } });
    expect((note.message!.raw as { message: { audioMessage: { ptt: boolean } } }).message.audioMessage.ptt).toBe(true);
    await connection.close();
  });
});
