import { createHash } from 'node:crypto';
import type { Mode } from '../support/services.js';
import type { TestWahub } from '../support/wahub.js';
import type { TestS3 } from '../media/s3-server.js';

export type Storage = 's3' | 'local';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export const SETUPS: { storage: Storage; mode: Mode }[] = [
  { storage: 's3', mode: 'real' },
  { storage: 'local', mode: 'real' },
  { storage: 's3', mode: 'embedded' },
  { storage: 'local', mode: 'embedded' },
];

/** Media jobs that retry fast enough for a test. */
export const FAST_RETRIES = { MEDIA_RETRY_BASE_MS: '50', MEDIA_RETRY_MAX_MS: '300' };

/** Where an object of `key` is served: the bucket's URL (s3rver answers anonymous GETs) or the API's /media/files. */
export function urlOf(key: string, s3: TestS3 | undefined): string {
  return s3 ? `${s3.endpoint}/${s3.bucket}/${key}` : `/media/files/${key}`;
}

/** The object's bytes, read as a client would: the public URL (S3) or the API with the tenant's token (local disk). */
export async function fetchStored(wahub: TestWahub, url: string, token: string): Promise<Response> {
  if (/^https?:/.test(url)) return fetch(url);
  return fetch(wahub.url + url, { headers: { authorization: `Bearer ${token}` } });
}

/** A multipart form as a browser's FormData sends it; fields first, the file last. */
export function form(fields: Record<string, string>, file?: { name: string; bytes: Uint8Array; type?: string }): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  if (file) body.append('file', new Blob([file.bytes], { type: file.type ?? 'application/octet-stream' }), file.name);
  return body;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const json = (res: Response): Promise<any> => res.json();

export async function postForm(wahub: TestWahub, path: string, token: string, body: FormData): Promise<Response> {
  return fetch(wahub.url + path, { method: 'POST', body, headers: { authorization: `Bearer ${token}` } });
}
