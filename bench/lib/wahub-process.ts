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
import { forceNoDelayOnClientSockets } from './nodelay.js';
import { epochMs } from './stats.js';
import type { ChildMessage, ParentMessage, ProbeMarks } from './server.js';

const send = (message: ChildMessage) => process.send?.(message);

async function main(): Promise<void> {
  const env = JSON.parse(process.env.BENCH_WAHUB_ENV ?? '{}') as Record<string, string>;
  const experiments = (env.BENCH_EXPERIMENTS ?? '').split(',').filter(Boolean);
  if (experiments.includes('pg-nodelay')) forceNoDelayOnClientSockets();
  const wahub = await startWahub(loadConfig(env));

  const marks: ProbeMarks = { control: {}, published: {}, history: { entries: 0, messages: 0, first: null, last: null }, queries: 0 };
  // Statements the app runs outside transactions (every read path): round trips per request.
  const db = wahub.resources.db;
  const query = db.query.bind(db);
  db.query = ((text: string, params?: readonly unknown[]) => {
    marks.queries += 1;
    return query(text, params);
  }) as typeof db.query;
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
        marks.published = {};
        marks.history = { entries: 0, messages: 0, first: null, last: null };
        marks.queries = 0;
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
