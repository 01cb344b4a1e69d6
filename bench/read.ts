/**
 * (3) GET /chats/:jid/messages?limit=50 on the largest chat of a session holding
 * `totalMessages` messages (seeded with COPY: setup, not measured), walking pages with the
 * cursor. Closed loop with `concurrency` connections for throughput, open loop at `rate`
 * requests/s for latency; beside each, the bare keyset query of the endpoint's repository, same
 * SQL, through the app's own postgres.js adapter, at the same concurrency or rate. Then
 * diagnostics: the query plans, the endpoint's use case without HTTP, and a one-statement page.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { SqlChatReader } from '../src/modules/chats/adapters/sql-chat-reader.js';
import { listMessages } from '../src/modules/chats/application/list-messages.query.js';
import type { Db } from '../src/platform/db/db.js';
import { createPostgresDb } from '../src/platform/db/postgres-db.js';
import { copyRows, type CopyValue } from './lib/copy.js';
import type { BenchEnvironment, Tenant } from './lib/environment.js';
import { HttpClient } from './lib/http.js';
import { closedLoop, describeErrors, openLoop, type ClosedLoopResult } from './lib/load.js';
import type { BenchResult } from './lib/report.js';
import { describeStatements, type ProbeMarks } from './lib/server.js';
import { ms, rate, ratio, summarize } from './lib/stats.js';
import { explain, onePageSql, onePageView, pageSql, type OnePageRow } from './read-sql.js';

export interface ReadOptions {
  totalMessages: number;
  bigChatMessages: number;
  messagesPerChat: number;
  concurrency: number;
  rounds: number;
  rate: number;
  durationMs: number;
  log: (line: string) => void;
}

const LIMIT = 50;
const BIG_CHAT = '51987654321@s.whatsapp.net';

function checkSqlInStep(log: (line: string) => void): void {
  const squash = (s: string) => s.replace(/\$\{keyset\}/g, '').replace(/\s+/g, ' ').trim();
  try {
    const source = readFileSync(fileURLToPath(new URL('../src/modules/chats/adapters/sql-chat-reader.ts', import.meta.url)), 'utf8');
    if (!squash(source).includes(squash(pageSql(false)))) log('  WARNING: the page query in sql-chat-reader.ts no longer matches bench/read-sql.ts: the bare baseline may not be the endpoint’s SQL');
  } catch {
    log('  WARNING: src/modules/chats/adapters/sql-chat-reader.ts not found: cannot check the bare query against the endpoint’s');
  }
}

// ---------------------------------------------------------------------------------------------
// Setup: the store

const messageId = (chat: number, i: number) => `3EB0${chat.toString(16).toUpperCase().padStart(6, '0')}${i.toString(16).toUpperCase().padStart(12, '0')}`;
const WORDS = ['hola', 'sí', 'mañana', 'te llamo', 'ok', 'perfecto', 'gracias', 'dónde estás', 'ya voy', 'la reunión', 'a las 5', 'jaja', 'precio', 'enviado'];
const MESSAGE_COLUMNS = ['tenant_id', 'session_id', 'chat_jid', 'message_id', 'from_me', 'participant', 'timestamp', 'type', 'text', 'quoted_message_id', 'push_name', 'status', 'status_at'];

/** A chat of `n` messages, oldest first: a tenth are replies, a third ours, two messages per second (ties on purpose). */
function* chatRows(tenant: Tenant, chatIndex: number, jid: string, n: number, newest: number): Generator<CopyValue[]> {
  for (let i = 0; i < n; i++) {
    const fromMe = i % 3 === 0;
    const reply = i % 10 === 9;
    const timestamp = newest - Math.floor((n - 1 - i) / 2);
    const words = 3 + ((i * 7 + chatIndex) % 12);
    let text = '';
    for (let w = 0; w < words; w++) text += (w ? ' ' : '') + WORDS[(i + w * 5 + chatIndex) % WORDS.length];
    yield [
      tenant.tenantId,
      tenant.sessionId,
      jid,
      messageId(chatIndex, i),
      fromMe,
      null,
      timestamp,
      reply ? 'extendedTextMessage' : 'conversation',
      text,
      reply ? messageId(chatIndex, i - 3) : null,
      fromMe ? null : 'Contact',
      fromMe ? 'read' : null,
      fromMe ? timestamp : null,
    ];
  }
}

async function seed(env: BenchEnvironment, tenant: Tenant, options: ReadOptions): Promise<{ chats: number; reactions: number }> {
  const sql = env.sql!;
  const newest = Math.floor(Date.now() / 1000);
  let chats = 1;
  function* all(): Generator<CopyValue[]> {
    yield* chatRows(tenant, 0, BIG_CHAT, options.bigChatMessages, newest);
    let left = options.totalMessages - options.bigChatMessages;
    for (let c = 1; left > 0; c++, chats++) {
      const n = Math.min(options.messagesPerChat, left);
      yield* chatRows(tenant, c, `5196${String(c).padStart(7, '0')}@s.whatsapp.net`, n, newest - c * 7);
      left -= n;
    }
  }
  // Reactions on one message in 25 of the big chat: one or two actors, two emoji.
  function* reactions(): Generator<CopyValue[]> {
    for (let i = 24; i < options.bigChatMessages; i += 25) {
      yield [tenant.tenantId, tenant.sessionId, BIG_CHAT, messageId(0, i), BIG_CHAT, '👍', false, newest];
      if (i % 50 === 49) yield [tenant.tenantId, tenant.sessionId, BIG_CHAT, messageId(0, i), tenant.ownJid, '❤️', true, newest];
    }
  }
  const conn = await sql.reserve();
  try {
    await copyRows(conn, 'session_messages', MESSAGE_COLUMNS, all());
    await copyRows(conn, 'session_message_reactions', ['tenant_id', 'session_id', 'chat_jid', 'message_id', 'actor_jid', 'emoji', 'from_me', 'reacted_at'], reactions());
  } finally {
    conn.release();
  }
  await sql.unsafe('vacuum analyze session_messages');
  await sql.unsafe('vacuum analyze session_message_reactions');
  const [m] = await sql<{ n: number }[]>`select count(*)::int as n from session_messages where session_id = ${tenant.sessionId}`;
  if (m?.n !== options.totalMessages) throw new Error(`seeding stored ${m?.n} messages, expected ${options.totalMessages}`);
  const [r] = await sql<{ n: number }[]>`select count(*)::int as n from session_message_reactions where session_id = ${tenant.sessionId}`;
  return { chats, reactions: r?.n ?? 0 };
}

// ---------------------------------------------------------------------------------------------

type Key = { timestamp: number; id: string } | null;
interface EndpointPage {
  items: Record<string, unknown>[];
  nextCursor: string | null;
}

const tput = (r: Pick<ClosedLoopResult, 'completed' | 'elapsedMs'>) => (r.completed / r.elapsedMs) * 1000;

export async function benchRead(env: BenchEnvironment, options: ReadOptions): Promise<BenchResult> {
  const { log } = options;
  checkSqlInStep(log);
  const tenant = await env.connectedTenant('read');
  tenant.ws.close();

  log(`  setup: seeding ${options.totalMessages.toLocaleString('en-US')} messages with COPY (big chat ${options.bigChatMessages.toLocaleString('en-US')}), then VACUUM ANALYZE`);
  const t0 = performance.now();
  const seeded = await seed(env, tenant, options);
  log(`  setup: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const bare: Db = createPostgresDb(env.databaseUrl, { max: options.concurrency });
  // Sized like the app's pool (DATABASE_POOL_MAX default), for its use case run here.
  const repo: Db = createPostgresDb(env.databaseUrl, { max: 10 });
  const closedHttp = new HttpClient(env.server!.url, { maxSockets: options.concurrency });
  const openHttp = new HttpClient(env.server!.url, { maxSockets: 64 });
  try {
    const base = [tenant.tenantId, tenant.sessionId, BIG_CHAT, LIMIT + 1];
    const barePage = async (key: Key) => {
      const rows = await bare.query<{ message_id: string; timestamp: number }>(pageSql(key !== null), key ? [...base, key.timestamp, key.id] : base);
      if (rows.length === 0) throw new Error('empty page');
      const last = rows.length > LIMIT ? rows[LIMIT - 1]! : null;
      return { first: rows[0]!.message_id, next: last ? { timestamp: Number(last.timestamp), id: last.message_id } : null };
    };
    const path = `/chats/${encodeURIComponent(BIG_CHAT)}/messages?limit=${LIMIT}`;
    const endpointPage = async (http: HttpClient, cursor: string | null): Promise<EndpointPage> => {
      const res = await http.request('GET', cursor ? `${path}&cursor=${cursor}` : path, { token: tenant.token });
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body.slice(0, 200)}`);
      const page = JSON.parse(res.body) as EndpointPage;
      if (page.items.length === 0) throw new Error('empty page');
      return page;
    };

    // Walk the whole chat both ways: the pages' cursors for the open loop, a check that the
    // endpoint and the bare query page alike, and the warm-up of both paths.
    log(`  warm-up: walking all ${Math.ceil(options.bigChatMessages / LIMIT)} pages through the bare query and the endpoint`);
    const keys: Key[] = [null];
    const firsts: string[] = [];
    for (;;) {
      const page = await barePage(keys.at(-1) ?? null);
      firsts.push(page.first);
      if (!page.next) break;
      keys.push(page.next);
    }
    const cursors: (string | null)[] = [null];
    const samplePages: EndpointPage[] = [];
    for (let i = 0; ; i++) {
      const page = await endpointPage(closedHttp, cursors.at(-1) ?? null);
      if (page.items[0]!.id !== firsts[i]) throw new Error(`page ${i}: the endpoint starts at ${String(page.items[0]!.id)}, the bare query at ${firsts[i]}`);
      if (i < 20) samplePages.push(page);
      if (!page.nextCursor) break;
      cursors.push(page.nextCursor);
    }
    if (cursors.length !== keys.length) throw new Error(`the endpoint walked ${cursors.length} pages, the bare query ${keys.length}`);
    const pages = keys.length;
    const startOf = (w: number) => Math.floor((w * pages) / options.concurrency);

    // Closed loop: each connection walks on from its own starting page, following the cursor.
    // Rounds alternate the bare query and the endpoint, so a burst of load elsewhere on the
    // machine does not land on one side only; the best of each is reported.
    const bareRuns: { result: ClosedLoopResult; cpu: string }[] = [];
    const endpointRuns: { result: ClosedLoopResult; cpu: string; probe: ProbeMarks; profile: string[] }[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      log(`  round ${round}/${options.rounds}, closed loop: bare query, ${options.concurrency} connections, ${options.durationMs / 1000} s`);
      let meter = env.cpuMeter();
      const bareKey: Key[] = Array.from({ length: options.concurrency }, (_, w) => keys[startOf(w)] ?? null);
      const result = await closedLoop({
        concurrency: options.concurrency,
        durationMs: options.durationMs,
        op: async (w) => {
          bareKey[w] = (await barePage(bareKey[w] ?? null)).next;
        },
      });
      bareRuns.push({ result, cpu: await meter.stop() });

      log(`  round ${round}/${options.rounds}, closed loop: endpoint, ${options.concurrency} connections, ${options.durationMs / 1000} s`);
      const cursorOf: (string | null)[] = Array.from({ length: options.concurrency }, (_, w) => cursors[startOf(w)] ?? null);
      closedHttp.reset(); // its connections sat idle through the bare round
      await env.server!.resetProbe();
      meter = env.cpuMeter();
      const { result: endpoint, profile } = await env.profiled(`read-${round}`, () =>
        closedLoop({
          concurrency: options.concurrency,
          durationMs: options.durationMs,
          op: async (w) => {
            cursorOf[w] = (await endpointPage(closedHttp, cursorOf[w] ?? null)).nextCursor;
          },
        }),
      );
      const cpu = await meter.stop();
      endpointRuns.push({ result: endpoint, cpu, probe: await env.server!.probe(), profile });
    }
    const bestOf = <R extends { result: ClosedLoopResult }>(runs: R[]): R => runs.reduce((a, b) => (tput(b.result) > tput(a.result) ? b : a));
    const bareBest = bestOf(bareRuns);
    const endpointBest = bestOf(endpointRuns);
    const bareClosed = bareBest.result;
    const endpointClosed = endpointBest.result;
    const { probe, profile } = endpointBest;
    const queriesPerRequest = probe.queries / Math.max(1, endpointClosed.completed);

    // Open loop: requests on schedule, walking the pages in order.
    log(`  open loop: endpoint at ${options.rate} req/s, ${options.durationMs / 1000} s`);
    const endpointSamples: number[] = [];
    const meter = env.cpuMeter();
    const endpointOpen = await openLoop({
      rate: options.rate,
      durationMs: options.durationMs,
      op: async (seq) => {
        const t = performance.now();
        await endpointPage(openHttp, cursors[seq % pages] ?? null);
        endpointSamples.push(performance.now() - t);
      },
    });
    const endpointOpenCpu = await meter.stop();
    log(`  open loop: bare query at ${options.rate} req/s, ${options.durationMs / 1000} s`);
    const bareSamples: number[] = [];
    const bareOpen = await openLoop({
      rate: options.rate,
      durationMs: options.durationMs,
      op: async (seq) => {
        const t = performance.now();
        await barePage(keys[seq % pages] ?? null);
        bareSamples.push(performance.now() - t);
      },
    });

    const diagnostics = await diagnose({ log, options, tenant, repo, bare, cursors, keys, samplePages, startOf, http: closedHttp });

    const endpointTput = tput(endpointClosed);
    const bareTput = tput(bareClosed);
    const eOpen = summarize(endpointSamples);
    const bOpen = summarize(bareSamples);
    const eClosed = summarize(endpointClosed.latencyMs);
    const bClosed = summarize(bareClosed.latencyMs);
    const errors = [endpointClosed.errors, bareClosed.errors, endpointOpen.errors, bareOpen.errors].map(describeErrors).filter(Boolean);
    const lagP99 = Math.max(summarize(endpointOpen.lagMs).p99, summarize(bareOpen.lagMs).p99);

    const notes = [
      `Store: ${options.totalMessages.toLocaleString('en-US')} messages of one session in ${seeded.chats.toLocaleString('en-US')} chats (the paged chat ${options.bigChatMessages.toLocaleString('en-US')}, ${pages} pages of ${LIMIT}); a tenth are replies, ${seeded.reactions.toLocaleString('en-US')} reactions in the paged chat; COPY then VACUUM ANALYZE (setup, not measured).`,
      `Closed loop, ${options.concurrency} connections, ${options.durationMs / 1000} s, each walking on with the cursor, best of ${endpointRuns.length} alternated rounds: endpoint ${rate(endpointTput, 'req/s')} (rounds ${endpointRuns.map((r) => rate(tput(r.result), '/s')).join(', ')}; latency p50 ${ms(eClosed.p50)}, p99 ${ms(eClosed.p99)}); bare query ${rate(bareTput, 'req/s')} (rounds ${bareRuns.map((r) => rate(tput(r.result), '/s')).join(', ')}; p50 ${ms(bClosed.p50)}, p99 ${ms(bClosed.p99)}).`,
      `Open loop, ${options.rate} req/s, ${options.durationMs / 1000} s: endpoint p50 ${ms(eOpen.p50)}, p90 ${ms(eOpen.p90)}, p99 ${ms(eOpen.p99)}, max ${ms(eOpen.max)} (n = ${eOpen.count}); bare query p50 ${ms(bOpen.p50)}, p99 ${ms(bOpen.p99)} (n = ${bOpen.count}). Generator lag p99 ${ms(lagP99)}.`,
      `Statements the app ran per endpoint request (counted in the wahub process): ${queriesPerRequest.toFixed(2)}; the bare baseline runs 1. By kind, over the closed loop: ${describeStatements(probe)}.`,
      `CPU, closed loop, endpoint (best round): ${endpointBest.cpu}. Bare query (best round): ${bareBest.cpu}. Open loop, endpoint: ${endpointOpenCpu}.`,
      ...diagnostics.notes(endpointTput, bareTput),
      ...profile,
      'The bare query runs the endpoint repository’s page SQL (limit 51, prepared) through the app’s own postgres.js adapter, in the benchmark process; the endpoint is measured over HTTP/1.1 keep-alive from that process to the wahub process.',
    ];
    if (errors.length) notes.push(`Errors: ${errors.join('; ')}`);
    return {
      name: 'Messages page',
      rows: [
        {
          benchmark: '3. GET /chats/:jid/messages?limit=50',
          metric: `throughput, ${options.concurrency} connections (closed loop)`,
          value: rate(endpointTput, 'req/s'),
          baseline: `bare keyset query: ${rate(bareTput, 'req/s')}`,
          ratio: ratio(endpointTput, bareTput),
          target: '≥ 0.7× bare',
          met: endpointTput >= 0.7 * bareTput,
        },
        {
          benchmark: '',
          metric: `p50 at ${options.rate} req/s (open loop)`,
          value: ms(eOpen.p50),
          baseline: `bare keyset query p50: ${ms(bOpen.p50)}`,
          ratio: `${(eOpen.p50 / bOpen.p50).toFixed(1)}×`,
          target: '',
          met: null,
        },
        {
          benchmark: '',
          metric: `p99 at ${options.rate} req/s (open loop)`,
          value: ms(eOpen.p99),
          baseline: `bare keyset query p99: ${ms(bOpen.p99)}`,
          ratio: `${(eOpen.p99 / bOpen.p99).toFixed(1)}×`,
          target: '≤ 10 ms',
          met: eOpen.p99 <= 10 && endpointOpen.errors.size === 0,
        },
      ],
      notes,
    };
  } finally {
    closedHttp.close();
    openHttp.close();
    await bare.close();
    await repo.close();
  }
}

/**
 * Where the endpoint's time goes: the plans; its use case run here without HTTP (with and without
 * the bearer check's query and the JSON encoding); and the page as one statement, checked equal
 * to the endpoint's items on the first pages, at the same concurrency.
 */
async function diagnose(ctx: {
  log: (line: string) => void;
  options: ReadOptions;
  tenant: Tenant;
  repo: Db;
  bare: Db;
  cursors: (string | null)[];
  keys: Key[];
  samplePages: EndpointPage[];
  startOf: (w: number) => number;
  http: HttpClient;
}) {
  const { options, tenant, repo, bare, cursors, keys, startOf } = ctx;
  const durationMs = Math.max(2000, options.durationMs / 2);
  const deep = keys[Math.floor(keys.length / 2)]!;
  const firstPlan = await explain(bare, pageSql(false), [tenant.tenantId, tenant.sessionId, BIG_CHAT, LIMIT + 1]);
  const deepPlan = await explain(bare, pageSql(true), [tenant.tenantId, tenant.sessionId, BIG_CHAT, LIMIT + 1, deep.timestamp, deep.id]);
  const onePlan = await explain(bare, onePageSql(true), [tenant.tenantId, BIG_CHAT, LIMIT + 1, deep.timestamp, deep.id]);

  const reader = new SqlChatReader(repo);
  const useCase = (cursor: string | null) => listMessages(reader, { tenantId: tenant.tenantId, jid: BIG_CHAT, limit: LIMIT, cursor: cursor ?? undefined });
  for (const cursor of cursors.slice(0, 50)) await useCase(cursor); // warm-up
  ctx.log(`  diagnostics, ${durationMs / 1000} s each: the endpoint's use case here without HTTP (with and without the token query), GET /health, the page as one statement`);
  const walk = (): (string | null)[] => Array.from({ length: options.concurrency }, (_, w) => cursors[startOf(w)] ?? null);
  let at = walk();
  const useCaseOnly = await closedLoop({
    concurrency: options.concurrency,
    durationMs,
    op: async (w) => {
      at[w] = (await useCase(at[w] ?? null)).nextCursor;
    },
  });
  at = walk();
  const withAuthAndJson = await closedLoop({
    concurrency: options.concurrency,
    durationMs,
    op: async (w) => {
      await repo.query('select tenant_id, token_version from users where id = $1', [tenant.userId]);
      const page = await useCase(at[w] ?? null);
      JSON.stringify(page);
      at[w] = page.nextCursor;
    },
  });

  // The one-statement page: same items as the endpoint's on the sampled pages?
  const onePage = async (key: Key) => {
    const params = [tenant.tenantId, BIG_CHAT, LIMIT + 1];
    const rows = await bare.query<OnePageRow>(onePageSql(key !== null), key ? [...params, key.timestamp, key.id] : params);
    const last = rows.length > LIMIT ? rows[LIMIT - 1]! : null;
    return { rows: rows.slice(0, LIMIT), next: last ? { timestamp: Number(last.timestamp), id: last.message_id } : null };
  };
  let mismatch: string | null = null;
  for (let i = 0; i < ctx.samplePages.length && !mismatch; i++) {
    const mine = (await onePage(keys[i] ?? null)).rows.map(onePageView);
    const theirs = ctx.samplePages[i]!.items;
    for (let j = 0; j < Math.max(mine.length, theirs.length) && !mismatch; j++) {
      if (!isDeepStrictEqual(mine[j], theirs[j])) mismatch = `page ${i}, item ${j}: endpoint ${JSON.stringify(theirs[j])} vs one statement ${JSON.stringify(mine[j])}`;
    }
  }
  // The floor of any endpoint here: GET /health (no auth, no database, a 15-byte answer) through
  // the same middleware stack, over the same connections.
  ctx.http.reset();
  const health = await closedLoop({
    concurrency: options.concurrency,
    durationMs,
    op: async () => {
      const res = await ctx.http.request('GET', '/health');
      if (res.status !== 200) throw new Error(`GET /health: ${res.status}`);
    },
  });
  const oneKey: Key[] = Array.from({ length: options.concurrency }, (_, w) => keys[startOf(w)] ?? null);
  const oneClosed = await closedLoop({
    concurrency: options.concurrency,
    durationMs,
    op: async (w) => {
      oneKey[w] = (await onePage(oneKey[w] ?? null)).next;
    },
  });

  return {
    notes: (endpointTput: number, bareTput: number): string[] => [
      `Plans (EXPLAIN ANALYZE): first page ${firstPlan.outline}, ${ms(firstPlan.ms)}; a page ${Math.floor(keys.length / 2)} deep ${deepPlan.outline}, ${ms(deepPlan.ms)}: the keyset walks the index, no sort, whatever the depth.`,
      `Where the gap goes (closed loop, ${options.concurrency} callers, ${durationMs / 1000} s each, in the benchmark process, no HTTP): ` +
        `the endpoint's use case (listMessages + SqlChatReader: 5 statements, live session, LID mapping, page, then reactions and quoted in parallel) ${rate(tput(useCaseOnly), 'req/s')} (${ratio(tput(useCaseOnly), bareTput)} of bare); ` +
        `plus the bearer check's token-state query and JSON.stringify of the page (6 statements) ${rate(tput(withAuthAndJson), 'req/s')} (${ratio(tput(withAuthAndJson), bareTput)}); ` +
        `HTTP, Hono, validation and JWT verification on top: the endpoint's ${rate(endpointTput, 'req/s')} (${ratio(endpointTput, bareTput)}). ` +
        `The floor of any endpoint in this process: GET /health (no auth, no query, same middleware, same ${options.concurrency} connections) ${rate(tput(health), 'req/s')} (${ratio(tput(health), bareTput)} of the bare query).`,
      `The page as one statement (read-sql.ts onePageSql: session, LID mapping, page, quoted and reactions together; ${mismatch ? `**differs from the endpoint** at ${mismatch}` : `same items as the endpoint on the first ${ctx.samplePages.length} pages`}): ` +
        `${rate(tput(oneClosed), 'req/s')} bare at ${options.concurrency} connections (${ratio(tput(oneClosed), bareTput)} of the page query alone); plan ${onePlan.outline}, ${ms(onePlan.ms)}.`,
    ],
  };
}
