import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { epochMs } from './stats.js';

/** What the probe in the wahub process recorded (epoch ms on the child's clock). */
export interface ProbeMarks {
  /** Message id → when the HTTP handler handed the simulator its `message` action. */
  control: Record<string, number>;
  /** Message id → when the worker handed the driver's report to its event publisher. */
  reported: Record<string, number>;
  /** Message id → when the publisher handed `session.messages.upsert` to the bus (XADD to domain-events). */
  published: Record<string, number>;
  /** `session.history.sync` entries the worker published. */
  history: { entries: number; messages: number; first: number | null; last: number | null };
  /** Statements run through the app's Db outside transactions since the last reset. */
  queries: number;
  /** Every statement (in transactions too) by kind: how many, and their total time (ms) as the app waited for them. */
  statements: Record<string, { n: number; ms: number }>;
  /** Transactions: how many, and their total time (ms). */
  transactions: { n: number; ms: number };
}

export type ParentMessage =
  | { type: 'clock'; seq: number }
  | { type: 'probe-reset' }
  | { type: 'probe-dump' }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string }
  | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'failed'; error: string }
  | { type: 'clock'; seq: number; at: number }
  | { type: 'probe-reset' }
  | { type: 'probe-dump'; marks: ProbeMarks }
  | { type: 'profile-start' }
  | { type: 'profile-stop' }
  | { type: 'stopped' };

/** The wahub process, seen from the benchmark. */
export class WahubServer {
  /** Add to a child timestamp to put it on this process's clock. */
  clockOffsetMs = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** Forks lib/wahub-process.ts with `env` as its whole configuration. */
  static async start(env: Record<string, string>, options: { startTimeoutMs?: number } = {}): Promise<WahubServer> {
    const entry = fileURLToPath(new URL('./wahub-process.ts', import.meta.url));
    const child = fork(entry, [], {
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BENCH_WAHUB_ENV: JSON.stringify(env) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('wahub did not start within the timeout'));
      }, options.startTimeoutMs ?? 60_000);
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m.url);
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`wahub failed to start:\n${m.error}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`wahub exited (code ${code}) before it was ready`));
      });
    });
    const server = new WahubServer(child, url);
    await server.calibrateClock();
    return server;
  }

  private request<T extends ChildMessage['type']>(message: ParentMessage, reply: T, timeoutMs = 30_000): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', on);
        reject(new Error(`wahub did not answer ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (m: ChildMessage) => {
        if (m.type !== reply) return;
        if (message.type === 'clock' && m.type === 'clock' && m.seq !== message.seq) return;
        clearTimeout(timer);
        this.child.off('message', on);
        resolve(m as Extract<ChildMessage, { type: T }>);
      };
      this.child.on('message', on);
      this.child.send(message);
    });
  }

  /**
   * Both clocks read the same system time, but each process fixes its epoch at start: measure the
   * offset over IPC (NTP style, from the fastest of several round trips).
   */
  async calibrateClock(): Promise<{ offsetMs: number; rttMs: number }> {
    let best = { offsetMs: 0, rttMs: Number.POSITIVE_INFINITY };
    for (let seq = 0; seq < 50; seq++) {
      const sent = epochMs();
      const { at } = await this.request({ type: 'clock', seq }, 'clock');
      const received = epochMs();
      const rtt = received - sent;
      if (rtt < best.rttMs) best = { offsetMs: (sent + received) / 2 - at, rttMs: rtt };
    }
    this.clockOffsetMs = best.offsetMs;
    return best;
  }

  async resetProbe(): Promise<void> {
    await this.request({ type: 'probe-reset' }, 'probe-reset');
  }

  /** The probe's marks, converted to this process's clock. */
  async probe(): Promise<ProbeMarks> {
    const { marks } = await this.request({ type: 'probe-dump' }, 'probe-dump');
    const shift = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v + this.clockOffsetMs]));
    const h = marks.history;
    return {
      control: shift(marks.control),
      reported: shift(marks.reported),
      published: shift(marks.published),
      history: { ...h, first: h.first === null ? null : h.first + this.clockOffsetMs, last: h.last === null ? null : h.last + this.clockOffsetMs },
      queries: marks.queries,
      statements: marks.statements,
      transactions: marks.transactions,
    };
  }

  /** Starts the V8 CPU profiler in the wahub process (its main thread). */
  async startProfile(): Promise<void> {
    await this.request({ type: 'profile-start' }, 'profile-start');
  }

  /** Stops it and has the profile written to `file` (.cpuprofile, for Chrome DevTools or lib/profile.ts). */
  async stopProfile(file: string): Promise<void> {
    await this.request({ type: 'profile-stop', file }, 'profile-stop', 60_000);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops wahub cleanly (its CPU profile, if any, is written then); kills it if it hangs. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** The probe's statements, most time first: "kind n× avg ms (total ms)". */
export function describeStatements(marks: ProbeMarks, top = 8): string {
  return Object.entries(marks.statements)
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([kind, s]) => `${kind}: ${s.n.toLocaleString('en-US')}× avg ${(s.ms / s.n).toFixed(2)} ms (${Math.round(s.ms).toLocaleString('en-US')} ms)`)
    .join('; ');
}
