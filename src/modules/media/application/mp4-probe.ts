/**
 * Reads an ISO base media file (MP4, M4A, 3GP) as it streams past, without holding it: top-level
 * boxes are skipped (mdat) except `moov`, which is kept (up to a cap) wherever it is, at the start
 * (faststart) or after the media data, and parsed at the end for the duration (mvhd, or mehd of a
 * fragmented file) and the display size of the first video track (tkhd, rotation applied).
 */

export interface Mp4Info {
  /** Seconds, or null when the file does not say. */
  duration: number | null;
  width: number | null;
  height: number | null;
  hasVideoTrack: boolean;
  hasAudioTrack: boolean;
}

const MAX_MOOV_BYTES = 32 * 1024 * 1024;

export class Mp4Probe {
  private header = Buffer.alloc(0);
  /** Bytes of the current top-level box still to come (after its header); null while reading a header. */
  private remaining: number | null = null;
  private toEnd = false;
  private moovChunks: Buffer[] | null = null;
  private moov: Buffer | null = null;
  private moovHeaderSize = 8;
  private broken = false;

  write(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.broken && !this.moov) {
      if (this.toEnd) return;
      if (this.remaining === null) {
        const need = 16 - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
        offset += Math.min(need, chunk.length - offset);
        if (!this.readHeader()) continue;
      } else {
        const take = Math.min(this.remaining, chunk.length - offset);
        if (this.moovChunks) this.moovChunks.push(Buffer.from(chunk.subarray(offset, offset + take)));
        offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endBox();
      }
    }
  }

  /** Parses the 8- or 16-byte header in `this.header`; false while more bytes are needed. */
  private readHeader(): boolean {
    if (this.header.length < 8) return false;
    let size = this.header.readUInt32BE(0);
    const type = this.header.toString('latin1', 4, 8);
    let headerSize = 8;
    if (size === 1) {
      if (this.header.length < 16) return false;
      const big = this.header.readBigUInt64BE(8);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail();
      size = Number(big);
      headerSize = 16;
    }
    // Bytes read past this header belong to the box's body.
    const extra = this.header.subarray(headerSize);
    this.header = Buffer.alloc(0);
    if (size === 0) {
      this.toEnd = true;
      return true;
    }
    if (size < headerSize) return this.fail();
    this.remaining = size - headerSize;
    if (type === 'moov' && this.remaining <= MAX_MOOV_BYTES) {
      this.moovChunks = [];
      this.moovHeaderSize = headerSize;
    }
    if (this.remaining === 0) this.endBox();
    if (extra.length > 0) this.write(extra);
    return true;
  }

  private endBox(): void {
    if (this.moovChunks) {
      this.moov = Buffer.concat(this.moovChunks);
      this.moovChunks = null;
    }
    this.remaining = null;
  }

  private fail(): boolean {
    this.broken = true;
    return true;
  }

  /** What the moov box says, or null when none was seen. */
  result(): Mp4Info | null {
    return this.moov ? parseMoov(this.moov) : null;
  }
}

interface Box {
  type: string;
  body: Buffer;
}

function* boxes(buffer: Buffer): Generator<Box> {
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    let size = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    let header = 8;
    if (size === 1) {
      if (offset + 16 > buffer.length) return;
      size = Number(buffer.readBigUInt64BE(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = buffer.length - offset;
    }
    if (size < header || offset + size > buffer.length) return;
    yield { type, body: buffer.subarray(offset + header, offset + size) };
    offset += size;
  }
}

const child = (buffer: Buffer, type: string): Buffer | undefined => {
  for (const b of boxes(buffer)) if (b.type === type) return b.body;
  return undefined;
};

/** Timescale and duration of an mvhd or mdhd body. */
function timing(body: Buffer): { timescale: number; duration: number } | null {
  const version = body[0];
  if (version === 1) {
    if (body.length < 32) return null;
    return { timescale: body.readUInt32BE(20), duration: Number(body.readBigUInt64BE(24)) };
  }
  if (body.length < 20) return null;
  return { timescale: body.readUInt32BE(12), duration: body.readUInt32BE(16) };
}

export function parseMoov(moov: Buffer): Mp4Info {
  const info: Mp4Info = { duration: null, width: null, height: null, hasVideoTrack: false, hasAudioTrack: false };
  let timescale: number | null = null;
  const mvhd = child(moov, 'mvhd');
  if (mvhd) {
    const t = timing(mvhd);
    if (t && t.timescale > 0) {
      timescale = t.timescale;
      // 0 (or all ones) means "unknown": a fragmented file gives it in mvex/mehd.
      if (t.duration > 0 && t.duration !== 0xffffffff) info.duration = t.duration / t.timescale;
    }
  }
  if (info.duration === null && timescale) {
    const mehd = child(child(moov, 'mvex') ?? Buffer.alloc(0), 'mehd');
    if (mehd && mehd.length >= 8) {
      const d = mehd[0] === 1 && mehd.length >= 12 ? Number(mehd.readBigUInt64BE(4)) : mehd.readUInt32BE(4);
      if (d > 0) info.duration = d / timescale;
    }
  }
  for (const box of boxes(moov)) {
    if (box.type !== 'trak') continue;
    const mdia = child(box.body, 'mdia');
    const hdlr = mdia && child(mdia, 'hdlr');
    const handler = hdlr && hdlr.length >= 12 ? hdlr.toString('latin1', 8, 12) : undefined;
    if (handler === 'soun') info.hasAudioTrack = true;
    if (handler !== 'vide') continue;
    info.hasVideoTrack = true;
    if (info.width !== null) continue;
    const tkhd = child(box.body, 'tkhd');
    if (!tkhd || tkhd.length < 84) continue;
    // width and height are the last 8 bytes (16.16 fixed point), the matrix the 36 before them.
    const width = Math.round(tkhd.readUInt32BE(tkhd.length - 8) / 65536);
    const height = Math.round(tkhd.readUInt32BE(tkhd.length - 4) / 65536);
    const matrix = tkhd.length - 44;
    const a = tkhd.readInt32BE(matrix);
    const b = tkhd.readInt32BE(matrix + 4);
    const rotated = a === 0 && Math.abs(b) === 0x10000;
    if (width > 0 && height > 0) {
      info.width = rotated ? height : width;
      info.height = rotated ? width : height;
    }
    if (info.duration === null) {
      const mdhd = child(mdia!, 'mdhd');
      const t = mdhd && timing(mdhd);
      if (t && t.timescale > 0 && t.duration > 0) info.duration = t.duration / t.timescale;
    }
  }
  return info;
}
