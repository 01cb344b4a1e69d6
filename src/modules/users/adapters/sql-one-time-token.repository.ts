import type { Queryable } from '../../../platform/db/db.js';
import type { OneTimeTokenRepository } from '../application/ports.js';
import type { OneTimeToken, OneTimeTokenPurpose } from '../domain/one-time-token.js';

interface TokenRow {
  id: string;
  tenant_id: string;
  user_id: string;
  purpose: OneTimeTokenPurpose;
  expires_at: Date;
  used_at: Date | null;
}

const toToken = (row: TokenRow): OneTimeToken => ({
  id: row.id,
  tenantId: row.tenant_id,
  userId: row.user_id,
  purpose: row.purpose,
  expiresAt: new Date(row.expires_at),
  usedAt: row.used_at === null ? null : new Date(row.used_at),
});

/** Verification and reset tokens; only their sha256 is stored. */
export class SqlOneTimeTokenRepository implements OneTimeTokenRepository {
  async insert(q: Queryable, token: Omit<OneTimeToken, 'usedAt'> & { tokenHash: string }): Promise<void> {
    await q.query(
      `insert into one_time_tokens (id, tenant_id, user_id, purpose, token_hash, expires_at) values ($1, $2, $3, $4, $5, $6)`,
      [token.id, token.tenantId, token.userId, token.purpose, token.tokenHash, token.expiresAt],
    );
  }

  async findByHash(
    q: Queryable,
    purpose: OneTimeTokenPurpose,
    tokenHash: string,
    options: { forUpdate?: boolean } = {},
  ): Promise<OneTimeToken | undefined> {
    const rows = await q.query<TokenRow>(
      `select id, tenant_id, user_id, purpose, expires_at, used_at from one_time_tokens
       where token_hash = $1 and purpose = $2${options.forUpdate ? ' for update' : ''}`,
      [tokenHash, purpose],
    );
    return rows[0] && toToken(rows[0]);
  }

  async markUsed(q: Queryable, id: string, at: Date): Promise<void> {
    await q.query('update one_time_tokens set used_at = $2 where id = $1 and used_at is null', [id, at]);
  }

  async retireOutstanding(q: Queryable, userId: string, purpose: OneTimeTokenPurpose, at: Date): Promise<void> {
    await q.query('update one_time_tokens set used_at = $3 where user_id = $1 and purpose = $2 and used_at is null', [userId, purpose, at]);
  }
}
