/**
 * The wahub under test, in a process of its own (started by lib/server.ts through `fork`): the
 * load generator then never shares the server's event loop, as real clients would not.
 *
 * It runs the one composition root, startWahub, with the configuration it is given (all roles,
 * the simulator driver), and adds a probe: it stamps the moments the stream bus is handed the
 * simulator's control actions (the HTTP handler's last step) and the worker's session events
 * (the driver's report published), so the parent can split a message's latency into its hops.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startWahub } from '../../src/app/wahub.js';
import { loadConfig } from '../../src/platform/config.js';
import type { StreamFields } from '../../src/events/bus/stream-bus.js';
import type { Queryable } from '../../src/platform/db/db.js';
import { afterStart, beforeStart, statementRewrite } from './experiments.js';
import { epochMs } from './stats.js';
import type { ChildMessage, ParentMessage, ProbeMarks } from './server.js';

const send = (message: ChildMessage) => process.send?.(message);

/** A statement's kind: its verb and the first table it names, e.g. "insert into session_messages (with …)". Memoised per text. */
const kinds = new Map<string, string>();
function statementKind(text: string): string {
  let kind = kinds.get(text);
  if (kind === undefined) {
    const flat = text.replace(/\s+/g, ' ').trim();
    const write = /\b(insert into|(?<!for )update|delete from)\s+([a-z_]+)/i.exec(flat);
    const table = /\b(?:from|join)\s+([a-z_]+)/i.exec(flat)?.[1] ?? '?';
    kind = write ? `${write[1]!.toLowerCase()} ${write[2]}${/^with\b/i.test(flat) ? ' (with …)' : ''}` : `select … ${table}`;
    if (kinds.size < 1000) kinds.set(text, kind);
  }
  return kind;
}

async function main(): Promise<void> {
  const env = JSON.parse(process.env.BENCH_WAHUB_ENV ?? '{}') as Record<string, string>;
  const experiments = (env.BENCH_EXPERIMENTS ?? '').split(',').filter(Boolean);
  beforeStart(experiments);
  const wahub = await startWahub(loadConfig(env));
  afterStart(wahub, experiments);

  const marks: ProbeMarks = { control: {}, reported: {}, published: {}, history: { entries: 0, messages: 0, first: null, last: null }, queries: 0, statements: {}, transactions: { n: 0, ms: 0 } };
  // Every statement the app runs, counted and timed by kind (its first words), in and out of
  // transactions: round trips per request, and where a transaction's time goes.
  const rewrite = statementRewrite(experiments);
  const timed = (q: Queryable['query']): Queryable['query'] =>
    (async (text: string, params?: readonly unknown[]) => {
      const t0 = performance.now();
      try {
        return await q(rewrite ? rewrite(text) : text, params);
      } finally {
        const kind = statementKind(text);
        const s = (marks.statements[kind] ??= { n: 0, ms: 0 });
        s.n += 1;
        s.ms += performance.now() - t0;
      }
    }) as Queryable['query'];
  const db = wahub.resources.db;
  const query = timed(db.query.bind(db));
  db.query = ((text: string, params?: readonly unknown[]) => {
    marks.queries += 1;
    return query(text, params);
  }) as typeof db.query;
  const transaction = db.transaction.bind(db);
  db.transaction = (async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await transaction((tx) => fn({ ...tx, query: timed(tx.query.bind(tx)) }));
    } finally {
      marks.transactions.n += 1;
      marks.transactions.ms += performance.now() - t0;
    }
  }) as typeof db.transaction;
  // The moment the worker hands what the driver reported to its event publisher (the driver's
  // report), before the publisher's own queue. The worker keeps its publisher private: reached
  // at runtime, and skipped (marks absent) if its shape changes.
  type Publish = (tenantId: string, sessionId: string, events: { kind: string; messages?: { key: { id: string } }[] }[]) => Promise<void>;
  const publisher = (wahub.modules.workers as unknown as { worker?: { options?: { publisher?: { publish?: Publish } } } }[]).find((w) => w.worker)?.worker?.options?.publisher;
  if (publisher?.publish) {
    const publish = publisher.publish.bind(publisher);
    publisher.publish = (tenantId, sessionId, events) => {
      const at = epochMs();
      for (const e of events) if (e.kind === 'messages.upsert') for (const m of e.messages ?? []) marks.reported[m.key.id] = at;
      return publish(tenantId, sessionId, events);
    };
  }
  const bus = wahub.resources.bus;
  const append = bus.append.bind(bus);
  bus.append = (stream: string, entries: StreamFields[]) => {
    const at = epochMs();
    if (stream === 'simulator-control') {
      for (const e of entries) {
        const action = JSON.parse(e.data ?? '{}') as { action?: string; id?: string };
        if (action.action === 'message' && action.id) marks.control[action.id] = at;
      }
    } else if (stream === 'domain-events') {
      for (const e of entries) {
        if (e.type === 'session.messages.upsert') {
          const event = JSON.parse(e.data ?? '{}') as { payload?: { messages?: { id: string }[] } };
          for (const m of event.payload?.messages ?? []) marks.published[m.id] = at;
        } else if (e.type === 'session.history.sync') {
          const event = JSON.parse(e.data ?? '{}') as { payload?: { messagesCount?: number } };
          marks.history.entries += 1;
          marks.history.messages += event.payload?.messagesCount ?? 0;
          marks.history.first ??= at;
          marks.history.last = at;
        }
      }
    }
    return append(stream, entries);
  };

  // The V8 sampling profiler of this thread, around the measured phases only (--profile).
  const profiler = {
    session: undefined as Session | undefined,
    async start() {
      this.session = new Session();
      this.session.connect();
      await this.session.post('Profiler.enable');
      await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
      await this.session.post('Profiler.start');
    },
    async stop(file: string) {
      if (!this.session) return;
      const { profile } = await this.session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      this.session.disconnect();
      this.session = undefined;
    },
  };

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    try {
      await wahub.stop();
    } finally {
      send({ type: 'stopped' });
      process.exitCode = code;
      // Let the IPC message flush, then go even if a handle lingers.
      setTimeout(() => process.exit(code), 200).unref();
      process.disconnect?.();
    }
  };

  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'clock':
        send({ type: 'clock', seq: message.seq, at: epochMs() });
        break;
      case 'probe-reset':
        marks.control = {};
        marks.reported = {};
        marks.published = {};
        marks.history = { entries: 0, messages: 0, first: null, last: null };
        marks.queries = 0;
        marks.statements = {};
        marks.transactions = { n: 0, ms: 0 };
        send({ type: 'probe-reset' });
        break;
      case 'probe-dump':
        send({ type: 'probe-dump', marks });
        break;
      case 'profile-start':
        void profiler.start().then(() => send({ type: 'profile-start' }));
        break;
      case 'profile-stop':
        void profiler.stop(message.file).then(() => send({ type: 'profile-stop' }));
        break;
      case 'stop':
        void stop(0);
        break;
    }
  });
  // The parent went away (crashed or was killed): do not linger.
  process.on('disconnect', () => void stop(1));
  send({ type: 'ready', url: wahub.url ?? '' });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
