import type { Db } from '../../../platform/db/db.js';
import type { Logger } from '../../../platform/logger.js';

export interface ShardLeaseListener {
  /** The shard is ours at this epoch: start consuming its commands and resume its sessions. */
  acquired(shard: number, epoch: number): Promise<void>;
  /** We are giving the shard up on purpose: close its sockets cleanly before the lease is freed. */
  releasing(shard: number): Promise<void>;
  /** The lease is gone (expired or taken): close its sockets at once, write nothing more. */
  lost(shard: number): void;
}

export interface ShardLeaseOptions {
  db: Db;
  workerId: string;
  shards: number;
  ttlMs: number;
  logger: Logger;
  listener: ShardLeaseListener;
}

/**
 * Spreads the command shards over the live workers. Every ttl/3 a worker heartbeats its
 * registration, renews its leases, and takes free shards or gives some up so each holds about
 * shards / workers. A takeover bumps the shard's epoch, which fences the previous owner.
 */
export class ShardLeaseManager {
  private readonly owned = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastRenewedAt = 0;
  private running = false;

  constructor(private readonly options: ShardLeaseOptions) {}

  get ownedShards(): ReadonlyMap<number, number> {
    return this.owned;
  }

  async start(): Promise<void> {
    const { db, shards } = this.options;
    await db.query(
      `insert into session_shard_leases (shard) select generate_series(0, $1::int - 1) on conflict (shard) do nothing`,
      [shards],
    );
    this.running = true;
    await this.tick();
    this.schedule();
  }

  /** Graceful: close every session cleanly, free the leases so others take over at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    for (const shard of [...this.owned.keys()]) await this.release(shard);
    await this.options.db.query(`delete from session_workers where id = $1`, [this.options.workerId]).catch(() => {});
  }

  /** Stops heartbeating without releasing anything, as a crashed process would. */
  halt(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(async () => {
      this.ticking = this.tick();
      await this.ticking;
      this.schedule();
    }, Math.max(100, Math.floor(this.options.ttlMs / 3)));
  }

  async tick(): Promise<void> {
    const { db, workerId, ttlMs, shards, logger, listener } = this.options;
    try {
      await db.query(
        `insert into session_workers (id, expires_at) values ($1, now() + make_interval(secs => $2::float8 / 1000))
         on conflict (id) do update set expires_at = excluded.expires_at`,
        [workerId, ttlMs],
      );
      const renewed = await db.query<{ shard: number }>(
        `update session_shard_leases set expires_at = now() + make_interval(secs => $3::float8 / 1000), heartbeat_at = now()
         where owner = $1 and shard = any($2::int[]) and expires_at > now()
         returning shard`,
        [workerId, [...this.owned.keys()], ttlMs],
      );
      this.lastRenewedAt = Date.now();
      const kept = new Set(renewed.map((r) => r.shard));
      for (const shard of [...this.owned.keys()]) {
        if (kept.has(shard)) continue;
        logger.warn({ shard }, 'shard lease lost');
        this.owned.delete(shard);
        listener.lost(shard);
      }
      if (!this.running) return;

      const [{ live } = { live: 1 }] = await db.query<{ live: number }>(
        `select count(*)::int as live from session_workers where expires_at > now()`,
      );
      const target = Math.ceil(shards / Math.max(1, live));
      if (this.owned.size > target) {
        const extra = [...this.owned.keys()].sort((a, b) => b - a).slice(0, this.owned.size - target);
        for (const shard of extra) await this.release(shard);
      } else if (this.owned.size < target) {
        const acquired = await db.query<{ shard: number; epoch: number }>(
          `update session_shard_leases
           set owner = $1, epoch = epoch + 1, expires_at = now() + make_interval(secs => $3::float8 / 1000), heartbeat_at = now()
           where shard in (
             select shard from session_shard_leases where expires_at <= now() and shard < $4
             order by shard limit $2 for update skip locked)
           returning shard, epoch`,
          [workerId, target - this.owned.size, ttlMs, shards],
        );
        for (const { shard, epoch } of acquired) {
          this.owned.set(shard, epoch);
          logger.info({ shard, epoch }, 'shard lease acquired');
          try {
            await listener.acquired(shard, epoch);
          } catch (error) {
            logger.error({ err: error, shard }, 'starting a shard failed; releasing it');
            await this.release(shard);
          }
        }
      }
    } catch (error) {
      logger.error({ err: error }, 'shard lease heartbeat failed');
      // Unable to renew: past most of the TTL another worker may take over, so stop writing now.
      if (Date.now() - this.lastRenewedAt > ttlMs * 0.8) {
        for (const shard of [...this.owned.keys()]) {
          this.owned.delete(shard);
          listener.lost(shard);
        }
      }
    }
  }

  private async release(shard: number): Promise<void> {
    const { db, workerId, listener, logger } = this.options;
    try {
      await listener.releasing(shard);
    } catch (error) {
      logger.error({ err: error, shard }, 'closing a shard failed');
    }
    this.owned.delete(shard);
    await db
      .query(`update session_shard_leases set owner = null, expires_at = now() where shard = $1 and owner = $2`, [shard, workerId])
      .catch((error) => logger.error({ err: error, shard }, 'releasing a shard lease failed'));
    logger.info({ shard }, 'shard lease released');
  }
}
