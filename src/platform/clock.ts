export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Sleeps ms, but resolves at once when the signal aborts (a loop being stopped). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
