import type { Db, Queryable } from '../../../platform/db/db.js';
import { LeaseLostError, type LeaseFence } from '../domain/whatsapp-driver.js';

/**
 * Runs fn in a transaction only while `fence` still holds its shard's lease. The lease row is read
 * FOR SHARE, so a takeover (which updates that row) waits for this transaction, and a worker that
 * lost the lease writes nothing.
 */
export async function fencedTransaction<T>(db: Db, fence: LeaseFence, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const held = await tx.query(
      `select 1 from session_shard_leases
       where shard = $1 and owner = $2 and epoch = $3 and expires_at > now() for share`,
      [fence.shard, fence.owner, fence.epoch],
    );
    if (held.length === 0) throw new LeaseLostError(fence);
    return fn(tx);
  });
}
