/**
 * Load shapes. Both stop by themselves: the open loop after its schedule, the closed loop at its
 * deadline (each worker finishes the request it has in flight).
 */

export interface OpenLoopResult {
  /** Requests issued. */
  issued: number;
  /** How late each request was issued behind its schedule (ms): the generator's own lag. */
  lagMs: number[];
  elapsedMs: number;
  /** Operations that threw (each error message once, with its count). */
  errors: Map<string, number>;
}

/**
 * Open loop: `rate` operations per second for `durationMs`, issued on schedule whether or not
 * earlier ones have answered. `op` gets the sequence number; it times itself. Resolves when every
 * operation has settled, or `drainMs` after the last was issued.
 */
export async function openLoop(options: { rate: number; durationMs: number; drainMs?: number; op: (seq: number) => Promise<unknown> }): Promise<OpenLoopResult> {
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const interval = 1000 / options.rate;
  const lagMs: number[] = [];
  const errors = new Map<string, number>();
  const inFlight = new Set<Promise<unknown>>();
  const start = performance.now();
  let issued = 0;
  while (issued < total) {
    const now = performance.now();
    // Everything due by now goes out (a timer may wake late: the backlog is sent at once).
    while (issued < total && start + issued * interval <= now) {
      lagMs.push(now - (start + issued * interval));
      const p = options
        .op(issued)
        .catch((error: unknown) => {
          const key = error instanceof Error ? error.message : String(error);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      issued++;
    }
    if (issued < total) {
      // A timer, never a setImmediate spin: the generator must not eat a core of a small machine.
      // Timers wake about a millisecond late; what fell due meanwhile goes out together.
      const wait = start + issued * interval - performance.now();
      await new Promise((r) => setTimeout(r, Math.max(1, Math.floor(wait))));
    }
  }
  const elapsedMs = performance.now() - start;
  const drain = new Promise((r) => setTimeout(r, options.drainMs ?? 10_000).unref());
  await Promise.race([Promise.allSettled([...inFlight]), drain]);
  return { issued, lagMs, elapsedMs, errors };
}

export interface ClosedLoopResult {
  completed: number;
  elapsedMs: number;
  latencyMs: number[];
  errors: Map<string, number>;
}

/**
 * Closed loop: `concurrency` workers, each issuing its next operation as soon as the previous one
 * answered, until `durationMs` have passed. Throughput is completed / elapsed.
 */
export async function closedLoop(options: { concurrency: number; durationMs: number; op: (worker: number) => Promise<unknown> }): Promise<ClosedLoopResult> {
  const latencyMs: number[] = [];
  const errors = new Map<string, number>();
  const start = performance.now();
  const deadline = start + options.durationMs;
  let completed = 0;
  const worker = async (w: number) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await options.op(w);
        latencyMs.push(performance.now() - t0);
        completed++;
      } catch (error) {
        const key = error instanceof Error ? error.message : String(error);
        errors.set(key, (errors.get(key) ?? 0) + 1);
        if (errors.size > 0 && [...errors.values()].reduce((a, b) => a + b, 0) > 100) throw new Error(`too many errors: ${key}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  return { completed, elapsedMs: performance.now() - start, latencyMs, errors };
}

export function describeErrors(errors: Map<string, number>): string {
  return [...errors.entries()].map(([message, n]) => `${n}× ${message}`).join('; ');
}
