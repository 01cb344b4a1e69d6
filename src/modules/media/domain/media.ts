import type { Readable } from 'node:stream';

export const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** What wahub knows of a media file once stored: the seed's media[] item without messageId/chatJid. */
export interface MediaInfo {
  kind: MediaKind;
  url: string | null;
  mime: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  duration: number | null;
}

/** Object keys follow the seed: tenants/<tenantId>/sessions/<sessionId>/messages/<messageId>/<filename>. */
export function messageMediaKey(tenantId: string, sessionId: string, messageId: string, fileName: string): string {
  const safe = fileName.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(0, 128) || 'file';
  return `tenants/${tenantId}/sessions/${sessionId}/messages/${encodeURIComponent(messageId)}/${safe}`;
}

export interface StoredObject {
  key: string;
  size: number;
  /** Where clients fetch it: S3_PUBLIC_BASE_URL/<key> for S3/R2, or the API's /media/files/<key> for local disk. */
  url: string;
}

/**
 * Object storage: S3-compatible (S3, R2, MinIO) or local disk under DATA_DIR/media. Writes stream:
 * no whole file is held in memory (large objects go up as multipart uploads).
 */
export interface MediaStorage {
  readonly kind: 's3' | 'local';
  put(key: string, body: Readable, options: { contentType: string; contentLength?: number }): Promise<StoredObject>;
  get(key: string): Promise<Readable>;
  url(key: string): string;
  /** Deletes every object under the prefix (a deleted session's media). */
  deletePrefix(prefix: string): Promise<void>;
  /** Throws when the storage cannot be reached (readiness). */
  ping(): Promise<void>;
}
