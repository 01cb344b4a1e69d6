import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MemoryStreamBus } from '../../../events/bus/memory-stream-bus.js';
import { fromStreamFields, STREAMS } from '../../../events/envelope.js';
import type { WhatsAppEvent } from '../domain/whatsapp-events.js';
import { SessionEventPublisher } from './session-event-publisher.js';

const presence = (n: number): WhatsAppEvent => ({
  kind: 'presence.update',
  chatJid: `${n}@s.whatsapp.net`,
  updates: [{ jid: `${n}@s.whatsapp.net`, presence: 'composing', lastSeen: null }],
});

describe('SessionEventPublisher', () => {
  it('sends what piles up during an append in the next single append, in order, resolving each once stored', async () => {
    const bus = new MemoryStreamBus({ maxLen: 10_000 });
    const appends: number[] = [];
    let release: () => void = () => {};
    let hold = true;
    const append = bus.append.bind(bus);
    bus.append = async (stream, entries) => {
      appends.push(entries.length);
      if (hold) {
        hold = false;
        await new Promise<void>((r) => (release = r));
      }
      return append(stream, entries);
    };
    const publisher = new SessionEventPublisher(bus, pino({ level: 'silent' }), { storeRaw: false });
    const first = publisher.publish('t', 's', [presence(0)]);
    const rest = Array.from({ length: 50 }, (_, i) => publisher.publish('t', 's', [presence(i + 1)]));
    let restDone = false;
    void Promise.all(rest).then(() => (restDone = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(restDone).toBe(false);
    expect(publisher.pending).toBe(51);
    release();
    await first;
    await Promise.all(rest);
    expect(appends).toEqual([1, 50]);
    const stored = await bus.range(STREAMS.domainEvents, '0-0', 100);
    expect(stored.map((e) => fromStreamFields(e.fields).payload.chatJid)).toEqual(Array.from({ length: 51 }, (_, i) => `${i}@s.whatsapp.net`));
    expect(publisher.pending).toBe(0);
    await publisher.flushed();
  });

  it('retries a failed append without losing or reordering entries', async () => {
    const bus = new MemoryStreamBus({ maxLen: 10_000 });
    const append = bus.append.bind(bus);
    let failures = 1;
    bus.append = async (stream, entries) => {
      if (failures-- > 0) throw new Error('redis down');
      return append(stream, entries);
    };
    const publisher = new SessionEventPublisher(bus, pino({ level: 'silent' }), { storeRaw: false });
    await Promise.all([publisher.publish('t', 's', [presence(1)]), publisher.publish('t', 's', [presence(2)])]);
    const stored = await bus.range(STREAMS.domainEvents, '0-0', 10);
    expect(stored.map((e) => fromStreamFields(e.fields).payload.chatJid)).toEqual(['1@s.whatsapp.net', '2@s.whatsapp.net']);
  });
});
