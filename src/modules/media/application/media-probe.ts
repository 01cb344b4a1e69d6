import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { imageSize } from 'image-size';
import { parseStream } from 'music-metadata';
import { Mp4Probe } from './mp4-probe.js';

export interface ProbedMedia {
  width: number | null;
  height: number | null;
  /** Seconds, rounded to the millisecond. */
  duration: number | null;
  /** ISO media only: whether a video track was found (an MP4 without one may be audio). */
  hasVideoTrack: boolean | null;
}

/**
 * Reads a file's dimensions and duration while it streams to storage, never holding the whole file:
 * images keep their first MiB (where every header the formats put the size in lies), MP4/3GP only
 * the moov box, audio goes through music-metadata's streaming parser as the bytes pass.
 */
export interface MediaProbe {
  /** Takes the next chunk; resolves when the probe can take another (backpressure of a parser). */
  write(chunk: Buffer): Promise<void> | void;
  /** The stream ended: what was found (never throws: an unreadable file gives nulls). */
  end(): Promise<ProbedMedia>;
}

const NOTHING: ProbedMedia = { width: null, height: null, duration: null, hasVideoTrack: null };
const IMAGE_HEAD_BYTES = 1024 * 1024;

export const ISO_MEDIA_MIMES = new Set(['video/mp4', 'video/3gpp', 'video/3gpp2', 'audio/mp4', 'audio/x-m4a', 'video/quicktime']);
const IMAGE_MIMES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff', 'image/avif', 'image/heic', 'image/heif']);
const STREAM_AUDIO_MIMES = new Set(['audio/ogg; codecs=opus', 'audio/ogg', 'audio/mpeg', 'audio/aac', 'audio/amr', 'audio/wav', 'audio/flac', 'audio/x-flac', 'audio/wave']);

const roundDuration = (seconds: number | null | undefined): number | null =>
  typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) / 1000 : null;

/** The probe for a detected content type (a no-op one for types with nothing to read). */
export function createProbe(mime: string | undefined): MediaProbe {
  if (!mime) return nullProbe();
  if (IMAGE_MIMES.has(mime)) return imageProbe();
  if (ISO_MEDIA_MIMES.has(mime)) return mp4Probe();
  if (STREAM_AUDIO_MIMES.has(mime)) return audioProbe(mime);
  return nullProbe();
}

function nullProbe(): MediaProbe {
  return { write() {}, end: async () => NOTHING };
}

function imageProbe(): MediaProbe {
  const chunks: Buffer[] = [];
  let held = 0;
  return {
    write(chunk) {
      if (held >= IMAGE_HEAD_BYTES) return;
      const part = chunk.subarray(0, IMAGE_HEAD_BYTES - held);
      chunks.push(Buffer.from(part));
      held += part.length;
    },
    async end() {
      try {
        const size = imageSize(Buffer.concat(chunks));
        // EXIF orientations 5 to 8 turn the image a quarter: shown with width and height swapped.
        const turned = typeof size.orientation === 'number' && size.orientation >= 5 && size.orientation <= 8;
        return {
          ...NOTHING,
          width: (turned ? size.height : size.width) ?? null,
          height: (turned ? size.width : size.height) ?? null,
        };
      } catch {
        return NOTHING;
      }
    },
  };
}

function mp4Probe(): MediaProbe {
  const probe = new Mp4Probe();
  return {
    write: (chunk) => probe.write(chunk),
    async end() {
      const info = probe.result();
      if (!info) return NOTHING;
      return { width: info.width, height: info.height, duration: roundDuration(info.duration), hasVideoTrack: info.hasVideoTrack };
    },
  };
}

/**
 * music-metadata reads its own copy of the stream through a PassThrough: while it parses, the upload
 * waits for it (backpressure), and once it has what it needs (or gives up) it is fed no more.
 */
function audioProbe(mime: string): MediaProbe {
  const input = new PassThrough({ highWaterMark: 256 * 1024 });
  let settled = false;
  const parsed = parseStream(input, { mimeType: mime.split(';')[0] }, { duration: true, skipCovers: true })
    .then((metadata) => metadata.format.duration)
    .catch(() => undefined)
    .finally(() => {
      settled = true;
      // Whatever is still buffered is not needed.
      input.resume();
    });
  return {
    async write(chunk) {
      if (settled) return;
      if (!input.write(chunk)) await Promise.race([once(input, 'drain'), parsed]);
    },
    async end() {
      if (!settled) input.end();
      return { ...NOTHING, duration: roundDuration(await parsed) };
    },
  };
}
