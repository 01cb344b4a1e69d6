import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createHash } from 'node:crypto';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'media');
export const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const json = (res: Response): Promise<any> => res.json();
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface UploadForm {
  kind?: string;
  sessionId?: string;
  file?: { name: string; bytes: Uint8Array; type?: string };
  /** Where `kind` and `sessionId` go: before the file (default) or after it. */
  order?: 'fields-first' | 'file-first';
}

/** POST /media as a browser's FormData would send it. */
export async function postMedia(baseUrl: string, token: string | undefined, form: UploadForm): Promise<Response> {
  const body = new FormData();
  const fields = () => {
    if (form.kind !== undefined) body.append('kind', form.kind);
    if (form.sessionId !== undefined) body.append('sessionId', form.sessionId);
  };
  const file = () => {
    if (form.file) body.append('file', new Blob([form.file.bytes], { type: form.file.type ?? 'application/octet-stream' }), form.file.name);
  };
  if (form.order === 'file-first') {
    file();
    fields();
  } else {
    fields();
    file();
  }
  return fetch(`${baseUrl}/media`, { method: 'POST', body, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

/**
 * A "video" of `size` bytes: the ftyp and moov of a real MP4 (so it is detected and probed as
 * one) followed by an mdat of filler. Enough for size limits and memory; not playable.
 */
export function paddedMp4(size: number, mp4 = fixture('video.mp4')): Buffer {
  const head = mp4BoxesExceptMdat(mp4);
  const mdatSize = size - head.length;
  if (mdatSize < 8) throw new Error('too small');
  const out = Buffer.alloc(size, 0x5a);
  head.copy(out, 0);
  out.writeUInt32BE(mdatSize, head.length);
  out.write('mdat', head.length + 4, 'latin1');
  return out;
}

export function mp4BoxesExceptMdat(mp4: Buffer): Buffer {
  const kept: Buffer[] = [];
  for (let offset = 0; offset + 8 <= mp4.length; ) {
    const size = mp4.readUInt32BE(offset);
    const type = mp4.toString('latin1', offset + 4, offset + 8);
    if (type !== 'mdat') kept.push(mp4.subarray(offset, offset + size));
    offset += size;
  }
  return Buffer.concat(kept);
}
