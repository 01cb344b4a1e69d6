import {
  BufferJSON,
  proto,
  type AuthenticationCreds,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from 'baileys';
import type { Db, Queryable } from '../../../../platform/db/db.js';
import type { Logger } from '../../../../platform/logger.js';
import { LeaseLostError, type LeaseFence } from '../../domain/whatsapp-driver.js';

export { LeaseLostError };

/**
 * Baileys' auth state (creds + signal keys) in Postgres, table whatsapp_auth_state, one row per
 * key. Every write is fenced by the shard lease the connection was started under: a worker that
 * lost its lease (paused, partitioned) writes nothing, so it cannot roll another worker's ratchets
 * back (which would show up as "Bad MAC" for every peer).
 */

export type SignalKeyType = keyof SignalDataTypeMap;

/** Every key type of Baileys v7 (SignalDataTypeMap). Exhaustive: a new type in Baileys fails to compile here. */
export const SIGNAL_KEY_TYPES = Object.keys({
  'pre-key': true,
  session: true,
  'sender-key': true,
  'sender-key-memory': true,
  'app-state-sync-key': true,
  'app-state-sync-version': true,
  'lid-mapping': true,
  'device-list': true,
  tctoken: true,
  'identity-key': true,
} satisfies Record<SignalKeyType, true>) as SignalKeyType[];

const CREDS = 'creds';
const CREDS_ID = '';

export interface AuthStateStoreOptions {
  db: Db;
  tenantId: string;
  sessionId: string;
  fence: LeaseFence;
  logger?: Logger;
  /** Called (once per failed write) when a write found the lease gone; the write has thrown LeaseLostError. */
  onLeaseLost?: (error: LeaseLostError) => void;
}

export interface AuthStateStore {
  readonly sessionId: string;
  /** The stored creds, or undefined when the session has none. */
  readCreds(): Promise<AuthenticationCreds | undefined>;
  /** Saves the creds whole (fenced). */
  saveCreds(creds: AuthenticationCreds): Promise<void>;
  /** Throws LeaseLostError unless the lease is held now. */
  assertLease(): Promise<void>;
  /** Replaces the session's whole auth state by these creds and no keys (fenced, one transaction). */
  reset(creds: AuthenticationCreds): Promise<void>;
  /** The raw signal key store, without cache: wrap it with makeCacheableSignalKeyStore. */
  readonly keys: SignalKeyStore;
  /** Resolves once every write started so far has settled. */
  whenIdle(): Promise<void>;
  /**
   * Refuses writes from now on: the connection is over, and a late write from its socket must not
   * land after the next connection loaded the state (or after a wipe). Refused writes are logged.
   */
  seal(): void;
}

export function serialize(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

/** Parses a stored value; `category` is 'creds' or a signal key type. */
export function deserialize(category: string, text: string): unknown {
  const value: unknown = JSON.parse(text, BufferJSON.reviver);
  // Stored through the protobuf class's toJSON (bytes as base64): fromObject makes it the class again.
  if (category === 'app-state-sync-key' && value) {
    return proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>);
  }
  return value;
}

/**
 * True when the creds belong to a linked device. `registered` alone is not enough: Baileys sets it
 * only in the pairing-code flow (messages-recv.js, link_code_companion_reg); a QR login only gets
 * `account` and `me` from pair-success (validate-connection.js, configureSuccessfulPairing).
 */
export function isLoggedIn(creds: AuthenticationCreds | undefined): boolean {
  return !!creds?.me?.id && (creds.registered === true || creds.account != null);
}

/** The row lock makes the fence hold for the whole transaction: a takeover updates this row and waits. */
const FENCE_SQL = `select 1 from session_shard_leases
  where shard = $1 and owner = $2 and epoch = $3 and expires_at > now()
  for share`;

export function createAuthStateStore(options: AuthStateStoreOptions): AuthStateStore {
  const { db, tenantId, sessionId, fence, logger } = options;
  const inFlight = new Set<Promise<unknown>>();
  let sealed = false;

  const leaseLost = (): LeaseLostError => {
    const error = new LeaseLostError(fence, sessionId);
    try {
      options.onLeaseLost?.(error);
    } catch (err) {
      logger?.error({ err }, 'onLeaseLost handler failed');
    }
    return error;
  };

  /** One fenced transaction: the lease check first, then fn; nothing is written when the lease is gone. */
  const fenced = <T>(what: string, fn: (tx: Queryable) => Promise<T>): Promise<T | undefined> => {
    if (sealed) {
      logger?.warn({ sessionId, what }, 'auth state write after the connection ended: dropped');
      return Promise.resolve(undefined);
    }
    let lost = false;
    const write = db
      .transaction(async (tx) => {
        const held = await tx.query(FENCE_SQL, [fence.shard, fence.owner, fence.epoch]);
        if (held.length === 0) {
          lost = true;
          throw new LeaseLostError(fence, sessionId);
        }
        return fn(tx);
      })
      .catch((error: unknown) => {
        throw lost ? leaseLost() : error;
      });
    inFlight.add(write);
    const forget = () => inFlight.delete(write);
    write.then(forget, forget);
    return write;
  };

  const upsertCreds = (tx: Queryable, text: string) =>
    tx.query(
      `insert into whatsapp_auth_state (tenant_id, session_id, category, key_id, value, updated_at)
       values ($1, $2, $3, $4, $5, now())
       on conflict (session_id, category, key_id) do update set value = excluded.value, updated_at = excluded.updated_at`,
      [tenantId, sessionId, CREDS, CREDS_ID, text],
    );

  const keys: SignalKeyStore = {
    async get(type, ids) {
      const result: { [id: string]: SignalDataTypeMap[typeof type] } = {};
      if (ids.length === 0) return result;
      const rows = await db.query<{ key_id: string; value: string }>(
        `select key_id, value from whatsapp_auth_state
         where session_id = $1 and category = $2 and key_id = any($3::text[])`,
        [sessionId, type, ids],
      );
      for (const row of rows) result[row.key_id] = deserialize(type, row.value) as SignalDataTypeMap[typeof type];
      return result;
    },

    async set(data: SignalDataSet) {
      // Serialise before opening the transaction: it then stays as short as the SQL.
      const upserts: { category: string[]; keyId: string[]; value: string[] } = { category: [], keyId: [], value: [] };
      const deletes: { category: string[]; keyId: string[] } = { category: [], keyId: [] };
      for (const type of Object.keys(data) as SignalKeyType[]) {
        const entries = data[type];
        if (!entries) continue;
        for (const [id, value] of Object.entries(entries)) {
          if (value === null || value === undefined) {
            deletes.category.push(type);
            deletes.keyId.push(id);
          } else {
            upserts.category.push(type);
            upserts.keyId.push(id);
            upserts.value.push(serialize(value));
          }
        }
      }
      if (upserts.keyId.length === 0 && deletes.keyId.length === 0) return;
      await fenced('keys', async (tx) => {
        if (deletes.keyId.length > 0) {
          await tx.query(
            `delete from whatsapp_auth_state
             where session_id = $1 and (category, key_id) in (select * from unnest($2::text[], $3::text[]))`,
            [sessionId, deletes.category, deletes.keyId],
          );
        }
        if (upserts.keyId.length > 0) {
          await tx.query(
            `insert into whatsapp_auth_state (tenant_id, session_id, category, key_id, value, updated_at)
             select $1, $2, k.category, k.key_id, k.value, now()
             from unnest($3::text[], $4::text[], $5::text[]) as k (category, key_id, value)
             on conflict (session_id, category, key_id) do update set value = excluded.value, updated_at = excluded.updated_at`,
            [tenantId, sessionId, upserts.category, upserts.keyId, upserts.value],
          );
        }
      });
    },

    async clear() {
      await fenced('clear keys', (tx) =>
        tx.query('delete from whatsapp_auth_state where session_id = $1 and category <> $2', [sessionId, CREDS]),
      );
    },
  };

  return {
    sessionId,
    readCreds: () => readStoredCreds(db, sessionId),
    async saveCreds(creds) {
      const text = serialize(creds);
      await fenced('creds', (tx) => upsertCreds(tx, text));
    },
    async assertLease() {
      await fenced('lease check', async () => {});
    },
    async reset(creds) {
      const text = serialize(creds);
      await fenced('reset', async (tx) => {
        await tx.query('delete from whatsapp_auth_state where session_id = $1', [sessionId]);
        await upsertCreds(tx, text);
      });
    },
    keys,
    async whenIdle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    seal() {
      sealed = true;
    },
  };
}

/** Reads a session's stored creds without a connection (no fence: reads are harmless). */
export async function readStoredCreds(db: Queryable, sessionId: string): Promise<AuthenticationCreds | undefined> {
  const rows = await db.query<{ value: string }>(
    'select value from whatsapp_auth_state where session_id = $1 and category = $2 and key_id = $3',
    [sessionId, CREDS, CREDS_ID],
  );
  return rows[0] ? (deserialize(CREDS, rows[0].value) as AuthenticationCreds) : undefined;
}

/**
 * Deletes every row of a session. Not fenced: it runs after the login is gone (logout, 401/403/411,
 * DELETE), when nothing of it is worth protecting and the session may have no lease at all.
 */
export async function deleteAuthState(db: Queryable, sessionId: string): Promise<void> {
  await db.query('delete from whatsapp_auth_state where session_id = $1', [sessionId]);
}
