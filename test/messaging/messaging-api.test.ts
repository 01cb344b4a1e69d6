import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAMS } from '../../src/events/envelope.js';
import { encodeCursor } from '../../src/modules/chats/index.js';
import { eventually, signUpAndLogin } from '../support/clients.js';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { events, fieldsOf, LID, PHONE, PHONE2, summary, type AnyEvent, type Delivery, type Scope } from './support.js';

type Json = Record<string, any>;

describe.each(MODES)('GET /chats, /chats/:jid/messages and /contacts (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode, { WA_DRIVER: 'simulator', WORKER_SHARDS: '2' });
  });
  afterAll(async () => wahub?.stop());

  async function get(path: string, token: string): Promise<{ status: number; body: Json; type: string | null }> {
    const res = await wahub.request('GET', path, { token });
    return { status: res.status, body: (await res.json()) as Json, type: res.headers.get('content-type') };
  }

  /** A user with a live session, and the builders of its session's events. */
  async function tenant(label: string) {
    const user = await signUpAndLogin(wahub, label);
    const created = await wahub.request('POST', '/sessions', { token: user.accessToken });
    expect(created.status).toBe(201);
    const { session } = (await created.json()) as { session: { id: string } };
    const scope: Scope = { tenantId: user.tenantId, sessionId: session.id };
    return { user, token: user.accessToken, scope, ev: events(scope) };
  }

  /** Appends events to domain-events as the worker does; the consumer role projects them. */
  async function publish(...deliveries: (Delivery | AnyEvent)[]): Promise<void> {
    await wahub.resources.bus.append(
      STREAMS.domainEvents,
      deliveries.map((d) => fieldsOf('event' in d ? d : { event: d })),
    );
  }

  it('answers empty lists without a session, and 401 without a token', async () => {
    const user = await signUpAndLogin(wahub, 'nosession');
    for (const path of ['/chats', '/contacts', `/chats/${encodeURIComponent(PHONE)}/messages`]) {
      expect(await get(path, user.accessToken)).toMatchObject({ status: 200, body: { items: [], nextCursor: null } });
      expect((await wahub.request('GET', path)).status).toBe(401);
    }
  });

  it('shows chats, messages (reactions, quoted, status, edits, deletes, media) and contacts as the events left them', async () => {
    const { token, ev } = await tenant('ada');
    const media = { kind: 'image' as const, mime: 'image/jpeg', size: 120483, width: 720, height: 1280, duration: null, fileName: null };
    await publish(
      ev.history({
        chats: [{ jid: PHONE, name: null, unreadCount: 0, lastMessageAt: 1767220000 }],
        contacts: [{ id: PHONE, lid: LID, phoneJid: PHONE, name: 'Ada', notify: 'Ada L.', imgUrl: null }],
        messages: [
          summary({ remoteJid: PHONE, id: 'msg-1', timestamp: 1767220000, text: 'Hola' }),
          summary({ remoteJid: PHONE, id: 'msg-3', timestamp: 1767220040, type: 'imageMessage', text: 'Foto', media }),
        ],
        lidMappings: [{ lid: LID, pn: PHONE }],
      }),
      // Addressed by LID: the same chat.
      ev.upsert([summary({ remoteJid: LID, id: 'msg-2', timestamp: 1767220050, fromMe: true, status: 'sent', text: 'Como estas?', quotedMessageId: 'msg-1' })]),
      ev.update([{ messageId: 'msg-2', chatJid: PHONE, status: 'read', statusAt: 1767220060 }]),
      ev.edit([{ messageId: 'msg-2', chatJid: PHONE, type: 'conversation', text: 'Como estas hoy?', editedAt: 1767220070 }]),
      ev.reaction([
        { messageId: 'msg-2', chatJid: PHONE, actorJid: PHONE, fromMe: false, emoji: '👍', reactedAt: 1767220090, removed: false },
        { messageId: 'msg-2', chatJid: PHONE, actorJid: PHONE2, fromMe: false, emoji: '👍', reactedAt: 1767220091, removed: false },
        { messageId: 'msg-2', chatJid: PHONE, actorJid: '51777777777@s.whatsapp.net', fromMe: false, emoji: '❤️', reactedAt: 1767220092, removed: false },
      ]),
      ev.upsert([summary({ remoteJid: PHONE2, id: 'gone', timestamp: 1767220100, text: 'oops', pushName: 'Grace' })]),
      ev.deleteMessages([{ messageId: 'gone', chatJid: PHONE2, deletedAt: 1767220101 }]),
    );
    const chats = await eventually(async () => {
      const { body } = await get('/chats', token);
      return body.items.length === 2 && body.items[0].lastMessage?.text === null && body.items[1].lastMessage?.text === 'Como estas hoy?' ? body : null;
    });
    expect(chats).toEqual({
      items: [
        {
          jid: PHONE2,
          phone: '51888888888',
          lid: null,
          name: 'Grace',
          unreadCount: 1,
          lastMessage: { id: 'gone', text: null, type: 'conversation', timestamp: 1767220100, fromMe: false },
          lastMessageAt: 1767220100,
        },
        {
          jid: PHONE,
          phone: '51999999999',
          lid: LID,
          name: 'Ada',
          unreadCount: 0,
          lastMessage: { id: 'msg-2', text: 'Como estas hoy?', type: 'conversation', timestamp: 1767220050, fromMe: true },
          lastMessageAt: 1767220050,
        },
      ],
      nextCursor: null,
    });

    const messages = await eventually(async () => {
      const { body } = await get(`/chats/${encodeURIComponent(PHONE)}/messages`, token);
      return body.items?.[0]?.reactions?.length === 2 ? body : null;
    });
    expect(messages.nextCursor).toBeNull();
    expect(messages.items).toEqual([
      {
        id: 'msg-2',
        chatJid: PHONE,
        fromMe: true,
        participant: null,
        timestamp: 1767220050,
        type: 'conversation',
        text: 'Como estas hoy?',
        status: 'read',
        editedAt: 1767220070,
        deletedAt: null,
        quotedMessageId: 'msg-1',
        quoted: { id: 'msg-1', text: 'Hola', type: 'conversation', fromMe: false },
        reactions: [
          { emoji: '👍', count: 2, actors: [PHONE, PHONE2] },
          { emoji: '❤️', count: 1, actors: ['51777777777@s.whatsapp.net'] },
        ],
        media: null,
        pushName: null,
      },
      expect.objectContaining({
        id: 'msg-3',
        type: 'imageMessage',
        text: 'Foto',
        // WhatsApp's metadata alone is not the seed's media object: it appears once the media job stored it.
        media: null,
        reactions: [],
        quoted: null,
      }),
      expect.objectContaining({ id: 'msg-1', text: 'Hola', fromMe: false, status: null }),
    ]);
    const deleted = await get(`/chats/${encodeURIComponent(PHONE2)}/messages`, token);
    expect(deleted.body.items).toEqual([expect.objectContaining({ id: 'gone', text: null, deletedAt: 1767220101, pushName: 'Grace' })]);

    const contacts = await get('/contacts', token);
    expect(contacts.body).toEqual({
      items: [
        { id: PHONE2, name: null, notify: 'Grace', phone: '51888888888', lid: null, imgUrl: null },
        { id: PHONE, name: 'Ada', notify: 'Ada L.', phone: '51999999999', lid: LID, imgUrl: null },
      ],
      nextCursor: null,
    });
  });

  it('accepts the phone JID, the LID, bare digits and a device JID for :jid, and refuses what is neither', async () => {
    const { token, ev } = await tenant('forms');
    await publish(ev.lidMapping([{ lid: LID, pn: PHONE }]), ev.upsert([summary({ remoteJid: LID, id: 'one', timestamp: 10 })]));
    const ids = async (jid: string) => (await get(`/chats/${encodeURIComponent(jid)}/messages`, token)).body.items?.map((m: Json) => m.id);
    await eventually(async () => (await ids(PHONE))?.length === 1);
    for (const form of [PHONE, LID, '51999999999', '+51999999999', '51999999999:7@s.whatsapp.net', '123456789012345:3@lid']) {
      expect(await ids(form)).toEqual(['one']);
    }
    expect(await ids('51000000000')).toEqual([]); // a chat we know nothing of
    const bad = await get(`/chats/${encodeURIComponent('not a jid')}/messages`, token);
    expect(bad).toMatchObject({ status: 400, body: { code: 'invalid_jid' } });
  });

  it('pages messages newest first with a cursor while new messages arrive: no duplicates, no gaps', async () => {
    const { token, ev } = await tenant('pager');
    const first = Array.from({ length: 120 }, (_, i) => summary({ remoteJid: PHONE, id: `p${String(i).padStart(3, '0')}`, timestamp: 1000 + Math.floor(i / 3) }));
    await publish(ev.history({ messages: first }));
    const path = `/chats/${encodeURIComponent(PHONE)}/messages`;
    await eventually(async () => (await get(`${path}?limit=200`, token)).body.items?.length === 120);

    const seen: string[] = [];
    let page = await get(`${path}?limit=50`, token);
    expect(page.body.items).toHaveLength(50);
    seen.push(...page.body.items.map((m: Json) => m.id));
    // New messages (newer, and one in the same second as the newest) arrive between pages.
    await publish(ev.upsert([summary({ remoteJid: PHONE, id: 'zz-new', timestamp: 1039 }), summary({ remoteJid: PHONE, id: 'new2', timestamp: 2000 })]));
    await eventually(async () => (await get(`${path}?limit=1`, token)).body.items?.[0]?.id === 'new2');
    while (page.body.nextCursor) {
      page = await get(`${path}?limit=50&cursor=${page.body.nextCursor}`, token);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((m: Json) => m.id));
    }
    const expected = [...first].sort((a, b) => b.timestamp - a.timestamp || (a.id < b.id ? 1 : -1)).map((m) => m.id);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(120);
  });

  it('pages chats by recent activity and contacts by id', async () => {
    const { token, ev } = await tenant('lists');
    const jids = Array.from({ length: 75 }, (_, i) => `5170000${String(i).padStart(4, '0')}@s.whatsapp.net`);
    await publish(
      ev.history({
        messages: jids.map((jid, i) => summary({ remoteJid: jid, id: `c${i}`, timestamp: 5000 + (i % 10), pushName: `P${i}` })),
        contacts: jids.map((id) => ({ id, lid: null, phoneJid: id, name: null, notify: null, imgUrl: null })),
      }),
    );
    await eventually(async () => (await get('/contacts?limit=200', token)).body.items?.length === 75);
    for (const [path, key] of [
      ['/chats', (c: Json) => c.jid],
      ['/contacts', (c: Json) => c.id],
    ] as const) {
      const all: Json[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: Json } = await get(`${path}?limit=30${cursor ? `&cursor=${cursor}` : ''}`, token);
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(30);
        all.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(all.map(key).sort()).toEqual([...jids].sort());
      if (path === '/chats') {
        const keys = all.map((c) => [c.lastMessageAt, c.jid] as const);
        expect(keys).toEqual([...keys].sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : -1)));
      } else {
        expect(all.map(key)).toEqual([...jids].sort());
      }
    }
    expect((await get('/chats', token)).body.items).toHaveLength(50); // default limit
  });

  it('validates limit and cursor with 400 problem documents', async () => {
    const { token } = await tenant('limits');
    for (const base of ['/chats', '/contacts', `/chats/${encodeURIComponent(PHONE)}/messages`]) {
      for (const query of ['limit=0', 'limit=201', 'limit=abc', 'limit=1.5']) {
        const res = await get(`${base}?${query}`, token);
        expect(res.status, `${base}?${query}`).toBe(400);
        expect(res.type).toContain('application/problem+json');
      }
      expect((await get(`${base}?limit=200`, token)).status).toBe(200);
      for (const cursor of ['%%%', 'bm90LWpzb24', encodeCursor(['x', 1, 2]), encodeCursor([{ a: 1 } as never])]) {
        const res = await get(`${base}?cursor=${cursor}`, token);
        expect(res.status, `${base} cursor ${cursor}`).toBe(400);
        expect(res.body).toMatchObject({ status: 400 });
      }
    }
  });

  it("isolates tenants: another tenant sees nothing of A's chats, messages or contacts, even by A's JIDs", async () => {
    const a = await tenant('tenant-a');
    const b = await tenant('tenant-b');
    await publish(
      a.ev.history({
        messages: [summary({ remoteJid: PHONE, id: 'secret', timestamp: 1, text: 'A only' })],
        contacts: [{ id: PHONE, lid: LID, phoneJid: PHONE, name: 'A contact', notify: null, imgUrl: null }],
        lidMappings: [{ lid: LID, pn: PHONE }],
      }),
      // An event naming A's session with B's tenant is not B's, nor A's.
      events({ tenantId: b.scope.tenantId, sessionId: a.scope.sessionId }).upsert([summary({ remoteJid: PHONE2, id: 'forged', timestamp: 2 })]),
      b.ev.upsert([summary({ remoteJid: PHONE2, id: 'b-own', timestamp: 3 })]),
    );
    await eventually(async () => (await get('/chats', b.token)).body.items?.length === 1);
    await eventually(async () => (await get(`/chats/${encodeURIComponent(PHONE)}/messages`, a.token)).body.items?.length === 1);
    expect((await get('/chats', b.token)).body.items.map((c: Json) => c.jid)).toEqual([PHONE2]);
    for (const jid of [PHONE, LID, '51999999999']) {
      expect((await get(`/chats/${encodeURIComponent(jid)}/messages`, b.token)).body).toEqual({ items: [], nextCursor: null });
    }
    expect((await get('/contacts', b.token)).body.items.map((c: Json) => c.id)).toEqual([PHONE2]);
    expect((await get('/chats', a.token)).body.items.map((c: Json) => c.jid)).toEqual([PHONE]);
    expect((await get(`/chats/${encodeURIComponent(PHONE2)}/messages`, a.token)).body.items).toEqual([]);
  });
});
