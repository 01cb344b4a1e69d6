import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/platform/db/db.js';
import { newId } from '../../src/platform/ids.js';
import { createMigratedDb, type DbKind } from '../events/helpers.js';
import { events, LID, PHONE, PHONE2, Projector, reissued, seedSession, store, summary, type AnyEvent, type Delivery, type Scope } from './support.js';

const DB_KINDS: DbKind[] = ['postgres', 'pglite'];

/** Counts the statements a delivery runs, to show a batch costs a handful whatever its size. */
function countingDb(db: Db): { db: Db; count: () => number; reset: () => void } {
  let n = 0;
  const wrap = (q: Queryable): Queryable => ({
    query: (text, params) => {
      n++;
      return q.query(text, params);
    },
    exec: (script) => q.exec(script),
  });
  return {
    db: { ...db, ...wrap(db), kind: db.kind, transaction: (fn) => db.transaction((tx) => fn(wrap(tx))), ping: () => db.ping(), close: () => db.close() },
    count: () => n,
    reset: () => void (n = 0),
  };
}

describe.each(DB_KINDS)('messaging projection (%s)', (kind) => {
  let db: Db;
  let drop: () => Promise<void>;
  let projector: Projector;
  beforeAll(async () => {
    ({ db, drop } = await createMigratedDb(kind));
    projector = new Projector(db);
  });
  afterAll(() => drop?.());

  async function session(): Promise<{ scope: Scope; ev: ReturnType<typeof events>; rows: ReturnType<typeof store> }> {
    const scope = await seedSession(db);
    return { scope, ev: events(scope), rows: store(db, scope) };
  }

  describe('session.messages.upsert', () => {
    it('stores the message, creates the chat with its last message, and counts incoming notify messages as unread once', async () => {
      const { ev, rows } = await session();
      const m1 = summary({ remoteJid: PHONE, id: 'm1', timestamp: 100, text: 'Hola', pushName: 'Ada' });
      const upsert = ev.upsert([m1]);
      expect(await projector.apply(upsert, upsert)).toEqual([true, false]);
      await projector.apply(reissued(upsert)); // the worker emitting the same message again
      const chat = await rows.chat(PHONE);
      expect(chat).toMatchObject({
        phone: '51999999999',
        lid: null,
        unread_count: 1,
        last_message_id: 'm1',
        last_message_preview: 'Hola',
        last_message_type: 'conversation',
        last_message_from_me: false,
        last_message_timestamp: 100,
        last_message_at: 100,
      });
      expect(await rows.message(PHONE, 'm1')).toMatchObject({ text: 'Hola', from_me: false, timestamp: 100, push_name: 'Ada', deleted_at: null });
      expect(await rows.contacts()).toMatchObject([{ id: PHONE, phone: '51999999999', notify: 'Ada' }]);

      // Our own message (append or notify) and appended history do not count; the newest is the last message.
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'm2', timestamp: 110, fromMe: true, text: 'Bien', status: 'pending' })], { requestId: newId() }));
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'm0', timestamp: 90, text: 'old' })], { upsertType: 'append' }));
      expect(await rows.chat(PHONE)).toMatchObject({ unread_count: 1, last_message_id: 'm2', last_message_preview: 'Bien', last_message_from_me: true, last_message_at: 110 });
      expect((await rows.message(PHONE, 'm2')).request_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('skips protocol and reaction messages and status posts, and normalises device JIDs', async () => {
      const { ev, rows } = await session();
      await projector.apply(
        ev.upsert([
          summary({ remoteJid: '51999999999:12@s.whatsapp.net', id: 'a', timestamp: 5 }),
          summary({ remoteJid: PHONE, id: 'p', type: 'protocolMessage', timestamp: 6 }),
          summary({ remoteJid: PHONE, id: 'r', type: 'reactionMessage', timestamp: 7 }),
          summary({ remoteJid: 'status@broadcast', participant: PHONE2, id: 's', type: 'imageMessage', timestamp: 8 }),
        ]),
      );
      expect((await rows.messages()).map((m) => [m.chat_jid, m.message_id])).toEqual([[PHONE, 'a']]);
      expect(await rows.chat(PHONE)).toMatchObject({ last_message_id: 'a', unread_count: 1 });
    });
  });

  describe('session.messages.update', () => {
    it('never moves a status backwards; failed only from pending or sent', async () => {
      const { ev, rows } = await session();
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'x', fromMe: true, status: 'pending', timestamp: 10 })]));
      await projector.apply(ev.update([{ messageId: 'x', chatJid: PHONE, status: 'read', statusAt: 13 }]));
      await projector.apply(ev.update([{ messageId: 'x', chatJid: PHONE, status: 'delivered', statusAt: 12 }]));
      await projector.apply(ev.update([{ messageId: 'x', chatJid: PHONE, status: 'failed', statusAt: 14 }]));
      expect(await rows.message(PHONE, 'x')).toMatchObject({ status: 'read', status_at: 13 });
      await projector.apply(ev.update([{ messageId: 'x', chatJid: PHONE, status: 'played', statusAt: 15 }]));
      expect(await rows.message(PHONE, 'x')).toMatchObject({ status: 'played', status_at: 15 });

      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'y', fromMe: true, status: 'sent', timestamp: 20 })]));
      await projector.apply(ev.update([{ messageId: 'y', chatJid: PHONE, status: 'failed', statusAt: 21, error: { code: 463, reason: 'reach-out time lock' } }]));
      expect(await rows.message(PHONE, 'y')).toMatchObject({ status: 'failed', status_at: 21 });
      await projector.apply(ev.update([{ messageId: 'y', chatJid: PHONE, status: 'pending', statusAt: 22 }]));
      expect((await rows.message(PHONE, 'y')).status).toBe('failed');
    });

    it('keeps a receipt that arrives before its message and applies it when the message comes', async () => {
      const { ev, rows } = await session();
      await projector.apply(ev.update([{ messageId: 'early', chatJid: PHONE, status: 'read', statusAt: 50 }]));
      expect(await rows.chats()).toEqual([]); // a stub is not a chat, nor a message to list
      expect(await rows.message(PHONE, 'early')).toMatchObject({ timestamp: null, status: 'read' });
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'early', fromMe: true, status: 'sent', timestamp: 40, text: 'hi' })]));
      expect(await rows.message(PHONE, 'early')).toMatchObject({ timestamp: 40, status: 'read', status_at: 50, text: 'hi', from_me: true });
      expect(await rows.chat(PHONE)).toMatchObject({ last_message_id: 'early', last_message_preview: 'hi' });
    });

    it('caps a group member receipt at delivered', async () => {
      const { ev, rows } = await session();
      const group = '120363000000000000@g.us';
      await projector.apply(ev.upsert([summary({ remoteJid: group, id: 'g1', fromMe: true, status: 'sent', timestamp: 10 })]));
      await projector.apply(ev.update([{ messageId: 'g1', chatJid: group, status: 'read', statusAt: 11, participant: PHONE2 }], 'group-receipt'));
      expect((await rows.message(group, 'g1')).status).toBe('delivered');
    });
  });

  describe('session.messages.edit', () => {
    it('keeps the id, takes the newest edit only, refreshes the preview, and survives arriving first', async () => {
      const { ev, rows } = await session();
      await projector.apply(ev.edit([{ messageId: 'e', chatJid: PHONE, type: 'conversation', text: 'second edit', editedAt: 30 }]));
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'e', text: 'original', timestamp: 10 })]));
      expect(await rows.message(PHONE, 'e')).toMatchObject({ text: 'second edit', edited_at: 30, type: 'conversation', timestamp: 10 });
      await projector.apply(ev.edit([{ messageId: 'e', chatJid: PHONE, type: 'conversation', text: 'first edit', editedAt: 20 }]));
      expect(await rows.message(PHONE, 'e')).toMatchObject({ text: 'second edit', edited_at: 30 });
      expect((await rows.chat(PHONE)).last_message_preview).toBe('second edit');
      await projector.apply(ev.edit([{ messageId: 'e', chatJid: PHONE, type: 'conversation', text: 'third', editedAt: 40 }]));
      expect(await rows.message(PHONE, 'e')).toMatchObject({ text: 'third', edited_at: 40 });
      expect((await rows.chat(PHONE)).last_message_preview).toBe('third');
    });

    it('does not touch the preview when an older message is edited', async () => {
      const { ev, rows } = await session();
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'old', text: 'a', timestamp: 1 }), summary({ remoteJid: PHONE, id: 'new', text: 'b', timestamp: 2 })]));
      await projector.apply(ev.edit([{ messageId: 'old', chatJid: PHONE, type: 'conversation', text: 'a2', editedAt: 3 }]));
      expect(await rows.chat(PHONE)).toMatchObject({ last_message_id: 'new', last_message_preview: 'b' });
    });
  });

  describe('session.messages.delete', () => {
    it('keeps a tombstone without text or media, before or after the message, and edits cannot revive it', async () => {
      const { ev, rows } = await session();
      const media = { kind: 'image' as const, mime: 'image/jpeg', size: 10, width: 1, height: 1, duration: null, fileName: null };
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'd1', text: 'secret', timestamp: 10, type: 'imageMessage', media })]));
      await projector.apply(ev.deleteMessages([{ messageId: 'd1', chatJid: PHONE, deletedAt: 11 }]));
      await projector.apply(ev.edit([{ messageId: 'd1', chatJid: PHONE, type: 'conversation', text: 'revived?', editedAt: 12 }]));
      expect(await rows.message(PHONE, 'd1')).toMatchObject({ text: null, media: null, deleted_at: 11, type: 'imageMessage', timestamp: 10 });
      expect(await rows.chat(PHONE)).toMatchObject({ last_message_id: 'd1', last_message_preview: null });

      await projector.apply(ev.deleteMessages([{ messageId: 'd2', chatJid: PHONE, deletedAt: 21 }]));
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'd2', text: 'too late', timestamp: 20 })]));
      expect(await rows.message(PHONE, 'd2')).toMatchObject({ text: null, deleted_at: 21, timestamp: 20 });
      expect(await rows.chat(PHONE)).toMatchObject({ last_message_id: 'd2', last_message_preview: null });
    });

    it('clears a chat: its messages and reactions go, the preview and unread count are cleared, older late messages stay out', async () => {
      const { ev, rows } = await session();
      await projector.apply(
        ev.upsert([summary({ remoteJid: PHONE, id: 'c1', timestamp: 100 }), summary({ remoteJid: PHONE, id: 'c2', timestamp: 101 })]),
        ev.upsert([summary({ remoteJid: PHONE2, id: 'other', timestamp: 102 })]),
        ev.reaction([{ messageId: 'c1', chatJid: PHONE, actorJid: PHONE, fromMe: false, emoji: '👍', reactedAt: 103, removed: false }]),
      );
      const clear = ev.clearChat(PHONE, 200);
      await projector.apply(clear);
      expect((await rows.messages()).map((m) => m.message_id)).toEqual(['other']);
      expect(await rows.reactions()).toEqual([]);
      expect(await rows.chat(PHONE)).toMatchObject({ last_message_id: null, last_message_preview: null, unread_count: 0, cleared_at: 200, last_message_at: 101 });
      // A message from before the clear delivered late stays out; a newer one comes in.
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'late', timestamp: 150 }), summary({ remoteJid: PHONE, id: 'after', timestamp: 201, text: 'new' })]));
      expect((await rows.messages()).map((m) => m.message_id)).toEqual(['other', 'after']);
      expect(await rows.chat(PHONE)).toMatchObject({ last_message_id: 'after', last_message_preview: 'new', unread_count: 1 });
      await projector.apply(reissued(clear));
      expect((await rows.messages()).map((m) => m.message_id)).toEqual(['other', 'after']);
    });
  });

  describe('session.messages.reaction', () => {
    it('keeps one reaction per actor: a new emoji replaces, removal withdraws, an older one delivered late changes nothing', async () => {
      const { ev, rows } = await session();
      const react = (emoji: string | null, at: number, actorJid = PHONE2) =>
        ev.reaction([{ messageId: 'r1', chatJid: PHONE, actorJid, fromMe: false, emoji, reactedAt: at, removed: emoji === null }]);
      await projector.apply(react('👍', 10)); // before the message
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'r1', timestamp: 5 })]));
      await projector.apply(react('❤️', 11), react('😂', 9), react('👍', 10, PHONE));
      expect((await rows.reactions()).map((r) => [r.actor_jid, r.emoji])).toEqual([
        [PHONE2, '❤️'],
        [PHONE, '👍'],
      ].sort());
      const removal = react(null, 12);
      await projector.apply(removal, react('❤️', 11));
      expect((await rows.reactions()).map((r) => [r.actor_jid, r.emoji, r.reacted_at])).toEqual(
        [
          [PHONE2, null, 12],
          [PHONE, '👍', 10],
        ].sort(),
      );
      // Baileys withdraws with an empty emoji.
      await projector.apply(ev.reaction([{ messageId: 'r1', chatJid: PHONE, actorJid: '51999999999:3@s.whatsapp.net', fromMe: false, emoji: '', reactedAt: 13, removed: false }]));
      expect((await rows.reactions()).filter((r) => r.emoji !== null)).toEqual([]);
    });
  });

  describe('out of order and duplicates', () => {
    it('ends in the same rows whatever order the events of a message arrive in, and delivered twice', async () => {
      const build = (ev: ReturnType<typeof events>): AnyEvent[] => [
        ev.upsert([summary({ remoteJid: PHONE, id: 'o1', fromMe: true, status: 'pending', timestamp: 100, text: 'first' })], { requestId: '00000000-0000-4000-8000-000000000001' }),
        ev.update([{ messageId: 'o1', chatJid: PHONE, status: 'delivered', statusAt: 101 }]),
        ev.update([{ messageId: 'o1', chatJid: PHONE, status: 'read', statusAt: 102 }]),
        ev.edit([{ messageId: 'o1', chatJid: PHONE, type: 'conversation', text: 'edited', editedAt: 103 }]),
        ev.edit([{ messageId: 'o1', chatJid: PHONE, type: 'conversation', text: 'edited again', editedAt: 104 }]),
        ev.reaction([{ messageId: 'o1', chatJid: PHONE, actorJid: PHONE, fromMe: false, emoji: '👍', reactedAt: 105, removed: false }]),
        ev.reaction([{ messageId: 'o1', chatJid: PHONE, actorJid: PHONE, fromMe: false, emoji: '❤️', reactedAt: 106, removed: false }]),
        ev.upsert([summary({ remoteJid: PHONE, id: 'o2', timestamp: 107, text: 'reply', quotedMessageId: 'o1', pushName: 'Ada' })]),
        ev.deleteMessages([{ messageId: 'o2', chatJid: PHONE, deletedAt: 108 }]),
      ];
      let expected: unknown;
      const orders = [[0, 1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1, 0], [2, 4, 6, 8, 1, 3, 5, 7, 0], [5, 0, 8, 3, 1, 7, 2, 6, 4]];
      for (const order of orders) {
        const { ev, rows } = await session();
        const list = build(ev);
        for (const i of order) await projector.apply(list[i]!);
        for (const i of [...order].reverse()) await projector.apply(reissued(list[i]!));
        const snapshot = await rows.snapshot();
        expected ??= snapshot;
        expect(snapshot).toEqual(expected);
      }
      expect(expected).toMatchObject({
        chats: [{ jid: PHONE, unread_count: 1, last_message_id: 'o2', last_message_preview: null }],
        messages: [
          { message_id: 'o1', text: 'edited again', status: 'read', edited_at: 104, deleted_at: null },
          { message_id: 'o2', text: null, deleted_at: 108, quoted_message_id: 'o1' },
        ],
        reactions: [{ message_id: 'o1', emoji: '❤️' }],
      });
    });
  });

  describe('identity: LID and phone number', () => {
    it('merges a chat first seen under a LID into the phone chat when the mapping arrives: one chat, one contact', async () => {
      const { ev, rows } = await session();
      await projector.apply(
        ev.upsert([summary({ remoteJid: LID, id: 'l1', timestamp: 10, text: 'from lid', pushName: 'Ada' })]),
        ev.reaction([{ messageId: 'l1', chatJid: LID, actorJid: LID, fromMe: false, emoji: '👍', reactedAt: 11, removed: false }]),
      );
      expect(await rows.chat(LID)).toMatchObject({ lid: LID, phone: null, unread_count: 1 });
      expect(await rows.contacts()).toMatchObject([{ id: LID, lid: LID, phone: null, notify: 'Ada' }]);

      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'p0', timestamp: 5, text: 'older, by phone' })]));
      await projector.apply(ev.lidMapping([{ lid: LID, pn: PHONE }]));
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'p1', timestamp: 20, text: 'from phone' })]));
      await projector.apply(ev.upsert([summary({ remoteJid: LID, id: 'l2', timestamp: 30, text: 'lid again' })]));

      const chats = await rows.chats();
      expect(chats).toHaveLength(1);
      expect(chats[0]).toMatchObject({ jid: PHONE, phone: '51999999999', lid: LID, unread_count: 4, last_message_id: 'l2', last_message_preview: 'lid again' });
      expect((await rows.messages()).map((m) => [m.chat_jid, m.message_id])).toEqual([
        [PHONE, 'p0'],
        [PHONE, 'l1'],
        [PHONE, 'p1'],
        [PHONE, 'l2'],
      ]);
      expect(await rows.reactions()).toMatchObject([{ chat_jid: PHONE, message_id: 'l1', actor_jid: PHONE, emoji: '👍' }]);
      const contacts = await rows.contacts();
      expect(contacts).toHaveLength(1);
      expect(contacts[0]).toMatchObject({ id: PHONE, phone: '51999999999', lid: LID, notify: 'Ada' });
      expect(await rows.mappings()).toEqual([{ lid: LID, pn: PHONE }]);
    });

    it('learns mappings from remoteJidAlt, participantAlt, contacts and history, and merges a message stored under both forms', async () => {
      const { ev, rows } = await session();
      // The same message id reached us under both forms: the stub under the phone JID merges with the LID row.
      await projector.apply(ev.update([{ messageId: 'dup', chatJid: PHONE, status: 'read', statusAt: 9 }]));
      await projector.apply(ev.upsert([summary({ remoteJid: LID, id: 'dup', fromMe: true, status: 'sent', timestamp: 8 })]));
      await projector.apply(ev.upsert([summary({ remoteJid: LID, remoteJidAlt: PHONE, id: 'alt', timestamp: 12 })]));
      expect((await rows.chats()).map((c) => c.jid)).toEqual([PHONE]);
      expect(await rows.message(PHONE, 'dup')).toMatchObject({ status: 'read', timestamp: 8, from_me: true });
      expect(await rows.messages()).toHaveLength(2);

      const group = '120363000000000001@g.us';
      const lid2 = '999888777666555@lid';
      await projector.apply(ev.upsert([summary({ remoteJid: group, id: 'g', participant: lid2, timestamp: 14, pushName: 'Grace' })]));
      expect((await rows.message(group, 'g')).participant).toBe(lid2);
      await projector.apply(ev.upsert([summary({ remoteJid: group, id: 'g2', participant: lid2, participantAlt: PHONE2, timestamp: 15 })]));
      expect((await rows.message(group, 'g')).participant).toBe(PHONE2);
      expect((await rows.message(group, 'g2')).participant).toBe(PHONE2);
      expect((await rows.contacts()).find((c) => c.id === PHONE2)).toMatchObject({ lid: lid2, phone: '51888888888', notify: 'Grace' });

      const lid3 = '111222333444555@lid';
      await projector.apply(ev.upsert([summary({ remoteJid: lid3, id: 'h', timestamp: 16 })]));
      await projector.apply(ev.contacts([{ id: lid3, name: 'Linus', notify: null, imgUrl: null, phone: '51777777777', lid: lid3 }]));
      expect((await rows.chats()).map((c) => c.jid)).toContain('51777777777@s.whatsapp.net');
      expect((await rows.chats()).map((c) => c.jid)).not.toContain(lid3);
      expect((await rows.contacts()).find((c) => c.id === '51777777777@s.whatsapp.net')).toMatchObject({ name: 'Linus', lid: lid3 });
    });
  });

  describe('session.history.sync', () => {
    it('writes a batch of 5,000 messages with its chats, contacts and mappings in a handful of statements', async () => {
      const { scope, ev, rows } = await session();
      const chats = Array.from({ length: 50 }, (_, i) => `5190000${String(i).padStart(4, '0')}@s.whatsapp.net`);
      const lids = chats.map((_, i) => `7000000${String(i).padStart(8, '0')}@lid`);
      // Half the chats' messages are addressed by LID; the batch's mappings make them one chat each.
      const messages = Array.from({ length: 5000 }, (_, i) =>
        summary({ remoteJid: i % 2 ? chats[i % 50]! : lids[i % 50]!, id: `h${i}`, timestamp: 1_000 + i, text: `message ${i}`, fromMe: i % 3 === 0 }),
      );
      const delivery = ev.history({
        messages,
        chats: chats.map((jid, i) => ({ jid, name: `Chat ${i}`, unreadCount: i, lastMessageAt: 1_000 })),
        contacts: chats.map((jid, i) => ({ id: jid, lid: lids[i]!, phoneJid: jid, name: `Contact ${i}`, notify: null, imgUrl: null })),
        lidMappings: chats.map((pn, i) => ({ lid: lids[i]!, pn })),
      });
      const counting = countingDb(db);
      const p = new Projector(counting.db);
      await p.apply(delivery);
      expect(counting.count()).toBeLessThan(20);
      expect(await db.query(`select count(*)::int as n from session_messages where session_id = $1`, [scope.sessionId])).toEqual([{ n: 5000 }]);
      const stored = await rows.chats();
      expect(stored).toHaveLength(50);
      expect(stored.find((c) => c.jid === chats[7])).toMatchObject({
        name: 'Chat 7',
        unread_count: 7,
        lid: lids[7],
        phone: chats[7]!.split('@')[0],
        last_message_id: 'h4957',
        last_message_at: 1_000 + 4957,
      });
      expect(await rows.contacts()).toHaveLength(50);
      // Delivered again (a new id: the inbox cannot help), nothing changes.
      const before = await rows.snapshot();
      counting.reset();
      await p.apply(reissued(delivery));
      expect(counting.count()).toBeLessThan(20);
      expect(await rows.snapshot()).toEqual(before);
    });

    it('uses the event messages when the entry has no full field', async () => {
      const { ev, rows } = await session();
      const { event } = ev.history({ messages: [summary({ remoteJid: PHONE, id: 'only', timestamp: 3 })] });
      await projector.apply(event);
      expect((await rows.messages()).map((m) => m.message_id)).toEqual(['only']);
    });
  });

  describe('session.contacts.upsert and session.chats.upsert', () => {
    it('merges contacts field by field, from the full list when the event is capped', async () => {
      const { ev, rows } = await session();
      const many = Array.from({ length: 120 }, (_, i) => ({ id: `5180000${String(i).padStart(4, '0')}@s.whatsapp.net`, lid: null, phoneJid: null, name: `N${i}`, notify: null, imgUrl: null }));
      const capped = ev.contacts(
        many.map((c) => ({ id: c.id, name: c.name, notify: null, imgUrl: null, phone: c.id.split('@')[0]!, lid: null })),
        many,
      );
      await projector.apply(capped);
      expect(await rows.contacts()).toHaveLength(120);
      await projector.apply(ev.contacts([{ id: many[0]!.id, notify: 'Nick', imgUrl: 'https://example.com/a.jpg', phone: null, lid: null }]));
      expect((await rows.contacts())[0]).toMatchObject({ id: many[0]!.id, name: 'N0', notify: 'Nick', img_url: 'https://example.com/a.jpg', phone: many[0]!.id.split('@')[0] });
    });

    it('upserts chat names and unread counts without losing the last message', async () => {
      const { ev, rows } = await session();
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'm', timestamp: 10 })]));
      await projector.apply(ev.chats([{ jid: PHONE, name: 'Ada', unreadCount: 0, lastMessageAt: 9 }, { jid: PHONE2, name: null, unreadCount: 3, lastMessageAt: 8 }]));
      expect(await rows.chat(PHONE)).toMatchObject({ name: 'Ada', unread_count: 0, last_message_id: 'm', last_message_at: 10 });
      expect(await rows.chat(PHONE2)).toMatchObject({ name: null, unread_count: 3, last_message_id: null, last_message_at: 8 });
      await projector.apply(ev.chats([{ jid: PHONE, name: null, unreadCount: null, lastMessageAt: null }]));
      expect(await rows.chat(PHONE)).toMatchObject({ name: 'Ada', unread_count: 0 });
    });
  });

  describe('session deletion and scoping', () => {
    it('deletes everything of a deleted session, keeps its sessions row, and ignores its later events', async () => {
      const { scope, ev, rows } = await session();
      const other = await session();
      await projector.apply(
        ev.upsert([summary({ remoteJid: LID, remoteJidAlt: PHONE, id: 'a', timestamp: 1 })]),
        ev.reaction([{ messageId: 'a', chatJid: PHONE, actorJid: PHONE, fromMe: false, emoji: '👍', reactedAt: 2, removed: false }]),
        ev.contacts([{ id: PHONE2, name: 'G', notify: null, imgUrl: null, phone: null, lid: null }]),
        other.ev.upsert([summary({ remoteJid: PHONE, id: 'keep', timestamp: 1 })]),
      );
      await projector.apply(ev.disconnected('connection_lost'));
      expect(await rows.messages()).toHaveLength(1);

      await db.query(`update sessions set deleted_at = now(), status = 'disconnected' where id = $1`, [scope.sessionId]);
      await projector.apply(ev.disconnected('deleted'));
      expect(await rows.snapshot()).toEqual({ chats: [], messages: [], reactions: [], contacts: [], mappings: [] });
      expect(await db.query(`select deleted_at is not null as deleted from sessions where id = $1`, [scope.sessionId])).toEqual([{ deleted: true }]);
      await projector.apply(ev.upsert([summary({ remoteJid: PHONE, id: 'late', timestamp: 3 })]));
      expect(await rows.messages()).toEqual([]);
      expect(await other.rows.messages()).toHaveLength(1);
    });

    it("ignores an event whose tenant is not the session's", async () => {
      const { scope, rows } = await session();
      const intruder = events({ tenantId: newId(), sessionId: scope.sessionId });
      await projector.apply(intruder.upsert([summary({ remoteJid: PHONE, id: 'x', timestamp: 1 })]));
      expect(await rows.messages()).toEqual([]);
    });
  });

  describe('through the EventConsumer', () => {
    it('applies one stream read in one transaction, reading full from the entry, once', async () => {
      const { ev, rows } = await session();
      const history: Delivery = ev.history({ messages: Array.from({ length: 80 }, (_, i) => summary({ remoteJid: PHONE, id: `b${i}`, timestamp: i })) });
      const receipt = ev.update([{ messageId: 'b79', chatJid: PHONE, status: 'read', statusAt: 100 }]);
      expect(await projector.batch(history, receipt, history)).toEqual([]);
      expect(await projector.batch(history, receipt)).toEqual([]);
      expect(await rows.messages()).toHaveLength(80);
      expect((await rows.message(PHONE, 'b79')).status).toBe('read');
    });
  });
});
