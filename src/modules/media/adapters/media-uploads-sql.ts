import type { Queryable } from '../../../platform/db/db.js';
import { isUuid } from '../../../platform/ids.js';
import type { MediaKind, MediaUpload } from '../domain/media.js';

interface MediaUploadRow {
  id: string;
  tenant_id: string;
  session_id: string | null;
  kind: MediaKind;
  storage_key: string;
  url: string;
  mime: string;
  size: number | string;
  width: number | null;
  height: number | null;
  duration: number | null;
  file_name: string;
  sha256: string;
  created_at: Date | string;
}

const toUpload = (r: MediaUploadRow): MediaUpload => ({
  id: r.id,
  tenantId: r.tenant_id,
  sessionId: r.session_id,
  kind: r.kind,
  key: r.storage_key,
  url: r.url,
  mime: r.mime,
  size: Number(r.size),
  width: r.width,
  height: r.height,
  duration: r.duration === null ? null : Number(r.duration),
  fileName: r.file_name,
  sha256: r.sha256,
  createdAt: new Date(r.created_at).toISOString(),
});

export async function insertMediaUpload(db: Queryable, upload: Omit<MediaUpload, 'createdAt'>): Promise<MediaUpload> {
  const [row] = await db.query<MediaUploadRow>(
    `insert into media_uploads (id, tenant_id, session_id, kind, storage_key, url, mime, size, width, height, duration, file_name, sha256)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     returning *`,
    [
      upload.id,
      upload.tenantId,
      upload.sessionId,
      upload.kind,
      upload.key,
      upload.url,
      upload.mime,
      upload.size,
      upload.width,
      upload.height,
      upload.duration,
      upload.fileName,
      upload.sha256,
    ],
  );
  return toUpload(row!);
}

/**
 * A file uploaded with POST /media, only when it belongs to the tenant (another tenant's id is
 * absent). The sending side streams its bytes with MediaStorage.get(upload.key).
 */
export async function findMediaUpload(db: Queryable, tenantId: string, id: string): Promise<MediaUpload | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db.query<MediaUploadRow>(`select * from media_uploads where tenant_id = $1 and id = $2`, [tenantId, id]);
  return row && toUpload(row);
}

/** Whether the session is the tenant's and not deleted. */
export async function isTenantSession(db: Queryable, tenantId: string, sessionId: string): Promise<boolean> {
  if (!isUuid(sessionId)) return false;
  const rows = await db.query(`select 1 from sessions where tenant_id = $1 and id = $2 and deleted_at is null`, [tenantId, sessionId]);
  return rows.length > 0;
}
