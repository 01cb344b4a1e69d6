import type { Readable } from 'node:stream';
import type { Db } from '../../../platform/db/db.js';
import type { Logger } from '../../../platform/logger.js';
import { isUuid, newId } from '../../../platform/ids.js';
import { DomainError, notFound } from '../../../shared/errors.js';
import {
  acceptedMime,
  isMediaKind,
  MEDIA_KINDS,
  safeFileName,
  uploadMediaKey,
  type MediaKind,
  type MediaStorage,
  type MediaUpload,
} from '../domain/media.js';
import { insertMediaUpload, isTenantSession } from '../adapters/media-uploads-sql.js';
import { intakeMedia, mediaTooLarge, mediaTypeMismatch, type IntakeResult } from './media-intake.js';

/** One part of a multipart/form-data body, in the order the client sent them. */
export type UploadPart =
  | { type: 'field'; name: string; value: string }
  | { type: 'file'; name: string; stream: Readable; fileName: string | undefined };

export interface UploadMediaDeps {
  db: Db;
  storage: MediaStorage;
  /** Largest file per kind, in bytes. */
  limits: Record<MediaKind, number>;
  logger: Logger;
}

const invalidField = (path: string, message: string) =>
  new DomainError('invalid', 'validation_failed', `Invalid form: ${path}: ${message}`, { errors: [{ path, message }] });

/**
 * POST /media: takes the form's parts as they stream in and stores the file. When `kind` comes
 * before `file` (as it should), a wrong type or an oversized file is refused before or while it
 * streams, and nothing is kept; when it comes after, the file streams under the largest limit of
 * any kind and is checked, and deleted if refused, once the form has ended.
 */
export async function uploadMedia(deps: UploadMediaDeps, tenantId: string, parts: AsyncIterable<UploadPart>): Promise<MediaUpload> {
  const id = newId();
  const largestKind = MEDIA_KINDS.reduce((a, b) => (deps.limits[b] > deps.limits[a] ? b : a));
  let kind: MediaKind | undefined;
  let kindSeen = false;
  let sessionId: string | null = null;
  let sessionSeen = false;
  let file: { key: string; fileName: string; intake?: IntakeResult } | undefined;
  try {
    for await (const part of parts) {
      if (part.type === 'field') {
        if (part.name === 'kind' && !kindSeen) {
          kindSeen = true;
          const value = part.value.trim();
          if (!isMediaKind(value)) throw invalidField('kind', `must be one of ${MEDIA_KINDS.join(', ')}`);
          kind = value;
        } else if (part.name === 'sessionId' && !sessionSeen) {
          sessionSeen = true;
          const value = part.value.trim();
          if (value === '') continue;
          if (!isUuid(value)) throw invalidField('sessionId', 'must be a uuid');
          if (!(await isTenantSession(deps.db, tenantId, value))) throw notFound('session');
          sessionId = value;
        }
        continue;
      }
      if (part.name !== 'file') {
        part.stream.resume();
        continue;
      }
      if (file) throw new DomainError('invalid', 'one_file_only', 'Send one file per request, in the field `file`');
      const fileName = safeFileName(part.fileName);
      file = { key: uploadMediaKey(tenantId, id, fileName), fileName };
      file.intake = await intakeMedia(
        deps.storage,
        file.key,
        part.stream,
        kind ? { maxBytes: deps.limits[kind], kind } : { maxBytes: deps.limits[largestKind], maxKind: largestKind },
      );
    }
    if (!kind) throw invalidField('kind', `required: one of ${MEDIA_KINDS.join(', ')}`);
    if (!file?.intake) throw new DomainError('invalid', 'file_required', 'The form has no file: send it in the field `file`');
    const { intake } = file;
    const mime = acceptedMime(kind, intake.detectedMime, { hasVideoTrack: intake.hasVideoTrack ?? undefined });
    if (!mime) throw mediaTypeMismatch(kind, intake.detectedMime);
    if (intake.size > deps.limits[kind]) throw mediaTooLarge(deps.limits[kind], kind);
    const visual = kind === 'image' || kind === 'sticker' || kind === 'video';
    const timed = kind === 'video' || kind === 'audio';
    return await insertMediaUpload(deps.db, {
      id,
      tenantId,
      sessionId,
      kind,
      key: file.key,
      url: intake.stored.url,
      mime,
      size: intake.size,
      width: visual ? intake.width : null,
      height: visual ? intake.height : null,
      duration: timed ? intake.duration : null,
      fileName: file.fileName,
      sha256: intake.sha256,
    });
  } catch (error) {
    if (file) {
      // Whatever reached storage (a whole file refused afterwards, a multipart upload's parts) goes.
      const folder = file.key.slice(0, file.key.lastIndexOf('/') + 1);
      await deps.storage.deletePrefix(folder).catch((e: unknown) => deps.logger.warn({ err: e, key: file!.key }, 'media: could not delete a refused upload'));
    }
    throw error;
  }
}
