/**
 * (2) Live message latency: open loop at `rate` inbound messages/s, each timed until the tenant's
 * WebSocket client receives its `session.messages.upsert`. Two ways in:
 *  - through the simulator's HTTP control API (POST /simulator/sessions/:id/messages), as a test
 *    drives it: the request's own cost (bearer check, session lookup) is in the figure;
 *  - straight into the simulator's control stream (what that route appends), which stands for
 *    WhatsApp's socket: the path production traffic takes, without the test-only HTTP hop.
 * Beside them: a bare Redis XADD → XREADGROUP round trip at the same rate. The probe in the wahub
 * process splits each message's time into its hops.
 */
import { createRedis, type Redis } from '../src/platform/redis.js';
import { SIMULATOR_CONTROL_STREAM, type SimulatorAction } from '../src/modules/sessions/adapters/simulator/simulator-driver.js';
import type { BenchEnvironment, Tenant } from './lib/environment.js';
import { REDIS_URL } from './lib/environment.js';
import { HttpClient } from './lib/http.js';
import { describeErrors, openLoop, type OpenLoopResult } from './lib/load.js';
import { describeStatements, type ProbeMarks } from './lib/server.js';
import type { BenchResult, ResultRow } from './lib/report.js';
import { epochMs, ms, rate, summarize, type Summary } from './lib/stats.js';

export interface LatencyOptions {
  rate: number;
  durationMs: number;
  warmupMs: number;
  log: (line: string) => void;
}

const CONTACTS = 50;
const contact = (seq: number) => `5198${String(seq % CONTACTS).padStart(7, '0')}`;

type Way = 'http' | 'stream';

interface Run {
  issued: Map<string, number>;
  responded: Map<string, number>;
  received: Map<string, number>;
  loop: OpenLoopResult;
}

/** Sends `rate` messages/s for durationMs the given way; waits (≤ 10 s) for the stragglers on the WebSocket. */
async function drive(env: BenchEnvironment, way: Way, tag: string, tenant: Tenant, rate: number, durationMs: number, clients: { http: HttpClient; redis: Redis }): Promise<Run> {
  const run: Omit<Run, 'loop'> = { issued: new Map(), responded: new Map(), received: new Map() };
  const prefix = `BENCH${tag}`;
  const off = tenant.ws.onEvent((event, receivedAt) => {
    if (event.type !== 'session.messages.upsert') return;
    for (const m of (event.payload.messages ?? []) as { id: string }[]) if (m.id.startsWith(prefix)) run.received.set(m.id, receivedAt);
  });
  const path = `/simulator/sessions/${tenant.sessionId}/messages`;
  const controlStream = env.redisPrefix + SIMULATOR_CONTROL_STREAM;
  const loop = await openLoop({
    rate,
    durationMs,
    op: async (seq) => {
      const id = `${prefix}${String(seq).padStart(6, '0')}`;
      const at = epochMs();
      run.issued.set(id, at);
      const text = `bench message sent at ${at.toFixed(3)}`;
      if (way === 'http') {
        const res = await clients.http.request('POST', path, { token: tenant.token, body: { from: contact(seq), text, id } });
        run.responded.set(id, epochMs());
        if (res.status !== 202) throw new Error(`POST ${path}: ${res.status} ${res.body.slice(0, 200)}`);
      } else {
        // Exactly what the HTTP route appends for this message.
        const action: SimulatorAction = {
          action: 'message',
          sessionId: tenant.sessionId,
          id,
          from: `${contact(seq)}@s.whatsapp.net`,
          text,
          quotedMessageId: null,
          group: null,
          timestamp: Math.floor(at / 1000),
          pushName: null,
        };
        await clients.redis.call('XADD', controlStream, 'MAXLEN', '~', '1000000', '*', 'data', JSON.stringify(action));
        run.responded.set(id, epochMs());
      }
    },
  });
  const deadline = performance.now() + 10_000;
  while (run.received.size < run.issued.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  off();
  return { ...run, loop };
}

function differences(run: Run, from: (id: string) => number | undefined, to: (id: string) => number | undefined): number[] {
  const out: number[] = [];
  for (const id of run.issued.keys()) {
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
async function redisRoundTrip(prefix: string, rate: number, durationMs: number, warmupMs: number): Promise<{ samples: number[]; sent: number }> {
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
    return { samples, sent: loop.issued };
  } finally {
    await producer.del(key).catch(() => {});
    producer.disconnect();
    consumer.disconnect();
  }
}

const line = (label: string, s: Summary) => `${label}: p50 ${ms(s.p50)}, p90 ${ms(s.p90)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (n = ${s.count.toLocaleString('en-US')})`;

interface Measured {
  way: Way;
  run: Run;
  e2e: Summary;
  fromReport: Summary;
  lost: number;
  notes: string[];
}

async function measure(env: BenchEnvironment, way: Way, tenant: Tenant, options: LatencyOptions, clients: { http: HttpClient; redis: Redis }): Promise<Measured> {
  const label = way === 'http' ? 'HTTP control API' : 'control stream';
  options.log(`  wahub via the ${label}: warm-up ${options.warmupMs / 1000} s, then ${options.rate} msg/s for ${options.durationMs / 1000} s (open loop)`);
  const tag = way === 'http' ? 'H' : 'S';
  await drive(env, way, `${tag}W`, tenant, options.rate, options.warmupMs, clients);
  await env.drained();
  clients.http.reset();
  await env.server!.calibrateClock();
  await env.server!.resetProbe();
  const meter = env.cpuMeter();
  const t0 = performance.now();
  const { result: run, profile } = await env.profiled(`latency-${way}`, () => drive(env, way, `${tag}M`, tenant, options.rate, options.durationMs, clients));
  const cpu = await meter.stop();
  // The projection stores the same messages meanwhile; how long after the last one did it catch up?
  await env.drained();
  const projectedMs = performance.now() - t0;
  const probe: ProbeMarks = await env.server!.probe();

  const issued = (id: string) => run.issued.get(id);
  const received = (id: string) => run.received.get(id);
  const published = (id: string) => probe.published[id];
  const reported = (id: string) => probe.reported[id];
  const e2e = summarize(differences(run, issued, received));
  const fromReport = summarize(differences(run, reported, received));
  const lost = run.issued.size - run.received.size;
  const lag = summarize(run.loop.lagMs);
  const notes = [
    `Via the ${label}: ${run.issued.size.toLocaleString('en-US')} messages at ${options.rate}/s over ${(run.loop.elapsedMs / 1000).toFixed(1)} s from ${CONTACTS} contacts; ${run.received.size.toLocaleString('en-US')} reached the WebSocket client${lost ? ` (**${lost} not within 10 s**)` : ''}${run.loop.errors.size ? `; errors: ${describeErrors(run.loop.errors)}` : ''}; generator lag behind schedule p99 ${ms(lag.p99)}.`,
    `  - ${line('end to end (sent → WebSocket client has the event)', e2e)}`,
  ];
  if (way === 'http') {
    const control = (id: string) => probe.control[id];
    notes.push(
      `  - ${line('HTTP answer (202)', summarize(differences(run, issued, (id) => run.responded.get(id))))}`,
      `  - ${line('hop: call issued → the route appends the action to the control stream (HTTP, bearer check with its token query, session lookup)', summarize(differences(run, issued, control)))}`,
      `  - ${line('hop: control stream → the driver reports it to the worker (simulator XREAD, driver)', summarize(differences(run, control, reported)))}`,
    );
  } else {
    notes.push(`  - ${line('hop: XADD to the control stream → the driver reports it to the worker (simulator XREAD, driver)', summarize(differences(run, issued, reported)))}`);
  }
  notes.push(
    `  - ${line('hop: the worker hands it to its event publisher → the publisher appends it to domain-events (its queue)', summarize(differences(run, reported, published)))}`,
    `  - ${line('hop: appended to domain-events → WebSocket client has it (hub XREAD, send, client)', summarize(differences(run, published, received)))}`,
    `  - ${line('from the driver’s report → WebSocket client', fromReport)}`,
    `  - the projection (consumer group \`projections\`) had stored them ${((projectedMs - run.loop.elapsedMs) / 1000).toFixed(1)} s after the last was sent: ${rate((run.issued.size / projectedMs) * 1000, 'msg/s')} projected, against ${options.rate} offered. ` +
      `Statements of the phase and the drain (${probe.transactions.n.toLocaleString('en-US')} transactions): ${describeStatements(probe, 7)}.`,
    `  - CPU: ${cpu}.`,
    ...profile.map((p) => `  - ${p}`),
  );
  return { way, run, e2e, fromReport, lost, notes };
}

export async function benchLatency(env: BenchEnvironment, options: LatencyOptions): Promise<BenchResult> {
  const tenant = await env.connectedTenant('latency');
  // Enough sockets that the open loop never queues behind its own connections.
  const clients = { http: new HttpClient(env.server!.url, { maxSockets: 256 }), redis: createRedis(REDIS_URL, 'wahub-bench-control') };
  try {
    const http = await measure(env, 'http', tenant, options, clients);
    const stream = await measure(env, 'stream', tenant, options, clients);

    options.log(`  baseline: Redis XADD → XREADGROUP at ${options.rate}/s for ${options.durationMs / 1000} s`);
    const meter = env.cpuMeter();
    const redis = await redisRoundTrip(env.redisPrefix, options.rate, options.durationMs, Math.min(options.warmupMs, 2000));
    const redisCpu = await meter.stop();
    const bare = summarize(redis.samples);

    const vsBare = (s: Summary, p: 'p50' | 'p99') => `${(s[p] / bare[p]).toFixed(1)}×`;
    const rows: ResultRow[] = [];
    for (const m of [http, stream]) {
      const how = m.way === 'http' ? 'via the simulator’s HTTP API' : 'injected in the simulator’s control stream';
      rows.push(
        {
          benchmark: rows.length === 0 ? '2. Live message latency' : '',
          metric: `inbound message → WS client, ${how}, ${options.rate} msg/s: p50`,
          value: ms(m.e2e.p50),
          baseline: `Redis XADD → XREADGROUP p50 ${ms(bare.p50)}`,
          ratio: vsBare(m.e2e, 'p50'),
          target: '',
          met: null,
        },
        { benchmark: '', metric: 'p99', value: ms(m.e2e.p99), baseline: `Redis p99 ${ms(bare.p99)}`, ratio: vsBare(m.e2e, 'p99'), target: '≤ 15 ms', met: m.e2e.p99 <= 15 && m.lost === 0 },
      );
    }
    rows.push({
      benchmark: '',
      metric: 'from the driver’s report (handed to the worker’s publisher) → WS client, p50 / p99 (control-stream run)',
      value: `${ms(stream.fromReport.p50)} / ${ms(stream.fromReport.p99)}`,
      baseline: `Redis ${ms(bare.p50)} / ${ms(bare.p99)}`,
      ratio: `${vsBare(stream.fromReport, 'p99')} (p99)`,
      target: '',
      met: null,
    });
    const notes = [
      ...http.notes,
      ...stream.notes,
      line('Bare Redis XADD → XREADGROUP (BLOCK, then XACK) round trip, same rate', bare),
      `  - CPU: ${redisCpu}.`,
      'Times are taken with performance.timeOrigin + performance.now() in both processes, the wahub clock aligned to the benchmark’s over IPC (offset from the fastest of 50 round trips).',
    ];
    if (redis.samples.length < redis.sent) notes.push(`Redis baseline: ${redis.sent - redis.samples.length} of ${redis.sent} entries not read back.`);
    return { name: 'Live message latency', rows, notes };
  } finally {
    clients.http.close();
    clients.redis.disconnect();
    tenant.ws.close();
  }
}
