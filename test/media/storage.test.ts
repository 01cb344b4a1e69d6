import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalMediaStorage, S3MediaStorage, type MediaStorage } from '../../src/modules/media/index.js';
import { DomainError } from '../../src/shared/errors.js';
import { loadConfig, ConfigError } from '../../src/platform/config.js';
import { tempDir } from '../support/services.js';
import { startTestWahub } from '../support/wahub.js';
import { startTestS3, type TestS3 } from './s3-server.js';
import { json } from './support.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body that yields `good` bytes, then fails as a client that goes away would. */
function failingBody(good: number): Readable {
  return Readable.from(
    (async function* () {
      for (let sent = 0; sent < good; sent += 1024 * 1024) yield Buffer.alloc(Math.min(1024 * 1024, good - sent), 7);
      throw new Error('client went away');
    })(),
  );
}

describe.each(['s3', 'local'] as const)('MediaStorage contract (%s)', (kind) => {
  let s3: TestS3 | undefined;
  let data: ReturnType<typeof tempDir>;
  let storage: MediaStorage;

  beforeAll(async () => {
    data = tempDir('wahub-media-');
    if (kind === 's3') {
      s3 = await startTestS3();
      storage = new S3MediaStorage({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        bucket: s3.bucket,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        forcePathStyle: true,
        publicBaseUrl: undefined,
        partSize: 5 * 1024 * 1024,
        queueSize: 1,
      });
    } else {
      storage = new LocalMediaStorage(data.dir);
    }
  });
  afterAll(async () => {
    storage.close?.();
    await s3?.stop();
    data.remove();
  });

  it('puts a stream, gets it back byte for byte, and deletes by prefix', async () => {
    const bytes = Buffer.from('hello media');
    const stored = await storage.put('tenants/t1/sessions/s1/messages/m%3A1/hello.txt', Readable.from([bytes]), { contentType: 'text/plain' });
    expect(stored).toMatchObject({ key: 'tenants/t1/sessions/s1/messages/m%3A1/hello.txt', size: bytes.length });
    expect(stored.url).toBe(storage.url(stored.key));
    // A key's `%` is encoded in its URL: the URL names the key, not a decoded form of it.
    expect(stored.url.endsWith('/tenants/t1/sessions/s1/messages/m%253A1/hello.txt')).toBe(true);
    expect((await readAll(await storage.get(stored.key))).equals(bytes)).toBe(true);
    await storage.put('tenants/t1/sessions/s2/messages/m2/b.bin', Readable.from([Buffer.alloc(10)]), { contentType: 'application/octet-stream' });
    await storage.deletePrefix('tenants/t1/sessions/s1/');
    await expect(storage.get(stored.key)).rejects.toMatchObject({ code: 'media_file_not_found' });
    expect((await readAll(await storage.get('tenants/t1/sessions/s2/messages/m2/b.bin'))).length).toBe(10);
    await storage.ping();
  });

  it('leaves nothing behind when the body fails midway (one part in, for S3)', async () => {
    const key = 'tenants/t2/uploads/u1/broken.bin';
    await expect(storage.put(key, failingBody(6 * 1024 * 1024), { contentType: 'application/octet-stream' })).rejects.toThrow('client went away');
    await expect(storage.get(key)).rejects.toMatchObject({ code: 'media_file_not_found' });
    if (kind === 'local') expect(readdirSync(path.join(data.dir, '.tmp'))).toEqual([]);
    if (s3) expect(await s3.keys('tenants/t2/')).toEqual([]);
  });
});

describe('LocalMediaStorage keys', () => {
  const data = tempDir('wahub-media-keys-');
  const storage = new LocalMediaStorage(path.join(data.dir, 'media'), 'https://api.example.com');
  afterAll(() => data.remove());

  it('refuses any key that could leave its folder or reach its own .tmp/.meta', async () => {
    for (const key of ['../x', 'tenants/../../x', 'tenants/a/./b', 'tenants//b', '/etc/passwd', 'tenants/a/..', '.tmp/x', 'tenants/.meta/x', 'tenants\\..\\x', 'a\0b', '']) {
      expect(() => storage.filePath(key), JSON.stringify(key)).toThrow(DomainError);
      await expect(storage.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })).rejects.toThrow(DomainError);
    }
    expect(existsSync(path.join(data.dir, 'x'))).toBe(false);
    expect(storage.filePath('tenants/a/b.jpg')).toBe(path.join(data.dir, 'media', 'tenants', 'a', 'b.jpg'));
  });

  it('makes URLs on the API: API_PUBLIC_URL + /media/files/<key>', () => {
    expect(storage.url('tenants/a/uploads/b/c d.jpg')).toBe('https://api.example.com/media/files/tenants/a/uploads/b/c%20d.jpg');
    expect(new LocalMediaStorage(data.dir).url('tenants/a/x.jpg')).toBe('/media/files/tenants/a/x.jpg');
  });
});

describe('S3MediaStorage URLs', () => {
  const base = { region: 'auto', bucket: 'anna-media', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: false, publicBaseUrl: undefined, endpoint: undefined };
  const key = 'tenants/tenant-1/sessions/session-1/messages/msg-3/photo.jpg';
  it('uses S3_PUBLIC_BASE_URL (R2 public bucket) as in the seed', () => {
    const r2 = new S3MediaStorage({ ...base, endpoint: 'https://acc.r2.cloudflarestorage.com', publicBaseUrl: 'https://anna-media.acc.r2.dev/' });
    expect(r2.url(key)).toBe(`https://anna-media.acc.r2.dev/${key}`);
    r2.close();
  });
  it('falls back to the bucket on the endpoint: path style, virtual-hosted, or AWS', () => {
    const pathStyle = new S3MediaStorage({ ...base, endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(pathStyle.url(key)).toBe(`http://127.0.0.1:9000/anna-media/${key}`);
    const hosted = new S3MediaStorage({ ...base, endpoint: 'https://acc.r2.cloudflarestorage.com' });
    expect(hosted.url(key)).toBe(`https://anna-media.acc.r2.cloudflarestorage.com/${key}`);
    const aws = new S3MediaStorage({ ...base, region: 'eu-west-1' });
    expect(aws.url(key)).toBe(`https://anna-media.s3.eu-west-1.amazonaws.com/${key}`);
    for (const s of [pathStyle, hosted, aws]) s.close();
  });
});

describe('media configuration', () => {
  it('S3 is on when S3_BUCKET is set, and then needs its region and keys', () => {
    expect(loadConfig({}).s3).toBeUndefined();
    try {
      loadConfig({ S3_BUCKET: 'media' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toMatch(/S3_REGION.*\n.*S3_ACCESS_KEY_ID.*\n.*S3_SECRET_ACCESS_KEY/);
    }
    expect(() => loadConfig({ S3_ENDPOINT: 'https://acc.r2.cloudflarestorage.com' })).toThrow(/S3_ENDPOINT: is set but S3_BUCKET is not/);
    const config = loadConfig({
      S3_BUCKET: 'media',
      S3_REGION: 'auto',
      S3_ENDPOINT: 'https://acc.r2.cloudflarestorage.com/',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_PUBLIC_BASE_URL: 'https://media.example.com/',
    });
    expect(config.s3).toEqual({
      endpoint: 'https://acc.r2.cloudflarestorage.com',
      region: 'auto',
      bucket: 'media',
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      forcePathStyle: false,
      publicBaseUrl: 'https://media.example.com',
    });
  });

  it('caps every per-kind upload limit with MEDIA_MAX_BYTES', () => {
    expect(loadConfig({}).mediaUploadMaxBytes).toEqual({ image: 16 * 2 ** 20, video: 100 * 2 ** 20, audio: 100 * 2 ** 20, document: 100 * 2 ** 20, sticker: 2 ** 20 });
    expect(loadConfig({ MEDIA_MAX_BYTES: '2000000' }).mediaUploadMaxBytes).toEqual({ image: 2000000, video: 2000000, audio: 2000000, document: 2000000, sticker: 2 ** 20 });
    expect(() => loadConfig({ MEDIA_IMAGE_MAX_BYTES: 'lots' })).toThrow(/MEDIA_IMAGE_MAX_BYTES/);
  });
});

describe('readiness with S3', () => {
  it('reports storage, and 503 when the S3 server is gone', async () => {
    const s3 = await startTestS3();
    const wahub = await startTestWahub('embedded', s3.env);
    try {
      const ready = await wahub.request('GET', '/ready');
      expect(ready.status).toBe(200);
      expect((await json(ready)).checks).toMatchObject({ postgres: 'ok', storage: 'ok' });
      await s3.stop();
      const down = await wahub.request('GET', '/ready');
      expect(down.status).toBe(503);
      expect((await json(down)).checks).toMatchObject({ storage: 'failing' });
    } finally {
      await wahub.stop();
    }
  });

  it('has no storage check on local disk', async () => {
    const wahub = await startTestWahub('embedded');
    try {
      expect(Object.keys((await json(await wahub.request('GET', '/ready'))).checks)).not.toContain('storage');
    } finally {
      await wahub.stop();
    }
  });
});
