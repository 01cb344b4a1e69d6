/**
 * Memory of RECEIVING a large video: the simulated phone sends a 100 MB video (the ftyp and moov of
 * a real MP4, then an mdat of filler), the worker's media job streams it from the phone's "CDN" into
 * media storage, and this reports the wahub process's resident memory before and at its peak while
 * the job ran. A text message sent while the video downloads shows the event path is not held up.
 * Run by hand (not part of npm test):
 *
 *   npx tsx bench/media-receive-memory.ts              # local disk (DATA_DIR/media)
 *   npx tsx bench/media-receive-memory.ts --s3         # S3 through an s3rver started in this process
 *   npx tsx bench/media-receive-memory.ts --size=200 --probe   # 200 MB, WhatsApp's metadata left out (probed)
 *
 * wahub runs in a child process (embedded PGlite, all roles, simulator driver, its own DATA_DIR), so
 * only its memory is measured. The file is written to the phone's stash before the mark (that is the
 * simulated phone's side, not wahub receiving); the child samples its RSS every 10 ms from the mark
 * until the media event is stored, and also reports the kernel's peak (resourceUsage().maxRSS).
 */
import { MIB, startMemoryChild } from './lib/memory-child.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';


const here = path.dirname(fileURLToPath(import.meta.url));

interface Options {
  size: number;
  probe: boolean;
}
type ToChild = { type: 'run'; options: Options } | { type: 'stop' };
interface Report {
  type: 'report';
  rssBefore: number;
  peakRss: number;
  maxRss: number;
  heapUsed: number;
  arrayBuffers: number;
  mediaMs: number;
  textMs: number;
  textStoredBeforeMedia: boolean;
  item: Record<string, unknown>;
}
type FromChild = { type: 'ready' } | Report;

/** The boxes of the fixture MP4 but its mdat: a real header for a "video" of any size. */
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

/** `size` bytes of MP4, generated a MiB at a time (never held whole). */
function bigVideo(size: number): Readable {
  const head = videoHead();
  const mdat = Buffer.alloc(8);
  mdat.writeUInt32BE(size - head.length, 0);
  mdat.write('mdat', 4, 'latin1');
  const filler = Buffer.alloc(MIB, 0x5a);
  return Readable.from(
    (function* () {
      yield Buffer.concat([head, mdat]);
      for (let left = size - head.length - 8; left > 0; left -= MIB) yield filler.subarray(0, Math.min(MIB, left));
    })(),
  );
}

// ---------------------------------------------------------------- child: the wahub under test
async function child(): Promise<void> {
  const { startWahub } = await import('../src/app/wahub.js');
  const { loadConfig } = await import('../src/platform/config.js');
  const { SimulatorMediaStash } = await import('../src/modules/sessions/adapters/simulator/simulator-media.js');
  const { SIMULATOR_CONTROL_STREAM } = await import('../src/modules/sessions/adapters/simulator/simulator-driver.js');
  const env = JSON.parse(process.env.MEDIA_BENCH_ENV ?? '{}') as Record<string, string>;
  const config = loadConfig(env);
  const wahub = await startWahub(config);
  const { db, bus } = wahub.resources;
  const send = (m: FromChild) => process.send!(m);
  const api = async (method: string, p: string, token: string | undefined, body?: unknown) => {
    const res = await fetch(`${wahub.url}${p}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const until = async <T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 120_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  process.on('message', async (m: ToChild) => {
    if (m.type === 'stop') {
      await wahub.stop();
      process.exit(0);
    }
    if (m.type !== 'run') return;
    const { size, probe } = m.options;
    // A linked, connected session.
    const email = `bench-${Date.now()}@example.com`;
    const password = 'correct horse battery staple';
    const user = await api('POST', '/users', undefined, { email, password, name: 'bench' });
    await db.query(`update users set email_verified_at = now() where id = $1`, [user.id]);
    const { accessToken: token } = await api('POST', '/auth/login', undefined, { email, password });
    const { session } = await api('POST', '/sessions', token);
    await until(async () => (await api('GET', '/sessions', token))?.status === 'qr', 'qr');
    await api('POST', `/simulator/sessions/${session.id}/scan`, token, { phone: '51999000111' });
    await until(async () => (await api('GET', '/sessions', token))?.status === 'connected', 'connected');

    // Warm up the path (modules, buffers) with the small fixture.
    await api('POST', `/simulator/sessions/${session.id}/media`, token, { from: '51911122233', kind: 'video', id: 'warm-up' });
    const stored = (id: string) =>
      db.query<{ media: Record<string, unknown> | null }>(`select media from session_messages where session_id = $1 and message_id = $2`, [session.id, id]);
    await until(async () => (await stored('warm-up'))[0]?.media?.url, 'warm-up stored');

    // The phone's side: the big file in its stash (not measured).
    const stash = new SimulatorMediaStash(path.join(config.dataDir, 'simulator-media'));
    await stash.put(session.id, 'big-video', bigVideo(size));
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 300));
    const rssBefore = process.memoryUsage.rss();
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);

    const started = performance.now();
    const action = (a: Record<string, unknown>) => bus.append(SIMULATOR_CONTROL_STREAM, [{ data: JSON.stringify({ sessionId: session.id, timestamp: Math.floor(Date.now() / 1000), pushName: null, group: null, ...a }) }]);
    await action({
      action: 'media',
      id: 'big-video',
      from: '51911122233@s.whatsapp.net',
      caption: 'big',
      ptt: false,
      media: { kind: 'video', mime: probe ? null : 'video/mp4', size: probe ? null : size, width: probe ? null : 160, height: probe ? null : 120, duration: probe ? null : 2, fileName: null },
    });
    // A text right behind it: the event path must not wait for the video.
    await new Promise((r) => setTimeout(r, 20));
    const textAt = performance.now();
    await action({ action: 'message', id: 'text-behind', from: '51911122233@s.whatsapp.net', text: 'sent while the video downloads', quotedMessageId: null });
    let textMs = 0;
    let mediaMs = 0;
    await Promise.all([
      until(async () => (await stored('text-behind'))[0], 'text stored').then(() => (textMs = performance.now() - textAt)),
      until(async () => (await stored('big-video'))[0]?.media?.url, 'video stored').then(() => (mediaMs = performance.now() - started)),
    ]);
    clearInterval(sampler);
    const [row] = await stored('big-video');
    const u = process.memoryUsage();
    send({
      type: 'report',
      rssBefore,
      peakRss: peak,
      maxRss: process.resourceUsage().maxRSS * 1024,
      heapUsed: u.heapUsed,
      arrayBuffers: u.arrayBuffers,
      mediaMs,
      textMs,
      textStoredBeforeMedia: textMs + (textAt - started) < mediaMs,
      item: row!.media!,
    });
  });
  send({ type: 'ready' });
}

// ---------------------------------------------------------------- parent
async function parent(): Promise<void> {
  const args = process.argv.slice(2);
  const useS3 = args.includes('--s3');
  const probe = args.includes('--probe');
  const size = Math.round(Number(args.find((a) => a.startsWith('--size='))?.slice(7) ?? 100) * 1_000_000);
  const child = await startMemoryChild<FromChild>(import.meta.url, {
    dataDirPrefix: 'wahub-media-receive-bench-',
    env: { WA_DRIVER: 'simulator', WORKER_SHARDS: '2', MEDIA_MAX_BYTES: String(2000 * MIB) },
    useS3,
  });
  const { proc, next } = child;
  try {
    await next('ready');
    const answer = next('report');
    proc.send({ type: 'run', options: { size, probe } } satisfies ToChild);
    const report = await answer;
    const mb = (n: number) => `${(n / MIB).toFixed(1)} MiB`;
    console.log(
      JSON.stringify(
        {
          storage: useS3 ? 's3 (s3rver)' : 'local disk',
          metadata: probe ? 'left out by the phone (probed)' : "WhatsApp's",
          fileBytes: size,
          seconds: +(report.mediaMs / 1000).toFixed(2),
          throughputMBps: +(size / 1e6 / (report.mediaMs / 1000)).toFixed(1),
          stored: report.item,
          rssBefore: mb(report.rssBefore),
          rssPeakWhileReceiving: mb(report.peakRss),
          rssGrowth: mb(report.peakRss - report.rssBefore),
          kernelMaxRssSinceStart: mb(report.maxRss),
          heapUsedAfter: mb(report.heapUsed),
          arrayBuffersAfter: mb(report.arrayBuffers),
          textSentDuringDownloadStoredAfterMs: Math.round(report.textMs),
          textStoredBeforeVideo: report.textStoredBeforeMedia,
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
