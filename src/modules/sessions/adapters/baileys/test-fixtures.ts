import { vi } from 'vitest';
import type { ConnectionListener } from '../../domain/whatsapp-driver.js';
import type { WaMessageKey } from '../../domain/whatsapp-events.js';
import { randomUUID } from 'node:crypto';
import { Curve, proto, type SignalDataTypeMap } from 'baileys';
import { createTestDatabase, type Mode } from '../../../../../test/support/services.js';
import type { Db } from '../../../../platform/db/db.js';
import { migrate } from '../../../../platform/db/migrate.js';
import { createPgliteDb } from '../../../../platform/db/pglite-db.js';
import { createPostgresDb } from '../../../../platform/db/postgres-db.js';
import type { LeaseFence } from '../../domain/whatsapp-driver.js';
import type { SignalKeyType } from './auth-state-store.js';

/** Test helpers of the Baileys adapter (not a test file: vitest only runs *.test.ts). */

export interface TestDb {
  db: Db;
  close(): Promise<void>;
}

/** 'real': a fresh database on the test Postgres server; 'embedded': PGlite in memory. Both migrated. */
export async function openTestDb(mode: Mode): Promise<TestDb> {
  if (mode === 'real') {
    const database = await createTestDatabase();
    const db = createPostgresDb(database.url, { max: 4 });
    await migrate(db);
    return {
      db,
      async close() {
        await db.close();
        await database.drop();
      },
    };
  }
  const db = await createPgliteDb(undefined);
  await migrate(db);
  return { db, close: () => db.close() };
}

let nextShard = 1;

/** Grants a fresh shard's lease to `owner` at `epoch` (valid for an hour unless ttlMs says otherwise). */
export async function grantLease(db: Db, owner = 'worker-a', epoch = 7, ttlMs = 3_600_000): Promise<LeaseFence> {
  const shard = nextShard++;
  await setLease(db, { shard, owner, epoch }, ttlMs);
  return { shard, owner, epoch };
}

/** Sets the shard's lease row as a takeover (or a renewal) would. */
export async function setLease(db: Db, fence: LeaseFence, ttlMs = 3_600_000): Promise<void> {
  await db.query(
    `insert into session_shard_leases (shard, owner, epoch, expires_at)
     values ($1, $2, $3, now() + ($4::int * interval '1 millisecond'))
     on conflict (shard) do update set owner = excluded.owner, epoch = excluded.epoch, expires_at = excluded.expires_at`,
    [fence.shard, fence.owner, fence.epoch, ttlMs],
  );
}

export const newSession = () => ({ tenantId: randomUUID(), sessionId: randomUUID() });

export async function countRows(db: Db, sessionId: string): Promise<number> {
  const rows = await db.query<{ n: number | string }>('select count(*) as n from whatsapp_auth_state where session_id = $1', [
    sessionId,
  ]);
  return Number(rows[0]?.n ?? 0);
}

/** One value of every signal key type, shaped as Baileys v7 writes them. */
export function sampleKeys(): { [T in SignalKeyType]: { id: string; value: SignalDataTypeMap[T] } } {
  return {
    'pre-key': { id: '1', value: Curve.generateKeyPair() },
    session: { id: '51999999999.0', value: new Uint8Array([1, 2, 3, 250, 0, 7]) },
    'sender-key': { id: '120363000000000000@g.us::51999999999::0', value: new Uint8Array([9, 8, 7]) },
    'sender-key-memory': { id: '120363000000000000@g.us', value: { '51999999999:3@s.whatsapp.net': true } },
    'app-state-sync-key': {
      id: 'AAAAAG5N',
      value: proto.Message.AppStateSyncKeyData.fromObject({
        keyData: Buffer.from('0123456789abcdef0123456789abcdef'),
        fingerprint: { rawId: 12345, currentIndex: 2, deviceIndexes: [0, 3] },
        timestamp: 1_700_000_000_123,
      }),
    },
    'app-state-sync-version': {
      id: 'regular_high',
      value: {
        version: 42,
        hash: Buffer.alloc(128, 3),
        indexValueMap: { 'q2x3k4ZpYQ==': { valueMac: Buffer.from([5, 6, 7, 8]) } },
      },
    },
    'lid-mapping': { id: '51999999999', value: '123456789012345' },
    'device-list': { id: '51999999999', value: ['0', '12'] },
    tctoken: { id: '51988888888@s.whatsapp.net', value: { token: Buffer.from([1, 1, 2, 3, 5, 8]), timestamp: '1700000000' } },
    'identity-key': { id: '51988888888.0', value: new Uint8Array(33).fill(5) },
  };
}

/** The other side of the 1:1 chats in the mapping and command tests. */
export const PEER = '51988888888@s.whatsapp.net';

/** A message key in the normalised model, a 1:1 message from PEER unless overridden. */
export const waKey = (id: string, over: Partial<WaMessageKey> = {}): WaMessageKey => ({
  id,
  remoteJid: PEER,
  fromMe: false,
  participant: null,
  remoteJidAlt: null,
  participantAlt: null,
  ...over,
});

/** A driver listener whose callbacks record their calls. */
export function listenerRecorder() {
  return {
    onQr: vi.fn<ConnectionListener['onQr']>(),
    onPairingCode: vi.fn<ConnectionListener['onPairingCode']>(),
    onOpen: vi.fn<ConnectionListener['onOpen']>(),
    onClose: vi.fn<ConnectionListener['onClose']>(),
    onEvents: vi.fn<ConnectionListener['onEvents']>(),
  };
}
