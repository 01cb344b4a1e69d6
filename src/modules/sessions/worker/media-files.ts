import { Readable } from 'node:stream';
import type { WaMedia } from '../domain/whatsapp-events.js';

/** Helpers of the media jobs: file names, content types, and a look at a stream's first bytes. */

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/heic': 'heic',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'audio/wav': 'wav',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'text/plain': 'txt',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
};

const essence = (mime: string): string => mime.split(';')[0]!.trim().toLowerCase();

/** What a kind is when WhatsApp did not say (its usual type). */
export const DEFAULT_MIME: Record<WaMedia['kind'], string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

/**
 * The object's file name: a document's own name, else `<kind>.<ext>` (image.jpg, video.mp4,
 * audio.ogg, sticker.webp), so URLs end in something a browser and a player understand.
 */
export function mediaFileName(media: Pick<WaMedia, 'kind' | 'fileName'>, mime: string): string {
  if (media.kind === 'document' && media.fileName) return media.fileName;
  const ext = EXTENSIONS[essence(mime)] ?? essence(mime).split('/')[1]?.replace(/[^a-z0-9]/g, '') ?? 'bin';
  return `${media.kind}.${ext || 'bin'}`;
}

/** The content type the first bytes show, for the few kinds WhatsApp carries (undefined: unknown). */
export function sniffMime(head: Buffer): string | undefined {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'image/png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(4, 8) === 'ftyp') return /^3g/.test(ascii(8, 11)) ? 'video/3gpp' : /^M4A/.test(ascii(8, 11)) ? 'audio/mp4' : 'video/mp4';
  if (ascii(0, 4) === 'OggS') return head.includes(Buffer.from('OpusHead')) ? 'audio/ogg; codecs=opus' : 'audio/ogg';
  if (ascii(0, 3) === 'ID3' || (head[0] === 0xff && head.length > 1 && (head[1]! & 0xe0) === 0xe0)) return 'audio/mpeg';
  if (ascii(0, 6) === '#!AMR\n') return 'audio/amr';
  if (ascii(0, 5) === '%PDF-') return 'application/pdf';
  if (ascii(0, 4) === 'PK\x03\x04') return 'application/zip';
  return undefined;
}

/** Which of the file's metadata WhatsApp left out and a probe of the bytes can find. */
export function missingMetadata(kind: WaMedia['kind'], known: Pick<WaMedia, 'width' | 'height' | 'duration'>): boolean {
  switch (kind) {
    case 'image':
    case 'sticker':
      return known.width === null || known.height === null;
    case 'video':
      return known.width === null || known.height === null || known.duration === null;
    case 'audio':
      return known.duration === null;
    case 'document':
      return false;
  }
}

/**
 * Reads the first `bytes` of a stream (fewer if it ends) and gives back a stream of all of it, the
 * head included: nothing more than the head is held.
 */
export async function peek(source: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  try {
    while (length < bytes) {
      const next = await iterator.next();
      if (next.done) {
        ended = true;
        break;
      }
      chunks.push(next.value);
      length += next.value.length;
    }
  } catch (error) {
    source.destroy();
    throw error;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // Stopped early (the consumer failed): let go of the source.
      if (!source.destroyed) source.destroy();
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false, highWaterMark: 64 * 1024 }) };
}
