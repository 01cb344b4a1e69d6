/**
 * npm run bench [-- --only ingest,latency,read] [--quick] [--profile] [--keep-db] [--experiment <name>]
 *
 * Runs the benchmarks against real Postgres and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL;
 * defaults 127.0.0.1) in a database and Redis key prefix of their own, removed afterwards even on
 * failure or Ctrl-C. wahub runs in a child process (all roles, simulator driver); the load
 * generators and the baselines run here. Prints the table and writes bench/results.md.
 *
 * Diagnostics (their results go to bench/results.local.md, not committed): --quick (small sizes),
 * --only (some benchmarks), --profile (V8 CPU profiles of the wahub process over the measured
 * phases, summarised in the notes), --keep-db (leave the database for EXPLAIN), --experiment
 * pg-nodelay | publisher-coalesce (a proposed change applied at runtime, lib/experiments.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchIngest } from './ingest.js';
import { benchLatency } from './latency.js';
import { benchRead } from './read.js';
import { BenchEnvironment } from './lib/environment.js';
import { EXPERIMENTS } from './lib/experiments.js';
import { machineInfo, renderMarkdown, renderTable, type BenchResult } from './lib/report.js';

const BENCHMARKS = ['ingest', 'latency', 'read'] as const;
type Name = (typeof BENCHMARKS)[number];

function parseArgs(argv: string[]) {
  const args = { only: [...BENCHMARKS] as Name[], quick: false, profile: false, keepDb: false, experiments: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
    if (arg.startsWith('--only')) {
      if (!arg.includes('=')) i++;
      const names = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = names.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes some of ${BENCHMARKS.join(', ')}; got "${value ?? ''}"`);
      args.only = names as Name[];
    } else if (arg === '--quick') args.quick = true;
    else if (arg === '--profile') args.profile = true;
    else if (arg === '--keep-db') args.keepDb = true;
    else if (arg.startsWith('--experiment')) {
      if (!arg.includes('=')) i++;
      if (!(EXPERIMENTS as readonly string[]).includes(value ?? '')) throw new Error(`--experiment takes one of ${EXPERIMENTS.join(', ')}; got "${value ?? ''}"`);
      args.experiments.push(value!);
    } else throw new Error(`unknown argument ${arg} (expected --only <${BENCHMARKS.join(',')}>, --quick, --profile, --keep-db, --experiment <${EXPERIMENTS.join('|')}>)`);
  }
  return args;
}

const log = (line: string) => console.log(line);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const q = args.quick;
  const startedAt = performance.now();
  const loadAtStart = loadavg()[0]!;
  const profileDir = args.profile ? mkdtempSync(path.join(tmpdir(), 'wahub-bench-profile-')) : undefined;
  const env = new BenchEnvironment({ profileDir, keepDatabase: args.keepDb, experiments: args.experiments, log });

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: cleaning up…`);
    void env.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: BenchResult[] = [];
  let failures = 0;
  let versions = { postgres: 'PostgreSQL ?', redis: '?' };
  try {
    log(`wahub benchmarks on ${machineInfo().cores} cores, Node ${process.version}${q ? ' (quick)' : ''}`);
    log(`setup: database ${env.databaseName}, Redis prefix ${env.redisPrefix}, wahub in a child process`);
    await env.open();
    const [pg] = await env.sql!<{ v: string }[]>`select split_part(version(), ' ', 2) as v`;
    const redisVersion = /redis_version:(\S+)/.exec(await env.redis!.info('server'))?.[1];
    versions = { postgres: `PostgreSQL ${pg?.v ?? '?'}`, redis: redisVersion ?? '?' };

    const runs: Record<Name, () => Promise<BenchResult>> = {
      ingest: () => benchIngest(env, { chats: q ? 100 : 1000, messagesPerChat: 100, batchSize: 1000, oneRowSample: q ? 1000 : 5000, rounds: q ? 1 : 2, log }),
      latency: () => benchLatency(env, { rate: 1000, durationMs: q ? 3000 : 10_000, warmupMs: q ? 1000 : 3000, log }),
      read: () =>
        benchRead(env, {
          totalMessages: q ? 100_000 : 1_000_000,
          bigChatMessages: q ? 20_000 : 100_000,
          messagesPerChat: 100,
          concurrency: 8,
          rounds: q ? 1 : 2,
          rate: 300,
          durationMs: q ? 3000 : 10_000,
          log,
        }),
    };
    for (const name of args.only) {
      if (interrupted) break;
      log(`\n[${name}]`);
      const t = performance.now();
      try {
        await env.drained();
        const result = await runs[name]();
        results.push(result);
        log(renderTable(result.rows));
        for (const note of result.notes) log(`  · ${note}`);
      } catch (error) {
        failures++;
        const message = error instanceof Error ? error.message : String(error);
        log(`  FAILED: ${message}`);
        results.push({ name, rows: [{ benchmark: name, metric: 'failed', value: message.split('\n')[0]!.slice(0, 160), baseline: '', ratio: '', target: '', met: false }], notes: [] });
        if (!env.server?.running) {
          log('  the wahub process is gone: stopping here');
          break;
        }
      }
      log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
  } catch (error) {
    failures++;
    log(`setup failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await env.close();
  }
  if (interrupted) return 130;
  if (results.length > 0) {
    const info = {
      ...machineInfo(),
      date: new Date().toISOString(),
      ...versions,
      layout: 'wahub (roles api,relay,consumer,worker; WA_DRIVER=simulator; LOG_LEVEL=warn) in its own Node process; load generators, WebSocket client and baselines in the benchmark process; Postgres and Redis local on the same machine',
      durationS: (performance.now() - startedAt) / 1000,
      load: [loadAtStart, loadavg()[0]!] as [number, number],
      options: [
        `benchmarks ${args.only.join(', ')}`,
        q ? 'quick sizes' : 'full sizes',
        args.profile ? 'CPU profile on' : '',
        ...args.experiments.map((e) => `EXPERIMENT ${e} (not the app as shipped)`),
      ]
        .filter(Boolean)
        .join(', '),
    };
    const markdown = renderMarkdown(info, results);
    // Only a full, plain run is the record; anything else goes to the uncommitted local file.
    const partial = q || args.profile || args.only.length < BENCHMARKS.length || args.experiments.length > 0;
    const file = fileURLToPath(new URL(partial ? './results.local.md' : './results.md', import.meta.url));
    writeFileSync(file, markdown);
    log(`\n${renderTable(results.flatMap((r) => r.rows))}\n\nwritten to ${path.relative(process.cwd(), file)} (${info.cores} cores, Node ${info.node}, ${info.durationS.toFixed(0)} s)`);
  }
  if (profileDir) log(`CPU profile of the wahub process: ${profileDir}`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
