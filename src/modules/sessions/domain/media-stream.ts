import { Transform, type Readable } from 'node:stream';

/** A media stream went past the byte limit it was fetched with (MEDIA_MAX_BYTES). */
export class MediaTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the media is larger than ${maxBytes} bytes`);
    this.name = 'MediaTooLargeError';
  }
}

/** A pass-through that fails with MediaTooLargeError as soon as more than maxBytes went through. */
export function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new MediaTooLargeError(maxBytes));
      else callback(null, chunk);
    },
  });
}

/**
 * `source` limited to maxBytes: the returned stream errors past the limit, and an error of either
 * side ends both (no half-read socket left open).
 */
export function limitBytes(source: Readable, maxBytes: number): Readable {
  const limited = byteLimit(maxBytes);
  source.on('error', (error) => limited.destroy(error));
  limited.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(limited);
}
