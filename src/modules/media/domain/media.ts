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
  /** Releases connections (S3 client sockets). */
  close?(): void;
}

export const isMediaKind = (value: unknown): value is MediaKind => (MEDIA_KINDS as readonly unknown[]).includes(value);

/** A file name reduced to what is safe in an object key and a URL path segment (as messageMediaKey does). */
export function safeFileName(fileName: string | undefined | null): string {
  return (fileName ?? '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(0, 128) || 'file';
}

/** Files uploaded with POST /media: tenants/<tenantId>/uploads/<mediaId>/<filename>. */
export function uploadMediaKey(tenantId: string, mediaId: string, fileName: string): string {
  return `tenants/${tenantId}/uploads/${mediaId}/${safeFileName(fileName)}`;
}

/** Every object of a tenant lives under this prefix; local files are served only to that tenant. */
export const tenantMediaPrefix = (tenantId: string): string => `tenants/${tenantId}/`;

/**
 * The content types each kind accepts, as detected from the file's bytes (never its name or the
 * client's Content-Type). WhatsApp's own rules: stickers are WebP; audio AAC, MP4/M4A, MPEG, AMR or Ogg
 * with Opus only (voice notes); video MP4 or 3GPP; images JPEG, PNG or WebP. A document may be anything.
 */
export const ACCEPTED_MIMES: Record<Exclude<MediaKind, 'document'>, readonly string[]> = {
  image: ['image/jpeg', 'image/png', 'image/webp'],
  video: ['video/mp4', 'video/3gpp'],
  audio: ['audio/ogg; codecs=opus', 'audio/mpeg', 'audio/mp4', 'audio/x-m4a', 'audio/aac', 'audio/amr'],
  sticker: ['image/webp'],
};

/**
 * The mime a file is stored and sent with when it is accepted as `kind`, or null when the kind does
 * not accept it. `detected` is what the magic bytes say (undefined: unknown, e.g. plain text).
 * An MP4 container without a video track is accepted as audio (audio/mp4).
 */
export function acceptedMime(kind: MediaKind, detected: string | undefined, options: { hasVideoTrack?: boolean } = {}): string | null {
  if (kind === 'document') return detected ?? 'application/octet-stream';
  if (!detected) return null;
  if (kind === 'audio' && detected === 'video/mp4' && options.hasVideoTrack === false) return 'audio/mp4';
  return ACCEPTED_MIMES[kind].includes(detected) ? detected : null;
}

/** A file uploaded with POST /media, as the sending side reads it back. */
export interface MediaUpload {
  id: string;
  tenantId: string;
  sessionId: string | null;
  kind: MediaKind;
  /** The storage key: MediaStorage.get(key) streams the bytes. */
  key: string;
  url: string;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
  /** Seconds (fractional) for audio and video. */
  duration: number | null;
  fileName: string;
  sha256: string;
  createdAt: string;
}
