import type { Queryable } from '../../../platform/db/db.js';
import type { RefreshTokenRepository } from '../application/ports.js';
import type { RefreshToken, RevocationReason } from '../domain/refresh-token.js';

interface RefreshTokenRow {
  id: string;
  tenant_id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, tenant_id, user_id, family_id, expires_at, rotated_at, revoked_at';

const toToken = (row: RefreshTokenRow): RefreshToken => ({
  id: row.id,
  tenantId: row.tenant_id,
  userId: row.user_id,
  familyId: row.family_id,
  expiresAt: new Date(row.expires_at),
  rotatedAt: row.rotated_at === null ? null : new Date(row.rotated_at),
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
});

/** Refresh tokens by family; only their sha256 is stored. */
export class SqlRefreshTokenRepository implements RefreshTokenRepository {
  async insert(q: Queryable, token: Omit<RefreshToken, 'rotatedAt' | 'revokedAt'> & { tokenHash: string }): Promise<void> {
    await q.query(
      `insert into refresh_tokens (id, tenant_id, user_id, family_id, token_hash, expires_at) values ($1, $2, $3, $4, $5, $6)`,
      [token.id, token.tenantId, token.userId, token.familyId, token.tokenHash, token.expiresAt],
    );
  }

  async findByHashForUpdate(q: Queryable, tokenHash: string): Promise<RefreshToken | undefined> {
    const rows = await q.query<RefreshTokenRow>(`select ${COLUMNS} from refresh_tokens where token_hash = $1 for update`, [tokenHash]);
    return rows[0] && toToken(rows[0]);
  }

  async findByHash(q: Queryable, tokenHash: string): Promise<RefreshToken | undefined> {
    const rows = await q.query<RefreshTokenRow>(`select ${COLUMNS} from refresh_tokens where token_hash = $1`, [tokenHash]);
    return rows[0] && toToken(rows[0]);
  }

  async markRotated(q: Queryable, id: string, at: Date): Promise<void> {
    await q.query('update refresh_tokens set rotated_at = $2 where id = $1', [id, at]);
  }

  async revokeFamily(q: Queryable, familyId: string, at: Date, reason: RevocationReason): Promise<void> {
    await q.query(
      'update refresh_tokens set revoked_at = $2, revoked_reason = $3 where family_id = $1 and revoked_at is null',
      [familyId, at, reason],
    );
  }

  async revokeAllOfUser(q: Queryable, userId: string, at: Date, reason: RevocationReason): Promise<void> {
    await q.query(
      'update refresh_tokens set revoked_at = $2, revoked_reason = $3 where user_id = $1 and revoked_at is null',
      [userId, at, reason],
    );
  }
}
