import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { findMediaUpload, S3MediaStorage } from '../../src/modules/media/index.js';
import { eventually, signUpAndLogin } from '../support/clients.js';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Mode } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { startTestS3, type TestS3 } from './s3-server.js';
import { fixture, json, paddedMp4, postMedia, sha256 } from './support.js';

type Storage = 's3' | 'local';
const SETUPS: { storage: Storage; mode: Mode }[] = [
  { storage: 's3', mode: 'real' },
  { storage: 'local', mode: 'real' },
  { storage: 's3', mode: 'embedded' },
  { storage: 'local', mode: 'embedded' },
];

interface Case {
  kind: string;
  file: string;
  name?: string;
  mime: string;
  width: number | null;
  height: number | null;
  duration: number | null;
}

/** Real files (test/fixtures/media), one per kind and format, with what ffprobe says of them. */
const CASES: Case[] = [
  { kind: 'image', file: 'photo.jpg', mime: 'image/jpeg', width: 320, height: 240, duration: null },
  { kind: 'image', file: 'image.png', mime: 'image/png', width: 64, height: 32, duration: null },
  { kind: 'image', file: 'sticker.webp', name: 'picture.webp', mime: 'image/webp', width: 512, height: 512, duration: null },
  { kind: 'video', file: 'video.mp4', mime: 'video/mp4', width: 160, height: 120, duration: 2 },
  // moov after mdat, display matrix turned a quarter: shown 120x160.
  { kind: 'video', file: 'upload-rotated-moov-last.mp4', mime: 'video/mp4', width: 120, height: 160, duration: 3 },
  { kind: 'audio', file: 'voice.ogg', mime: 'audio/ogg; codecs=opus', width: null, height: null, duration: 3 },
  { kind: 'audio', file: 'upload-audio.mp3', mime: 'audio/mpeg', width: null, height: null, duration: 1.071 },
  { kind: 'audio', file: 'upload-audio.m4a', mime: 'audio/x-m4a', width: null, height: null, duration: 2 },
  { kind: 'document', file: 'document.pdf', name: 'Invoice 2026 (final).pdf', mime: 'application/pdf', width: null, height: null, duration: null },
  { kind: 'document', file: 'photo.jpg', name: 'scan.jpg', mime: 'image/jpeg', width: null, height: null, duration: null },
  { kind: 'sticker', file: 'sticker.webp', mime: 'image/webp', width: 512, height: 512, duration: null },
];

describe.each(SETUPS)('POST /media ($storage storage, $mode)', ({ storage, mode }) => {
  let s3: TestS3 | undefined;
  let wahub: TestWahub;
  let alice: Awaited<ReturnType<typeof signUpAndLogin>>;
  let bob: Awaited<ReturnType<typeof signUpAndLogin>>;

  beforeAll(async () => {
    s3 = storage === 's3' ? await startTestS3() : undefined;
    wahub = await startTestWahub(mode, { WA_DRIVER: 'simulator', ...(s3?.env ?? {}) });
    alice = await signUpAndLogin(wahub, 'alice');
    bob = await signUpAndLogin(wahub, 'bob');
  });
  afterAll(async () => {
    await wahub?.stop();
    await s3?.stop();
  });

  /** The stored object's bytes, read the way a client would: public URL (S3) or the API with a token (local). */
  async function fetchStored(url: string, token = alice.accessToken): Promise<Response> {
    if (storage === 's3') return fetch(url);
    expect(url.startsWith('/media/files/tenants/')).toBe(true);
    return fetch(wahub.url + url, { headers: { authorization: `Bearer ${token}` } });
  }

  async function storedKeys(tenantId: string): Promise<string[]> {
    if (s3) return s3.keys(`tenants/${tenantId}/`);
    const rows = await wahub.resources.db.query<{ storage_key: string }>(`select storage_key from media_uploads where tenant_id = $1`, [tenantId]);
    const keys: string[] = [];
    for (const { storage_key } of rows) keys.push(storage_key);
    return keys;
  }

  it.each(CASES)('$kind $file → $mime', async (c) => {
    const bytes = fixture(c.file);
    const name = c.name ?? c.file;
    const res = await postMedia(wahub.url, alice.accessToken, { kind: c.kind, file: { name, bytes, type: 'application/x-whatever' } });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(Object.keys(body).sort()).toEqual(['duration', 'height', 'id', 'kind', 'mime', 'size', 'url', 'width']);
    expect(body).toMatchObject({ kind: c.kind, mime: c.mime, size: bytes.length, width: c.width, height: c.height, duration: c.duration });
    const safeName = name.replace(/[^A-Za-z0-9._-]+/g, '_');
    const key = `tenants/${alice.tenantId}/uploads/${body.id}/${safeName}`;
    expect(body.url).toBe(storage === 's3' ? `${s3!.endpoint}/${s3!.bucket}/${key}` : `/media/files/${key}`);

    // Byte-identical at its URL, with the detected content type.
    const stored = await fetchStored(body.url);
    expect(stored.status).toBe(200);
    expect(stored.headers.get('content-type')).toBe(c.mime);
    expect(Buffer.from(await stored.arrayBuffer()).equals(bytes)).toBe(true);

    // What the sending side reads back.
    const upload = await findMediaUpload(wahub.resources.db, alice.tenantId, body.id);
    expect(upload).toMatchObject({ id: body.id, tenantId: alice.tenantId, sessionId: null, kind: c.kind, key, mime: c.mime, size: bytes.length, fileName: safeName, sha256: sha256(bytes) });
    const chunks: Buffer[] = [];
    for await (const chunk of await wahub.resources.mediaStorage.get(key)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    if (s3) {
      const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      expect(object.ContentType).toBe(c.mime);
    }
  });

  it('reads the type from the bytes: PDF bytes named photo.jpg are not an image (400), and nothing is kept', async () => {
    const before = await storedKeys(alice.tenantId);
    for (const order of ['fields-first', 'file-first'] as const) {
      const res = await postMedia(wahub.url, alice.accessToken, { kind: 'image', order, file: { name: 'photo.jpg', bytes: fixture('document.pdf'), type: 'image/jpeg' } });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await json(res)).toMatchObject({ code: 'media_type_mismatch', kind: 'image', detectedMime: 'application/pdf' });
    }
    expect(await storedKeys(alice.tenantId)).toEqual(before);
  });

  it('refuses a kind its bytes do not fit: a PNG sticker, an MP4 voice note with video, a JPEG video, text as image', async () => {
    const refused: [string, Buffer][] = [
      ['sticker', fixture('image.png')],
      ['sticker', fixture('photo.jpg')],
      ['audio', fixture('video.mp4')],
      ['video', fixture('photo.jpg')],
      ['video', fixture('upload-audio.m4a')],
      ['image', Buffer.from('just some text, no magic bytes at all')],
    ];
    for (const [kind, bytes] of refused) {
      const res = await postMedia(wahub.url, alice.accessToken, { kind, file: { name: 'x', bytes } });
      expect(res.status, kind).toBe(400);
      expect((await json(res)).code).toBe('media_type_mismatch');
    }
  });

  it('takes kind after the file too (curl -F file=@… -F kind=…)', async () => {
    const bytes = fixture('photo.jpg');
    const res = await postMedia(wahub.url, alice.accessToken, { kind: 'image', order: 'file-first', file: { name: 'p.jpg', bytes } });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ kind: 'image', mime: 'image/jpeg', width: 320, height: 240 });
  });

  it('answers 400 without a file, without a kind, with an unknown kind, an empty file, or a body that is not multipart', async () => {
    const noFile = await postMedia(wahub.url, alice.accessToken, { kind: 'image' });
    expect(noFile.status).toBe(400);
    expect((await json(noFile)).code).toBe('file_required');

    const noKind = await postMedia(wahub.url, alice.accessToken, { file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
    expect(noKind.status).toBe(400);
    expect(await json(noKind)).toMatchObject({ code: 'validation_failed', errors: [{ path: 'kind' }] });

    const unknownKind = await postMedia(wahub.url, alice.accessToken, { kind: 'gif', file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
    expect(unknownKind.status).toBe(400);
    expect(await json(unknownKind)).toMatchObject({ code: 'validation_failed', errors: [{ path: 'kind' }] });

    const empty = await postMedia(wahub.url, alice.accessToken, { kind: 'document', file: { name: 'empty.txt', bytes: new Uint8Array() } });
    expect(empty.status).toBe(400);
    expect((await json(empty)).code).toBe('file_empty');

    const notMultipart = await wahub.request('POST', '/media', { token: alice.accessToken, body: { kind: 'image' } });
    expect(notMultipart.status).toBe(400);
    expect((await json(notMultipart)).code).toBe('multipart_required');

    const broken = await fetch(`${wahub.url}/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="kind"\r\n\r\nimage\r\n--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n\xff\xd8\xff',
    });
    expect(broken.status).toBe(400);
  });

  it('needs a bearer token', async () => {
    const res = await postMedia(wahub.url, undefined, { kind: 'image', file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
    expect(res.status).toBe(401);
  });

  it("records the tenant's session; an unknown or another tenant's session is 404, a malformed one 400", async () => {
    const created = await wahub.request('POST', '/sessions', { token: alice.accessToken });
    expect(created.status).toBe(201);
    const { session } = await json(created);
    const res = await postMedia(wahub.url, alice.accessToken, { kind: 'image', sessionId: session.id, file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
    expect(res.status).toBe(201);
    const { id } = await json(res);
    expect((await findMediaUpload(wahub.resources.db, alice.tenantId, id))?.sessionId).toBe(session.id);

    for (const order of ['fields-first', 'file-first'] as const) {
      const unknown = await postMedia(wahub.url, alice.accessToken, { kind: 'image', order, sessionId: randomUUID(), file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
      expect(unknown.status).toBe(404);
      expect((await json(unknown)).code).toBe('session_not_found');
      const others = await postMedia(wahub.url, bob.accessToken, { kind: 'image', order, sessionId: session.id, file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
      expect(others.status).toBe(404);
    }
    expect(await storedKeys(bob.tenantId)).toEqual([]);
    const malformed = await postMedia(wahub.url, alice.accessToken, { kind: 'image', sessionId: 'nope', file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ code: 'validation_failed', errors: [{ path: 'sessionId' }] });
  });

  it('keeps tenants apart: another tenant cannot read the upload back, nor its local file', async () => {
    const bytes = fixture('photo.jpg');
    const res = await postMedia(wahub.url, alice.accessToken, { kind: 'image', file: { name: 'private.jpg', bytes } });
    const body = await json(res);
    expect(await findMediaUpload(wahub.resources.db, bob.tenantId, body.id)).toBeUndefined();
    expect(await findMediaUpload(wahub.resources.db, alice.tenantId, 'not-a-uuid')).toBeUndefined();
    if (storage === 'local') {
      const asBob = await fetchStored(body.url, bob.accessToken);
      expect(asBob.status).toBe(404);
      expect((await json(asBob)).code).toBe('media_file_not_found');
      const anonymous = await fetch(wahub.url + body.url);
      expect(anonymous.status).toBe(401);
      const missing = await fetchStored(body.url.replace('private.jpg', 'other.jpg'));
      expect(missing.status).toBe(404);
      // No way out of the tenant's folder, encoded or not.
      for (const sneaky of [
        `/media/files/tenants/${alice.tenantId}/../${bob.tenantId}/x`,
        `/media/files/tenants/${alice.tenantId}/%2e%2e/%2e%2e/jwt-secret`,
        `/media/files/tenants/${alice.tenantId}/..%2f..%2f..%2fjwt-secret`,
        `/media/files/tenants/${alice.tenantId}/.meta/x`,
      ]) {
        const r = await fetch(wahub.url + sneaky, { headers: { authorization: `Bearer ${alice.accessToken}` } });
        expect(r.status, sneaky).toBe(404);
      }
    } else {
      // S3/R2 URLs are public-bucket URLs (as in the seed): anyone with the URL reads the file.
      expect((await fetch(body.url)).status).toBe(200);
    }
  });
});

describe.each(['s3', 'local'] as const)('POST /media limits (%s storage)', (storage) => {
  let s3: TestS3 | undefined;
  let wahub: TestWahub;
  let token: string;
  let tenantId: string;
  const MIB = 1024 * 1024;

  beforeAll(async () => {
    s3 = storage === 's3' ? await startTestS3() : undefined;
    wahub = await startTestWahub('embedded', {
      ...(s3?.env ?? {}),
      // Small limits, and a global body limit far below them: POST /media is not bound by it.
      BODY_LIMIT_BYTES: '4096',
      MEDIA_IMAGE_MAX_BYTES: '5000',
      MEDIA_STICKER_MAX_BYTES: '3000',
      MEDIA_VIDEO_MAX_BYTES: String(12 * MIB),
      MEDIA_MAX_BYTES: String(30 * MIB),
    });
    ({ accessToken: token, tenantId } = await signUpAndLogin(wahub, 'limits'));
  });
  afterAll(async () => {
    await wahub?.stop();
    await s3?.stop();
  });

  const keys = async () => (s3 ? s3.keys(`tenants/${tenantId}/`) : []);

  it('413 media_too_large past the limit of the kind, wherever kind comes, and nothing is kept', async () => {
    for (const order of ['fields-first', 'file-first'] as const) {
      const res = await postMedia(wahub.url, token, { kind: 'image', order, file: { name: 'p.jpg', bytes: fixture('photo.jpg') } });
      expect(res.status, order).toBe(413);
      expect(await json(res)).toMatchObject({ code: 'media_too_large', limit: 5000 });
      const sticker = await postMedia(wahub.url, token, { kind: 'sticker', order, file: { name: 's.webp', bytes: fixture('sticker.webp') } });
      expect(sticker.status).toBe(413);
    }
    expect(await keys()).toEqual([]);
    const rows = await wahub.resources.db.query(`select 1 from media_uploads where tenant_id = $1`, [tenantId]);
    expect(rows).toHaveLength(0);
  });

  it('streams a file above the global body limit and above one multipart part (20 MiB video), byte-identical', async () => {
    const bytes = paddedMp4(20 * MIB, fixture('video.mp4'));
    const res = await postMedia(wahub.url, token, { kind: 'document', file: { name: 'big.mp4', bytes } });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ kind: 'document', mime: 'video/mp4', size: bytes.length });
    const upload = await findMediaUpload(wahub.resources.db, tenantId, body.id);
    expect(upload?.sha256).toBe(sha256(bytes));
    const chunks: Buffer[] = [];
    for await (const chunk of await wahub.resources.mediaStorage.get(upload!.key)) chunks.push(chunk as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(bytes));
    await wahub.resources.mediaStorage.deletePrefix(`tenants/${tenantId}/`);
  });

  it('aborts a multipart upload that passes the limit midway (20 MiB video, 12 MiB limit): no object is left', async () => {
    // What the adapter asks of S3 (s3rver implements neither AbortMultipartUpload nor
    // ListMultipartUploads, so the abort is checked on the client's side).
    const sent: string[] = [];
    if (wahub.resources.mediaStorage instanceof S3MediaStorage) {
      wahub.resources.mediaStorage.client.middlewareStack.add(
        (next, context) => async (args) => {
          sent.push(context.commandName ?? '?');
          return next(args);
        },
        { step: 'initialize', name: 'recordCommands' },
      );
    }
    const bytes = paddedMp4(20 * MIB, fixture('video.mp4'));
    for (const order of ['fields-first', 'file-first'] as const) {
      sent.length = 0;
      // fields first: refused while streaming, at 12 MiB (one 8 MiB part already sent to S3).
      // file first: streamed under the largest limit (30 MiB), then checked against video's and deleted.
      const res = await postMedia(wahub.url, token, { kind: 'video', order, file: { name: 'big.mp4', bytes } });
      expect(res.status, order).toBe(413);
      expect(await json(res)).toMatchObject({ code: 'media_too_large', limit: 12 * MIB, kind: 'video' });
      expect(await keys()).toEqual([]);
      if (storage === 's3' && order === 'fields-first') {
        expect(sent).toContain('CreateMultipartUploadCommand');
        expect(sent).toContain('AbortMultipartUploadCommand');
        expect(sent).not.toContain('CompleteMultipartUploadCommand');
      }
      if (storage === 's3' && order === 'file-first') {
        expect(sent).toContain('CompleteMultipartUploadCommand');
        expect(sent).toContain('DeleteObjectsCommand');
      }
    }
    wahub.resources.mediaStorage instanceof S3MediaStorage && wahub.resources.mediaStorage.client.middlewareStack.remove('recordCommands');
  });

  it('refuses a declared body far above the largest limit before reading it', async () => {
    const url = new URL(`${wahub.url}/media`);
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=xyz', 'content-length': String(200 * MIB) },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: text });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write('--xyz\r\n');
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).code).toBe('media_too_large');
    expect(await keys()).toEqual([]);
  });

  it('a client that goes away midway leaves nothing behind (no temporary file, no object, no row)', async () => {
    const rows = async () => (await wahub.resources.db.query(`select 1 from media_uploads where tenant_id = $1`, [tenantId])).length;
    const rowsBefore = await rows();
    const url = new URL(`${wahub.url}/media`);
    const boundary = 'cutshort';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndocument\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.pdf"\r\n\r\n`;
    await new Promise<void>((resolve) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(20 * MIB) },
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.write(head);
      req.write(fixture('document.pdf'));
      req.write(Buffer.alloc(9 * MIB, 1));
      // Gone after sending part of the file: the server has started storing it by then.
      setTimeout(() => req.destroy(), 500);
    });
    const tmp = path.join(wahub.resources.config.dataDir, 'media', '.tmp');
    await eventually(async () => (existsSync(tmp) ? readdirSync(tmp).length === 0 : true), 10_000);
    expect(await keys()).toEqual([]);
    expect(await rows()).toBe(rowsBefore);
    // And the API goes on.
    const res = await postMedia(wahub.url, token, { kind: 'document', file: { name: 'd.pdf', bytes: fixture('document.pdf') } });
    expect(res.status).toBe(201);
    await wahub.resources.mediaStorage.deletePrefix(`tenants/${tenantId}/`);
  });

  it('other routes keep BODY_LIMIT_BYTES', async () => {
    const res = await wahub.request('POST', '/auth/login', { body: { email: 'x@example.com', password: 'y'.repeat(5000) } });
    expect(res.status).toBe(413);
  });
});
