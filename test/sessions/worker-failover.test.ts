import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionWorker } from '../../src/modules/sessions/worker/session-worker.js';
import { fencedTransaction } from '../../src/modules/sessions/worker/fencing.js';
import { LeaseLostError } from '../../src/modules/sessions/domain/whatsapp-driver.js';
import { createTestDatabase, uniquePrefix, type TestDatabase } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { connectWs, eventually, signUpAndLogin } from '../support/clients.js';

const workerOf = (wahub: TestWahub): SessionWorker =>
  (wahub.modules.workers.find((w) => 'worker' in w) as unknown as { worker: SessionWorker }).worker;

describe('session worker failover (real Postgres and Redis)', () => {
  let database: TestDatabase;
  let api: TestWahub;
  const workers: TestWahub[] = [];
  const env = {
    WA_DRIVER: 'simulator',
    WORKER_SHARDS: '4',
    WORKER_LEASE_TTL_MS: '3000',
    STREAM_CLAIM_IDLE_MS: '1000',
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const shared = { databaseUrl: database.url, redisKeyPrefix: uniquePrefix() };
    api = await startTestWahub('real', { ...env, ROLES: 'api,relay,consumer' }, shared);
    for (let i = 0; i < 2; i++) workers.push(await startTestWahub('real', { ...env, ROLES: 'worker', WORKER_ID: `worker-${i}` }, shared));
  });
  afterAll(async () => {
    for (const w of workers) await w.stop().catch(() => {});
    await api?.stop();
    await database?.drop();
  });

  it('spreads the shards over both workers', async () => {
    await eventually(async () => workerOf(workers[0]!).ownedShards.length === 2 && workerOf(workers[1]!).ownedShards.length === 2, 15_000);
  });

  it('hands a dead worker’s shards to the other, which runs the commands sent meanwhile and reconnects without a QR', async () => {
    const user = await signUpAndLogin(api, 'failover');
    const ws = connectWs(api.url, { accessToken: user.accessToken });
    try {
      await ws.next('session.snapshot');
      const { session } = (await (await api.request('POST', '/sessions', { token: user.accessToken })).json()) as { session: { id: string } };
      await ws.next('session.qr.updated');
      await api.request('POST', `/simulator/sessions/${session.id}/scan`, { token: user.accessToken, body: { phone: '51777777777' } });
      await ws.next('session.status.connected');

      const owner = workers.find((w) => workerOf(w).sessionIds.includes(session.id))!;
      const survivor = workers.find((w) => w !== owner)!;
      expect(owner).toBeDefined();
      const ownerId = owner === workers[0] ? 'worker-0' : 'worker-1';
      const [oldLease] = await api.resources.db.query<{ shard: number; epoch: number }>(
        `select shard, epoch from session_shard_leases where owner = $1 order by shard limit 1`,
        [ownerId],
      );
      const crashedAt = Date.now();
      workerOf(owner).crash();

      // Sent while nobody owns the shard: it must wait in the stream, not vanish.
      expect((await api.request('POST', `/sessions/${session.id}/stop`, { token: user.accessToken })).status).toBe(202);
      const stopped = await ws.next('session.status.disconnected', { timeoutMs: 15_000 });
      expect(stopped.payload.reason).toBe('stopped');
      expect(Date.now() - crashedAt).toBeLessThan(3000 + 8000);
      expect(workerOf(survivor).ownedShards.length).toBe(4);

      // The survivor reconnects from the stored login: no QR.
      expect((await api.request('POST', '/sessions', { token: user.accessToken })).status).toBe(200);
      const resumed = await ws.next('session.status.connected', { timeoutMs: 15_000 });
      expect(resumed.payload.phone).toBe('51777777777');
      expect(workerOf(survivor).sessionIds).toContain(session.id);
      expect(ws.events.filter((e) => e.type === 'session.qr.updated')).toHaveLength(1);

      // The dead worker is fenced: a write under its old lease is refused.
      const oldFence = { shard: oldLease!.shard, owner: ownerId, epoch: oldLease!.epoch };
      await expect(fencedTransaction(api.resources.db, oldFence, async () => {})).rejects.toBeInstanceOf(LeaseLostError);
    } finally {
      ws.close();
    }
  });
});
