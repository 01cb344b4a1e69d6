import type { Queryable } from '../../../platform/db/db.js';
import type { UserRepository } from '../application/ports.js';
import type { User, UserRole } from '../domain/user.js';

interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  name: string | null;
  role: UserRole;
  password_hash: string;
  email_verified_at: Date | null;
  token_version: number;
  created_at: Date;
}

const COLUMNS = 'id, tenant_id, email, name, role, password_hash, email_verified_at, token_version, created_at';

const toUser = (row: UserRow): User => ({
  id: row.id,
  tenantId: row.tenant_id,
  email: row.email,
  name: row.name,
  role: row.role,
  passwordHash: row.password_hash,
  emailVerifiedAt: row.email_verified_at === null ? null : new Date(row.email_verified_at),
  tokenVersion: Number(row.token_version),
  createdAt: new Date(row.created_at),
});

/** Users and tenants in Postgres (the same SQL runs on PGlite). */
export class SqlUserRepository implements UserRepository {
  async insertTenantWithOwner(q: Queryable, input: Parameters<UserRepository['insertTenantWithOwner']>[1]): Promise<User | undefined> {
    const { user, now } = input;
    await q.query('insert into tenants (id, name, created_at) values ($1, $2, $3)', [input.tenantId, input.tenantName, now]);
    // The unique index on email decides, even between two sign-ups racing for the same address.
    const rows = await q.query<UserRow>(
      `insert into users (id, tenant_id, email, name, role, password_hash, email_verified_at, created_at, updated_at)
       values ($1, $2, $3, $4, 'owner', $5, $6, $7, $7)
       on conflict (email) do nothing
       returning ${COLUMNS}`,
      [user.id, input.tenantId, user.email, user.name, user.passwordHash, user.emailVerifiedAt, now],
    );
    return rows[0] && toUser(rows[0]);
  }

  async findById(q: Queryable, id: string): Promise<User | undefined> {
    const rows = await q.query<UserRow>(`select ${COLUMNS} from users where id = $1`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async findByEmail(q: Queryable, email: string): Promise<User | undefined> {
    const rows = await q.query<UserRow>(`select ${COLUMNS} from users where email = $1`, [email]);
    return rows[0] && toUser(rows[0]);
  }

  async findTokenState(q: Queryable, id: string): Promise<{ tenantId: string; tokenVersion: number } | undefined> {
    const rows = await q.query<{ tenant_id: string; token_version: number }>('select tenant_id, token_version from users where id = $1', [id]);
    const row = rows[0];
    return row && { tenantId: row.tenant_id, tokenVersion: Number(row.token_version) };
  }

  async markEmailVerified(q: Queryable, id: string, at: Date): Promise<User | undefined> {
    const rows = await q.query<UserRow>(
      `update users set email_verified_at = coalesce(email_verified_at, $2), updated_at = $2 where id = $1 returning ${COLUMNS}`,
      [id, at],
    );
    return rows[0] && toUser(rows[0]);
  }

  async updatePasswordHash(q: Queryable, id: string, passwordHash: string, at: Date): Promise<void> {
    await q.query('update users set password_hash = $2, updated_at = $3 where id = $1', [id, passwordHash, at]);
  }

  async resetPassword(q: Queryable, id: string, passwordHash: string, at: Date): Promise<User | undefined> {
    const rows = await q.query<UserRow>(
      `update users
       set password_hash = $2, token_version = token_version + 1,
           email_verified_at = coalesce(email_verified_at, $3), updated_at = $3
       where id = $1 returning ${COLUMNS}`,
      [id, passwordHash, at],
    );
    return rows[0] && toUser(rows[0]);
  }

  async bumpTokenVersion(q: Queryable, id: string, at: Date): Promise<number | undefined> {
    const rows = await q.query<{ token_version: number }>(
      'update users set token_version = token_version + 1, updated_at = $2 where id = $1 returning token_version',
      [id, at],
    );
    return rows[0] && Number(rows[0].token_version);
  }
}
