import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * Where the machine's CPU went during a benchmark (Linux /proc): this process, the wahub process,
 * the Postgres backends of the run's database, and everything else. On a shared machine the last
 * one says how far the absolute figures can be trusted; the ratios to same-run baselines hold better.
 * "Everything else" is Redis, Postgres background work and any other process on the machine.
 */
const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every mainstream Linux

function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function processTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return null;
  }
}

export interface CpuGroups {
  bench: number[];
  wahub: number[];
  postgres: number[];
}

type Group = keyof CpuGroups;

/**
 * Samples the groups' processes every `everyMs` (Postgres backends come and go with pools), so a
 * process that ends during the window still counts up to its last sample.
 */
export class CpuMeter {
  private readonly seen = new Map<number, { group: Group; first: number; last: number }>();
  private readonly machine = machineTicks();
  private readonly startedAt = performance.now();
  private readonly timer: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();

  constructor(private readonly groups: () => Promise<CpuGroups>, everyMs = 1000) {
    this.sampling = this.sample(true);
    this.timer = setInterval(() => (this.sampling = this.sampling.then(() => this.sample(false))), everyMs);
    this.timer.unref();
  }

  private async sample(initial: boolean): Promise<void> {
    let groups: CpuGroups;
    try {
      groups = await this.groups();
    } catch {
      return;
    }
    for (const group of Object.keys(groups) as Group[]) {
      for (const pid of groups[group]) {
        const ticks = processTicks(pid);
        if (ticks === null) continue;
        const known = this.seen.get(pid);
        if (known) known.last = ticks;
        // A process first seen later was born during the window: all its time counts.
        else this.seen.set(pid, { group, first: initial ? ticks : 0, last: ticks });
      }
    }
  }

  /**
   * Stops sampling. Returns the CPU used since the start in cores (1.0 = one core for the whole
   * time), e.g. "machine 1.92 of 2 cores busy: benchmark 0.41, wahub 0.97, Postgres (run) 0.44, other 0.10".
   */
  async stop(): Promise<string> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample(false);
    const end = machineTicks();
    if (!this.machine || !end) return 'CPU use not available (no /proc)';
    const seconds = (performance.now() - this.startedAt) / 1000;
    const used: Record<Group, number> = { bench: 0, wahub: 0, postgres: 0 };
    for (const p of this.seen.values()) used[p.group] += (p.last - p.first) / TICKS_PER_SECOND / seconds;
    const cores = cpus().length;
    const busy = ((end.busy - this.machine.busy) / Math.max(1, end.total - this.machine.total)) * cores;
    const other = Math.max(0, busy - used.bench - used.wahub - used.postgres);
    const f = (n: number) => n.toFixed(2);
    return `machine ${f(busy)} of ${cores} cores busy: benchmark process ${f(used.bench)}, wahub process ${f(used.wahub)}, the run's Postgres backends ${f(used.postgres)}, everything else ${f(other)}`;
  }
}
