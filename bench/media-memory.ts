/**
 * Memory of uploading a large video: POST /media with a generated 100 MB "video" (the ftyp and moov
 * of a real MP4, then an mdat of filler), and the API process's resident memory before and at its
 * peak during the upload. Run by hand (not part of npm test):
 *
 *   npx tsx bench/media-memory.ts            # local disk (DATA_DIR/media)
 *   npx tsx bench/media-memory.ts --s3       # S3 through an s3rver started here (in this process)
 *   npx tsx bench/media-memory.ts --size=200 --file-first
 *
 * wahub runs in a child process of its own (the one composition root, embedded PGlite, all roles,
 * its own temporary DATA_DIR), so only its memory is measured; this process streams the multipart
 * body from a generator and never holds the file either. The child samples its RSS every 10 ms and
 * also reports the kernel's peak (resourceUsage().maxRSS).
 */
import { MIB, startMemoryChild } from './lib/memory-child.js';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';


const here = path.dirname(fileURLToPath(import.meta.url));

type ToChild = { type: 'signup' } | { type: 'mark' } | { type: 'report' } | { type: 'stop' };
type FromChild =
  | { type: 'ready'; url: string }
  | { type: 'token'; token: string }
  | { type: 'marked'; rss: number }
  | { type: 'report'; peakRss: number; maxRss: number; rss: number; heapUsed: number; external: number; arrayBuffers: number };

// ---------------------------------------------------------------- child: the wahub under test
async function child(): Promise<void> {
  const { startWahub } = await import('../src/app/wahub.js');
  const { loadConfig } = await import('../src/platform/config.js');
  const env = JSON.parse(process.env.MEDIA_BENCH_ENV ?? '{}') as Record<string, string>;
  const wahub = await startWahub(loadConfig(env));
  const send = (m: FromChild) => process.send!(m);
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  process.on('message', async (m: ToChild) => {
    if (m.type === 'signup') {
      const email = `bench-${Date.now()}@example.com`;
      const password = 'correct horse battery staple';
      const res = await fetch(`${wahub.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, name: 'bench' }) });
      const user = (await res.json()) as { id: string };
      await wahub.resources.db.query(`update users set email_verified_at = now() where id = $1`, [user.id]);
      const login = await fetch(`${wahub.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
      send({ type: 'token', token: ((await login.json()) as { accessToken: string }).accessToken });
    } else if (m.type === 'mark') {
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((r) => setTimeout(r, 200));
      peak = process.memoryUsage.rss();
      send({ type: 'marked', rss: peak });
    } else if (m.type === 'report') {
      const u = process.memoryUsage();
      send({ type: 'report', peakRss: peak, maxRss: process.resourceUsage().maxRSS * 1024, rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers });
    } else if (m.type === 'stop') {
      clearInterval(sampler);
      await wahub.stop();
      process.exit(0);
    }
  });
  send({ type: 'ready', url: wahub.url! });
}

// ---------------------------------------------------------------- parent: the client
function videoHead(): Buffer {
  const mp4 = readFileSync(path.join(here, '..', 'test', 'fixtures', 'media', 'video.mp4'));
  const kept: Buffer[] = [];
  for (let offset = 0; offset + 8 <= mp4.length; ) {
    const size = mp4.readUInt32BE(offset);
    if (mp4.toString('latin1', offset + 4, offset + 8) !== 'mdat') kept.push(mp4.subarray(offset, offset + size));
    offset += size;
  }
  return Buffer.concat(kept);
}

/** Streams a multipart body (kind, file) of a `size`-byte MP4 to POST /media; resolves with the answer. */
function upload(url: string, token: string, size: number, fileFirst: boolean): Promise<{ status: number; body: string; ms: number }> {
  const boundary = `----wahubbench${Date.now()}`;
  const kindPart = `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nvideo\r\n`;
  const fileHeader = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
  const head = videoHead();
  const mdat = Buffer.alloc(8);
  mdat.writeUInt32BE(size - head.length, 0);
  mdat.write('mdat', 4, 'latin1');
  const before = fileFirst ? fileHeader : kindPart + fileHeader;
  const after = fileFirst ? `\r\n${kindPart}--${boundary}--\r\n` : `\r\n--${boundary}--\r\n`;
  const length = Buffer.byteLength(before) + size + Buffer.byteLength(after);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const target = new URL('/media', url);
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': length } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    const filler = Buffer.alloc(MIB, 0x5a);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        let chunk: Buffer;
        if (sent === 0) chunk = Buffer.concat([Buffer.from(before), head, mdat]);
        else chunk = filler.subarray(0, Math.min(MIB, size - sent));
        sent += sent === 0 ? head.length + mdat.length : chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end(after);
    };
    pump();
  });
}

async function parent(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const useS3 = args.has('--s3');
  const fileFirst = args.has('--file-first');
  const sizeArg = [...args].find((a) => a.startsWith('--size='));
  const size = Math.round(Number(sizeArg?.slice(7) ?? 100) * 1_000_000);
  const child = await startMemoryChild<FromChild>(import.meta.url, {
    dataDirPrefix: 'wahub-media-bench-',
    env: { MEDIA_MAX_BYTES: String(2000 * MIB), MEDIA_VIDEO_MAX_BYTES: String(2000 * MIB) },
    useS3,
  });
  const { proc, next } = child;
  const ask = <T extends FromChild['type']>(message: ToChild, type: T) => {
    const answer = next(type);
    proc.send(message);
    return answer;
  };
  try {
    const { url } = await next('ready');
    const { token } = await ask({ type: 'signup' }, 'token');
    // Warm up: every module the route loads (busboy, file-type, the probes, the S3 client) and its buffers.
    const warm = await upload(url, token, 2 * MIB, fileFirst);
    if (warm.status !== 201) throw new Error(`warm-up upload: ${warm.status} ${warm.body}`);
    const { rss: before } = await ask({ type: 'mark' }, 'marked');
    const result = await upload(url, token, size, fileFirst);
    const report = await ask({ type: 'report' }, 'report');
    if (result.status !== 201) throw new Error(`upload: ${result.status} ${result.body}`);
    const mb = (n: number) => `${(n / MIB).toFixed(1)} MiB`;
    console.log(
      JSON.stringify(
        {
          storage: useS3 ? 's3 (s3rver)' : 'local disk',
          order: fileFirst ? 'file before kind' : 'kind before file',
          fileBytes: size,
          seconds: +(result.ms / 1000).toFixed(2),
          throughputMBps: +(size / 1e6 / (result.ms / 1000)).toFixed(1),
          answer: JSON.parse(result.body),
          rssBefore: mb(before),
          rssPeakDuringUpload: mb(report.peakRss),
          rssGrowth: mb(report.peakRss - before),
          kernelMaxRssSinceStart: mb(report.maxRss),
          heapUsedAfter: mb(report.heapUsed),
          arrayBuffersAfter: mb(report.arrayBuffers),
        },
        null,
        2,
      ),
    );
  } finally {
    await child.stop();
  }
}

if (process.env.MEDIA_BENCH_CHILD) void child();
else
  parent().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
