/**
 * The media module's public surface: the storage port and its two adapters (S3-compatible, local
 * disk), POST /media with GET /media/files/*, and what the sending side reads back of an upload.
 */
export {
  MEDIA_KINDS,
  ACCEPTED_MIMES,
  acceptedMime,
  isMediaKind,
  messageMediaKey,
  uploadMediaKey,
  safeFileName,
  tenantMediaPrefix,
  type MediaKind,
  type MediaInfo,
  type MediaStorage,
  type MediaUpload,
  type StoredObject,
} from './domain/media.js';
export { createMediaModule, type MediaModuleDeps } from './media.module.js';
export { LocalMediaStorage, LOCAL_FILES_PATH } from './adapters/local-media-storage.js';
export { S3MediaStorage, type S3StorageOptions } from './adapters/s3-media-storage.js';
export { findMediaUpload } from './adapters/media-uploads-sql.js';
export { createProbe, type ProbedMedia } from './application/media-probe.js';
export { MULTIPART_OVERHEAD_BYTES } from './http/media-routes.js';
