/**
 * (2) Live message latency: open loop at `rate` inbound messages/s through the simulator
 * (POST /simulator/sessions/:id/messages), each timed until the tenant's WebSocket client receives
 * its `session.messages.upsert`. Beside it: a bare Redis XADD → XREADGROUP round trip at the same
 * rate. The probe in the wahub process splits each message's time into its hops.
 */
import { createRedis, type Redis } from '../src/platform/redis.js';
import type { BenchEnvironment } from './lib/environment.js';
import { REDIS_URL } from './lib/environment.js';
import { HttpClient } from './lib/http.js';
import { describeErrors, openLoop } from './lib/load.js';
import type { BenchResult } from './lib/report.js';
import { epochMs, ms, summarize, type Summary } from './lib/stats.js';

export interface LatencyOptions {
  rate: number;
  durationMs: number;
  warmupMs: number;
  log: (line: string) => void;
}

const CONTACTS = 50;
const contact = (seq: number) => `5198${String(seq % CONTACTS).padStart(7, '0')}`;

interface Phase {
  issued: Map<string, number>;
  responded: Map<string, number>;
  received: Map<string, number>;
}

async function driveSimulator(env: BenchEnvironment, http: HttpClient, phaseName: string, options: LatencyOptions, durationMs: number, tenant: { token: string; sessionId: string; ws: import('./lib/ws.js').WsClient }) {
  const phase: Phase = { issued: new Map(), responded: new Map(), received: new Map() };
  const prefix = `BENCH${phaseName}`;
  const off = tenant.ws.onEvent((event, receivedAt) => {
    if (event.type !== 'session.messages.upsert') return;
    for (const m of (event.payload.messages ?? []) as { id: string }[]) if (m.id.startsWith(prefix)) phase.received.set(m.id, receivedAt);
  });
  const path = `/simulator/sessions/${tenant.sessionId}/messages`;
  const loop = await openLoop({
    rate: options.rate,
    durationMs,
    op: async (seq) => {
      const id = `${prefix}${String(seq).padStart(6, '0')}`;
      const at = epochMs();
      phase.issued.set(id, at);
      const res = await http.request('POST', path, { token: tenant.token, body: { from: contact(seq), text: `bench message sent at ${at.toFixed(3)}`, id } });
      phase.responded.set(id, epochMs());
      if (res.status !== 202) throw new Error(`POST ${path}: ${res.status} ${res.body.slice(0, 200)}`);
    },
  });
  // Everything issued has answered (or the drain timed out): wait for the stragglers on the WebSocket.
  const deadline = performance.now() + 10_000;
  while (phase.received.size < phase.issued.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  off();
  return { phase, loop };
}

function differences(phase: Phase, from: (id: string) => number | undefined, to: (id: string) => number | undefined): number[] {
  const out: number[] = [];
  for (const id of phase.issued.keys()) {
    const a = from(id);
    const b = to(id);
    if (a !== undefined && b !== undefined) out.push(b - a);
  }
  return out;
}

/** The entries of an XREADGROUP reply, RESP2 or RESP3 (ioredis 6 speaks RESP3 by default). */
function entriesOf(reply: unknown): [string, string[]][] {
  if (!reply) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (Array.isArray(reply[0])) return ((reply[0] as unknown[])[1] as [string, string[]][]) ?? [];
    return (reply[1] as [string, string[]][]) ?? [];
  }
  return (Object.values(reply as object)[0] as [string, string[]][]) ?? [];
}

/** XADD on one connection, XREADGROUP BLOCK + XACK on another, as the app's consumers do. */
async function redisRoundTrip(prefix: string, rate: number, durationMs: number, warmupMs: number): Promise<{ samples: number[]; sent: number; lagMs: number[] }> {
  const producer: Redis = createRedis(REDIS_URL, 'wahub-bench-producer');
  const consumer: Redis = createRedis(REDIS_URL, 'wahub-bench-consumer');
  const key = `${prefix}bench:round-trip`;
  try {
    await producer.call('XGROUP', 'CREATE', key, 'bench', '$', 'MKSTREAM');
    let measuring = false;
    let running = true;
    const samples: number[] = [];
    const reader = (async () => {
      while (running) {
        const reply = await consumer.call('XREADGROUP', 'GROUP', 'bench', 'c1', 'COUNT', '100', 'BLOCK', '200', 'STREAMS', key, '>');
        const now = epochMs();
        const entries = entriesOf(reply);
        for (const [, fields] of entries) if (measuring && fields[1] === 'm') samples.push(now - Number(fields[3]));
        if (entries.length > 0) await consumer.call('XACK', key, 'bench', ...entries.map(([id]) => id));
      }
    })();
    const send = (tag: string) => async () => {
      await producer.call('XADD', key, 'MAXLEN', '~', '100000', '*', 'phase', tag, 't', epochMs().toFixed(3));
    };
    await openLoop({ rate, durationMs: warmupMs, op: send('w') });
    measuring = true;
    const loop = await openLoop({ rate, durationMs, op: send('m') });
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await reader;
    return { samples, sent: loop.issued, lagMs: loop.lagMs };
  } finally {
    await producer.del(key).catch(() => {});
    producer.disconnect();
    consumer.disconnect();
  }
}

const line = (label: string, s: Summary) => `${label}: p50 ${ms(s.p50)}, p90 ${ms(s.p90)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (n = ${s.count.toLocaleString('en-US')})`;

export async function benchLatency(env: BenchEnvironment, options: LatencyOptions): Promise<BenchResult> {
  const { log } = options;
  const tenant = await env.connectedTenant('latency');
  // Enough sockets that the open loop never queues behind its own connections.
  const http = new HttpClient(env.server!.url, { maxSockets: 256 });
  try {
    log(`  wahub: warm-up, ${options.rate} msg/s for ${options.warmupMs / 1000} s`);
    await driveSimulator(env, http, 'W', options, options.warmupMs, tenant);
    await new Promise((r) => setTimeout(r, 1000));
    await env.server!.calibrateClock();
    await env.server!.resetProbe();
    log(`  wahub: ${options.rate} msg/s for ${options.durationMs / 1000} s (open loop)`);
    let meter = env.cpuMeter();
    const {
      result: { phase, loop },
      profile,
    } = await env.profiled('latency', () => driveSimulator(env, http, 'M', options, options.durationMs, tenant));
    const wahubCpu = await meter.stop();
    const probe = await env.server!.probe();

    const issued = (id: string) => phase.issued.get(id);
    const e2e = summarize(differences(phase, issued, (id) => phase.received.get(id)));
    const response = summarize(differences(phase, issued, (id) => phase.responded.get(id)));
    const toControl = summarize(differences(phase, issued, (id) => probe.control[id]));
    const controlToPublish = summarize(differences(phase, (id) => probe.control[id], (id) => probe.published[id]));
    const publishToWs = summarize(differences(phase, (id) => probe.published[id], (id) => phase.received.get(id)));
    const lost = phase.issued.size - phase.received.size;
    const lag = summarize(loop.lagMs);

    log(`  baseline: Redis XADD → XREADGROUP at ${options.rate}/s for ${options.durationMs / 1000} s`);
    meter = env.cpuMeter();
    const redis = await redisRoundTrip(env.redisPrefix, options.rate, options.durationMs, Math.min(options.warmupMs, 2000));
    const redisCpu = await meter.stop();
    const bare = summarize(redis.samples);

    const notes = [
      `Open loop: ${phase.issued.size.toLocaleString('en-US')} messages issued at ${options.rate}/s over ${(loop.elapsedMs / 1000).toFixed(1)} s from ${CONTACTS} contacts; ${phase.received.size.toLocaleString('en-US')} reached the WebSocket client${lost ? ` (**${lost} not within 10 s**)` : ''}${loop.errors.size ? `; errors: ${describeErrors(loop.errors)}` : ''}. Generator lag behind schedule: p99 ${ms(lag.p99)}, max ${ms(lag.max)}.`,
      line('End to end (HTTP call issued → WebSocket client has the event)', e2e),
      line('HTTP answer of POST /simulator/…/messages (202)', response),
      'Hops, from the probe in the wahub process (clocks aligned over IPC):',
      `  - ${line('call issued → handler appends the action to `simulator-control` (HTTP, bearer check, session lookup)', toControl)}`,
      `  - ${line('`simulator-control` append → worker publishes the upsert (simulator XREAD, driver report, mapping)', controlToPublish)}`,
      `  - ${line('worker publishes → WebSocket client has it (XADD `domain-events`, hub XREAD, send, client)', publishToWs)}`,
      line('Bare Redis XADD → XREADGROUP (BLOCK) round trip, same rate', bare),
      `CPU while wahub was measured: ${wahubCpu}. During the Redis baseline: ${redisCpu}.`,
      ...profile,
    ];
    if (redis.samples.length < redis.sent) notes.push(`Redis baseline: ${redis.sent - redis.samples.length} of ${redis.sent} entries not read back.`);
    return {
      name: 'Live message latency',
      rows: [
        {
          benchmark: '2. Live message latency',
          metric: `inbound message → WS client, ${options.rate} msg/s, p50`,
          value: ms(e2e.p50),
          baseline: `Redis XADD → XREADGROUP p50 ${ms(bare.p50)}`,
          ratio: `${(e2e.p50 / bare.p50).toFixed(1)}×`,
          target: '',
          met: null,
        },
        {
          benchmark: '',
          metric: 'p99',
          value: ms(e2e.p99),
          baseline: `Redis XADD → XREADGROUP p99 ${ms(bare.p99)}`,
          ratio: `${(e2e.p99 / bare.p99).toFixed(1)}×`,
          target: '≤ 15 ms',
          met: e2e.p99 <= 15 && lost === 0,
        },
        {
          benchmark: '',
          metric: 'from the driver’s report (worker publish) → WS client, p50 / p99',
          value: `${ms(publishToWs.p50)} / ${ms(publishToWs.p99)}`,
          baseline: `Redis p50 / p99 ${ms(bare.p50)} / ${ms(bare.p99)}`,
          ratio: `${(publishToWs.p99 / bare.p99).toFixed(1)}× (p99)`,
          target: '',
          met: null,
        },
      ],
      notes,
    };
  } finally {
    http.close();
    tenant.ws.close();
  }
}
