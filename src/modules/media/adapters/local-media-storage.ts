import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, unlink, writeFile, constants } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '../../../shared/errors.js';
import type { MediaStorage, StoredObject } from '../domain/media.js';

/** The API path local files are served under (GET /media/files/<key>). */
export const LOCAL_FILES_PATH = '/media/files';

/** Encodes each segment of a key for a URL path (a key may hold `%`, `:` ...). */
export const encodeKeyPath = (key: string): string => key.split('/').map(encodeURIComponent).join('/');

const invalidKey = (key: string) => new DomainError('invalid', 'invalid_media_key', `Not a valid media key: ${JSON.stringify(key.slice(0, 200))}`);

/**
 * The segments of a key, refused unless every one is a plain name: no empty segment, none starting
 * with a dot (so neither `..` nor this adapter's own `.tmp`/`.meta` folders), no backslash or NUL.
 */
export function keySegments(key: string): string[] {
  if (key.length === 0 || key.length > 1024) throw invalidKey(key);
  const segments = key.split('/');
  for (const s of segments) {
    if (s.length === 0 || s.startsWith('.') || /[\\\0]/.test(s) || s.length > 255) throw invalidKey(key);
  }
  return segments;
}

export interface LocalFile {
  stream: Readable;
  size: number;
  contentType: string;
}

/**
 * Media on local disk under DATA_DIR/media, served by the API at GET /media/files/<key> (only to
 * users of the tenant the key belongs to). A write goes to DATA_DIR/media/.tmp first and is renamed
 * into place once complete, so a reader never sees half a file; the content type is kept beside it
 * under .meta/.
 */
export class LocalMediaStorage implements MediaStorage {
  readonly kind = 'local' as const;
  private readonly root: string;

  /** `baseUrl`: the API's public URL (API_PUBLIC_URL), or '' for URLs relative to the API. */
  constructor(root: string, private readonly baseUrl = '') {
    this.root = path.resolve(root);
  }

  /** The file of a key; throws on a key that could leave the root. */
  filePath(key: string): string {
    const file = path.join(this.root, ...keySegments(key));
    if (!file.startsWith(this.root + path.sep)) throw invalidKey(key);
    return file;
  }

  private metaPath(key: string): string {
    return path.join(this.root, '.meta', ...keySegments(key)) + '.json';
  }

  async put(key: string, body: Readable, options: { contentType: string; contentLength?: number }): Promise<StoredObject> {
    const file = this.filePath(key);
    const tmpDir = path.join(this.root, '.tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, randomUUID());
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, count, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      const meta = this.metaPath(key);
      await mkdir(path.dirname(meta), { recursive: true });
      await writeFile(meta, JSON.stringify({ contentType: options.contentType, size }));
      await mkdir(path.dirname(file), { recursive: true });
      await rename(tmp, file);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw error;
    }
    return { key, size, url: this.url(key) };
  }

  async get(key: string): Promise<Readable> {
    return (await this.open(key)).stream;
  }

  /** The file with its size and content type; 404 `media_file_not_found` when absent. */
  async open(key: string): Promise<LocalFile> {
    const file = this.filePath(key);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new DomainError('not_found', 'media_file_not_found', 'media file not found');
      }
      throw error;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new DomainError('not_found', 'media_file_not_found', 'media file not found');
      let contentType = 'application/octet-stream';
      try {
        const meta = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as { contentType?: unknown };
        if (typeof meta.contentType === 'string') contentType = meta.contentType;
      } catch {
        // No sidecar (a file put there by hand): served as bytes.
      }
      // The stream owns the handle from here: it closes it at its end or when destroyed.
      const stream = createReadStream('', { fd: handle, autoClose: true });
      return { stream, size: stat.size, contentType };
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  url(key: string): string {
    return `${this.baseUrl}${LOCAL_FILES_PATH}/${encodeKeyPath(key)}`;
  }

  async deletePrefix(prefix: string): Promise<void> {
    // A prefix names a folder (tenants/<t>/sessions/<s>/): delete it and its sidecars.
    const trimmed = prefix.replace(/\/+$/, '');
    const segments = keySegments(trimmed);
    await rm(path.join(this.root, ...segments), { recursive: true, force: true });
    await rm(path.join(this.root, '.meta', ...segments), { recursive: true, force: true });
    await rm(path.join(this.root, '.meta', ...segments) + '.json', { force: true });
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, constants.W_OK);
  }
}
