import type { Queryable } from '../../../platform/db/db.js';
import type { SessionPrimitives, SessionStatus } from '../domain/session.js';

export interface SessionRow {
  id: string;
  tenant_id: string;
  status: SessionStatus;
  phone: string | null;
  qr: string | null;
  qr_expires_at: Date | null;
  pairing_phone: string | null;
  connected_at: Date | null;
  disconnected_at: Date | null;
  disconnected_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

export function toPrimitives(row: SessionRow): SessionPrimitives {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    status: row.status,
    phone: row.phone,
    qr: row.qr,
    qrExpiresAt: iso(row.qr_expires_at),
    connectedAt: iso(row.connected_at),
    disconnectedAt: iso(row.disconnected_at),
    disconnectedReason: row.disconnected_reason,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

const COLUMNS = `id, tenant_id, status, phone, qr, qr_expires_at, pairing_phone, connected_at, disconnected_at,
  disconnected_reason, created_at, updated_at`;

/** The tenant's live (not deleted) session; `lock` takes a row lock for a read-modify-write. */
export async function findLiveSession(db: Queryable, tenantId: string, options: { lock?: boolean } = {}): Promise<SessionRow | undefined> {
  const [row] = await db.query<SessionRow>(
    `select ${COLUMNS} from sessions where tenant_id = $1 and deleted_at is null${options.lock ? ' for update' : ''}`,
    [tenantId],
  );
  return row;
}

export async function findSession(db: Queryable, tenantId: string, sessionId: string, options: { lock?: boolean } = {}): Promise<SessionRow | undefined> {
  const [row] = await db.query<SessionRow>(
    `select ${COLUMNS} from sessions where tenant_id = $1 and id = $2 and deleted_at is null${options.lock ? ' for update' : ''}`,
    [tenantId, sessionId],
  );
  return row;
}

export async function insertSession(db: Queryable, row: { id: string; tenantId: string; status: SessionStatus; pairingPhone: string | null; now: Date }): Promise<SessionRow> {
  const [inserted] = await db.query<SessionRow>(
    `insert into sessions (id, tenant_id, status, pairing_phone, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $5) returning ${COLUMNS}`,
    [row.id, row.tenantId, row.status, row.pairingPhone, row.now],
  );
  return inserted!;
}

export async function updateSession(
  db: Queryable,
  sessionId: string,
  changes: Partial<Pick<SessionRow, 'status' | 'phone' | 'qr' | 'qr_expires_at' | 'pairing_phone' | 'connected_at' | 'disconnected_at' | 'disconnected_reason'>> & { deleted_at?: Date },
  now: Date,
  fenceSql = '',
  fenceParams: unknown[] = [],
): Promise<SessionRow | undefined> {
  const entries = Object.entries(changes);
  const sets = entries.map(([column], i) => `${column} = $${i + 3 + fenceParams.length}`);
  const [row] = await db.query<SessionRow>(
    `update sessions set ${[...sets, `updated_at = $2`].join(', ')}
     where id = $1 and deleted_at is null ${fenceSql}
     returning ${COLUMNS}`,
    [sessionId, now, ...fenceParams, ...entries.map(([, v]) => v)],
  );
  return row;
}
