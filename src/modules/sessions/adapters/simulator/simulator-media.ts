import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { WaMedia } from '../../domain/whatsapp-events.js';

/**
 * The simulated phone's media: what WhatsApp's CDN would serve for the media messages the phone
 * sends. Kept as files under DATA_DIR/simulator-media/<sessionId>/, so a download streams from disk
 * (never the whole file in memory) and works on any worker that shares the data directory (a
 * session taken over by another worker on the same machine or volume still downloads).
 */

/** Real small files shipped with the tests (test/fixtures/media, made by its generate.sh). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../../../test/fixtures/media/', import.meta.url));

export interface MediaFixture {
  file: string;
  kind: WaMedia['kind'];
  mime: string;
  width: number | null;
  height: number | null;
  duration: number | null;
  /** Sent as a voice note. */
  ptt: boolean;
}

/** Each fixture with the metadata a phone would send with it (what WhatsApp's message carries). */
export const MEDIA_FIXTURES: Record<string, MediaFixture> = {
  'photo.jpg': { file: 'photo.jpg', kind: 'image', mime: 'image/jpeg', width: 320, height: 240, duration: null, ptt: false },
  'image.png': { file: 'image.png', kind: 'image', mime: 'image/png', width: 64, height: 32, duration: null, ptt: false },
  'sticker.webp': { file: 'sticker.webp', kind: 'sticker', mime: 'image/webp', width: 512, height: 512, duration: null, ptt: false },
  'video.mp4': { file: 'video.mp4', kind: 'video', mime: 'video/mp4', width: 160, height: 120, duration: 2, ptt: false },
  'voice.ogg': { file: 'voice.ogg', kind: 'audio', mime: 'audio/ogg; codecs=opus', width: null, height: null, duration: 3, ptt: true },
  'document.pdf': { file: 'document.pdf', kind: 'document', mime: 'application/pdf', width: null, height: null, duration: null, ptt: false },
};

/** The fixture a kind gets when none is named. */
export const DEFAULT_FIXTURE: Record<WaMedia['kind'], string> = {
  image: 'photo.jpg',
  video: 'video.mp4',
  audio: 'voice.ogg',
  document: 'document.pdf',
  sticker: 'sticker.webp',
};

interface StashMeta {
  /** Downloads still to fail (the phone's CDN answering 410 and no re-upload yet). */
  failNext: number;
}

/** What the stash counted while it stored a file. */
export interface StashedFile {
  size: number;
  sha256: string;
}

export class SimulatorMediaStash {
  constructor(readonly dir: string) {}

  private base(sessionId: string, messageId: string): string {
    if (!/^[0-9a-f-]{36}$/i.test(sessionId)) throw new Error(`not a session id: ${sessionId}`);
    return path.join(this.dir, sessionId, encodeURIComponent(messageId));
  }

  /** Stores the bytes of a message's media (streamed to disk). */
  async put(sessionId: string, messageId: string, source: Readable, options: { failNext?: number } = {}): Promise<StashedFile> {
    const base = this.base(sessionId, messageId);
    await mkdir(path.dirname(base), { recursive: true });
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(source, count, createWriteStream(`${base}.bin`));
    await this.writeMeta(base, { failNext: options.failNext ?? 0 });
    return { size, sha256: hash.digest('hex') };
  }

  /** Stores a fixture as a message's media. */
  async putFixture(sessionId: string, messageId: string, fixture: MediaFixture, options: { failNext?: number } = {}): Promise<StashedFile> {
    return this.put(sessionId, messageId, createReadStream(path.join(FIXTURES_DIR, fixture.file)), options);
  }

  async has(sessionId: string, messageId: string): Promise<boolean> {
    return stat(`${this.base(sessionId, messageId)}.bin`).then(
      () => true,
      () => false,
    );
  }

  /** The next `count` downloads of the message fail. */
  async failNext(sessionId: string, messageId: string, count: number): Promise<void> {
    await this.writeMeta(this.base(sessionId, messageId), { failNext: count });
  }

  /**
   * Opens the bytes for a download: null when the phone has no such media; 'fail' when this
   * download is one of those told to fail (counted down).
   */
  async open(sessionId: string, messageId: string): Promise<Readable | 'fail' | null> {
    const base = this.base(sessionId, messageId);
    if (!(await this.has(sessionId, messageId))) return null;
    const meta = await this.readMeta(base);
    if (meta.failNext > 0) {
      await this.writeMeta(base, { failNext: meta.failNext - 1 });
      return 'fail';
    }
    return createReadStream(`${base}.bin`, { highWaterMark: 256 * 1024 });
  }

  async deleteSession(sessionId: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/i.test(sessionId)) return;
    await rm(path.join(this.dir, sessionId), { recursive: true, force: true });
  }

  private async readMeta(base: string): Promise<StashMeta> {
    try {
      return JSON.parse(await readFile(`${base}.json`, 'utf8')) as StashMeta;
    } catch {
      return { failNext: 0 };
    }
  }

  private async writeMeta(base: string, meta: StashMeta): Promise<void> {
    await writeFile(`${base}.json`, JSON.stringify(meta));
  }
}
