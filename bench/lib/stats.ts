/**
 * Percentiles on recorded samples: every sample is kept, sorted once, and read by nearest rank
 * (what an HDR histogram approximates, without its bucketing error).
 */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** The sample at quantile q (0..1) of an ascending array, by nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    min: sorted.length ? sorted[0]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** A wall clock in milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export const ms = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ms' : 'n/a');

export function rate(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  const n = v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
  return `${n} ${unit}`;
}

export const ratio = (a: number, b: number): string => (Number.isFinite(a / b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
