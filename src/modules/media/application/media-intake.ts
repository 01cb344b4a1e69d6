import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { DomainError } from '../../../shared/errors.js';
import { acceptedMime, type MediaKind, type MediaStorage, type StoredObject } from '../domain/media.js';
import { createProbe, type ProbedMedia } from './media-probe.js';

/** Bytes read before anything is stored, to tell the type from the magic bytes. */
export const SNIFF_BYTES = 64 * 1024;

export interface IntakeResult extends ProbedMedia {
  stored: StoredObject;
  /** What the magic bytes say; undefined when they say nothing known (plain text, say). */
  detectedMime: string | undefined;
  size: number;
  sha256: string;
}

export const mediaTooLarge = (limit: number, kind?: MediaKind) =>
  new DomainError('too_large', 'media_too_large', `The file exceeds ${limit} bytes${kind ? `, the limit for ${kind}` : ''}`, { limit, ...(kind ? { kind } : {}) });

export const mediaTypeMismatch = (kind: MediaKind, detected: string | undefined) =>
  new DomainError(
    'invalid',
    'media_type_mismatch',
    detected
      ? `The file's content is ${detected}, which is not accepted as ${kind}`
      : `The file's content is not a known ${kind} format`,
    { kind, detectedMime: detected ?? null },
  );

/**
 * Streams one file into storage: its first bytes tell its real type (refused at once when `kind`
 * is known and does not accept it), then every chunk is counted (refused past `maxBytes`), hashed,
 * shown to the probe and passed on to storage. Memory: the sniffed head, the probe's own (bounded)
 * state and what the storage adapter buffers; never the file.
 */
export async function intakeMedia(
  storage: MediaStorage,
  key: string,
  source: Readable,
  options: { maxBytes: number; kind?: MediaKind; maxKind?: MediaKind },
): Promise<IntakeResult> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  const first = Buffer.concat(head);
  if (first.length === 0) throw new DomainError('invalid', 'file_empty', 'The file is empty');
  const detected = (await fileTypeFromBuffer(first))?.mime;
  if (options.kind && options.kind !== 'audio' && !acceptedMime(options.kind, detected)) throw mediaTypeMismatch(options.kind, detected);
  if (options.kind === 'audio' && !acceptedMime('audio', detected, { hasVideoTrack: false })) throw mediaTypeMismatch('audio', detected);
  if (first.length > options.maxBytes) throw mediaTooLarge(options.maxBytes, options.kind ?? options.maxKind);

  const contentType =
    options.kind === 'audio' && detected === 'video/mp4' ? 'audio/mp4' : (detected ?? 'application/octet-stream');
  const probe = createProbe(detected);
  const hash = createHash('sha256');
  let size = 0;
  let failure: unknown;
  const take = async (chunk: Buffer) => {
    size += chunk.length;
    if (size > options.maxBytes) {
      failure = mediaTooLarge(options.maxBytes, options.kind ?? options.maxKind);
      throw failure;
    }
    hash.update(chunk);
    await probe.write(chunk);
    return chunk;
  };
  async function* body(): AsyncGenerator<Buffer> {
    try {
      yield await take(first);
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield await take(next.value);
      }
    } finally {
      if (!ended) await iterator.return?.();
    }
  }

  let stored: StoredObject;
  try {
    stored = await storage.put(key, Readable.from(body(), { objectMode: false, highWaterMark: 64 * 1024 }), { contentType });
  } catch (error) {
    throw failure ?? error;
  }
  const probed = await probe.end();
  return { ...probed, stored, detectedMime: detected, size, sha256: hash.digest('hex') };
}
