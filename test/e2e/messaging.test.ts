import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { eventually } from '../support/clients.js';
import { connectedSession, type ConnectedSession } from '../support/session.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const enc = encodeURIComponent;

describe.each(MODES)('messaging end to end with the simulator (%s)', (mode) => {
  let wahub: TestWahub;
  let s: ConnectedSession;
  const contact = '51911122233@s.whatsapp.net';

  beforeAll(async () => {
    wahub = await startTestWahub(mode, { WA_DRIVER: 'simulator' });
    s = await connectedSession(wahub, `messaging-${mode}`);
  });
  afterAll(async () => {
    s?.ws.close();
    await wahub?.stop();
  });

  const messagesOf = async (jid: string) => (await s.ok('GET', `/chats/${enc(jid)}/messages`, undefined, 200)).items as any[];
  const messageOf = async (jid: string, id: string) => (await messagesOf(jid)).find((m) => m.id === id);

  it('receives a message: session.messages.upsert as the seed, then the chat and message in the API', async () => {
    const { ids } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/messages`, { from: '51911122233', text: 'Como estas?', pushName: 'Ada', timestamp: 1767220050 });
    const event = await s.ws.next('session.messages.upsert');
    expect(event).toEqual({
      type: 'session.messages.upsert',
      sessionId: s.sessionId,
      eventId: expect.stringMatching(UUID),
      occurredOn: expect.stringMatching(ISO),
      payload: {
        tenantId: s.tenantId,
        upsertType: 'notify',
        requestId: null,
        messagesCount: 1,
        messages: [
          {
            id: ids[0],
            remoteJid: contact,
            fromMe: false,
            participant: null,
            timestamp: 1767220050,
            type: 'conversation',
            text: 'Como estas?',
            quotedMessageId: null,
            pushName: 'Ada',
            status: null,
            remoteJidAlt: null,
            participantAlt: null,
            media: null,
          },
        ],
      },
    });
    const message = await eventually(() => messageOf(contact, ids[0]));
    expect(message).toMatchObject({ id: ids[0], fromMe: false, text: 'Como estas?', type: 'conversation', timestamp: 1767220050, reactions: [] });
    const chats = (await s.ok('GET', '/chats', undefined, 200)).items as any[];
    expect(chats[0]).toMatchObject({ jid: contact, phone: '51911122233', unreadCount: 1, lastMessage: { id: ids[0], text: 'Como estas?' } });
  });

  it('sends, replies and forwards: the upsert carries the requestId, then delivered and read receipts', async () => {
    const [incoming] = (await messagesOf(contact)) as { id: string }[];
    const sent = await s.ok('POST', `/chats/${enc(contact)}/messages`, { content: 'Hola!' });
    expect(sent.requestId).toMatch(UUID);
    const upsert = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.requestId === sent.requestId);
    expect(upsert.payload).toMatchObject({ upsertType: 'append', messagesCount: 1, messages: [{ remoteJid: contact, fromMe: true, text: 'Hola!', type: 'conversation' }] });
    const sentId = upsert.payload.messages[0].id as string;
    const read = await s.ws.next((e) => e.type === 'session.messages.update' && e.payload.updates[0].messageId === sentId && e.payload.updates[0].status === 'read');
    expect(read.payload).toMatchObject({ tenantId: s.tenantId, updatesCount: 1, source: 'receipt', updates: [{ messageId: sentId, status: 'read', statusAt: expect.any(Number) }] });
    await eventually(async () => (await messageOf(contact, sentId))?.status === 'read');

    const reply = await s.ok('POST', `/chats/${enc(contact)}/messages`, { content: 'Respuesta', replyToMessageId: incoming!.id });
    const replied = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.requestId === reply.requestId);
    expect(replied.payload.messages[0]).toMatchObject({ text: 'Respuesta', quotedMessageId: incoming!.id });
    const replyView = await eventually(() => messageOf(contact, replied.payload.messages[0].id));
    expect(replyView.quoted).toMatchObject({ id: incoming!.id, text: 'Como estas?' });

    const other = '51944455566@s.whatsapp.net';
    const forward = await s.ok('POST', `/chats/${enc(other)}/messages`, { forwardMessageId: incoming!.id });
    const forwarded = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.requestId === forward.requestId);
    expect(forwarded.payload.messages[0]).toMatchObject({ remoteJid: other, fromMe: true, text: 'Como estas?' });

    const sentLog = (await s.ok('GET', `/simulator/sessions/${s.sessionId}/sent`, undefined, 200)).items as any[];
    expect(sentLog.map((i) => i.kind)).toEqual(['message', 'message', 'forward']);
    expect(sentLog[1].data).toMatchObject({ requestId: reply.requestId, quotedMessageId: incoming!.id });
  });

  it('edits, reacts (replace and remove) and deletes our own message', async () => {
    const sent = await s.ok('POST', `/chats/${enc(contact)}/messages`, { content: 'Texto original' });
    const upsert = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.requestId === sent.requestId);
    const id = upsert.payload.messages[0].id as string;
    await eventually(() => messageOf(contact, id));

    await s.ok('PATCH', `/chats/${enc(contact)}/messages/${id}`, { content: 'Texto editado' });
    const edit = await s.ws.next('session.messages.edit');
    expect(edit.payload).toEqual({ tenantId: s.tenantId, editsCount: 1, edits: [{ messageId: id, chatJid: contact, type: 'conversation', text: 'Texto editado', editedAt: expect.any(Number) }] });
    await eventually(async () => (await messageOf(contact, id))?.text === 'Texto editado');
    expect((await messageOf(contact, id)).editedAt).toBeTruthy();

    await s.ok('POST', `/chats/${enc(contact)}/messages/${id}/reactions`, { emoji: '👍' });
    const reaction = await s.ws.next('session.messages.reaction');
    expect(reaction.payload).toEqual({
      tenantId: s.tenantId,
      reactionsCount: 1,
      reactions: [{ messageId: id, chatJid: contact, actorJid: `${s.phone}@s.whatsapp.net`, fromMe: true, emoji: '👍', reactedAt: expect.any(Number), removed: false }],
      source: 'event',
    });
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/reactions`, { messageId: id, from: '51911122233', emoji: '👍' });
    await eventually(async () => (await messageOf(contact, id))?.reactions?.[0]?.count === 2);
    // One reaction per actor: ❤️ replaces our 👍.
    await s.ok('POST', `/chats/${enc(contact)}/messages/${id}/reactions`, { emoji: '❤️' });
    await eventually(async () => (await messageOf(contact, id))?.reactions?.length === 2);
    const reactions = (await messageOf(contact, id)).reactions as any[];
    expect(reactions).toEqual(
      expect.arrayContaining([
        { emoji: '👍', count: 1, actors: [contact] },
        { emoji: '❤️', count: 1, actors: [`${s.phone}@s.whatsapp.net`] },
      ]),
    );
    await s.ok('POST', `/chats/${enc(contact)}/messages/${id}/reactions`, { emoji: null });
    const removed = await s.ws.next((e) => e.type === 'session.messages.reaction' && e.payload.reactions[0].removed === true);
    expect(removed.payload.reactions[0]).toMatchObject({ emoji: null, fromMe: true, removed: true });
    await eventually(async () => (await messageOf(contact, id))?.reactions?.length === 1);

    await s.ok('DELETE', `/chats/${enc(contact)}/messages/${id}`);
    const deleted = await s.ws.next('session.messages.delete');
    expect(deleted.payload).toEqual({ tenantId: s.tenantId, scope: 'message', deletesCount: 1, deletes: [{ messageId: id, chatJid: contact, deletedAt: expect.any(Number) }] });
    await eventually(async () => (await messageOf(contact, id))?.deletedAt);
    expect((await messageOf(contact, id)).text).toBeNull();
  });

  it('refuses what cannot be done: other people’s messages, unknown ids, bad bodies', async () => {
    const [incoming] = (await messagesOf(contact)).filter((m) => !m.fromMe);
    expect((await s.api('PATCH', `/chats/${enc(contact)}/messages/${incoming.id}`, { content: 'x' })).status).toBe(403);
    expect((await s.api('DELETE', `/chats/${enc(contact)}/messages/${incoming.id}`)).status).toBe(403);
    expect((await s.api('DELETE', `/chats/${enc(contact)}/messages/nope`)).status).toBe(404);
    expect((await s.api('POST', `/chats/${enc(contact)}/messages`, { content: 'x', replyToMessageId: 'nope' })).status).toBe(404);
    expect((await s.api('POST', `/chats/${enc(contact)}/messages`, {})).status).toBe(400);
    expect((await s.api('POST', `/chats/${enc(contact)}/messages`, { content: 'x', extra: 1 })).status).toBe(400);
    expect((await s.api('POST', `/chats/${enc(contact)}/read`, { messageIds: [] })).status).toBe(400);
    const read = await s.ok('POST', `/chats/${enc(contact)}/read`, { messageIds: [incoming.id] });
    expect(read.requestId).toMatch(UUID);
    await eventually(async () => ((await s.ok('GET', `/simulator/sessions/${s.sessionId}/sent`, undefined, 200)).items as any[]).some((i) => i.kind === 'read' && i.data.messageIds.includes(incoming.id)));
  });

  it('reports a send WhatsApp refuses after the fact (463) as session.command.failed and marks it failed', async () => {
    const restricted = '000123456@s.whatsapp.net';
    const sent = await s.ok('POST', `/chats/${enc(restricted)}/messages`, { content: 'hola' });
    const failed = await s.ws.next((e) => e.type === 'session.command.failed' && e.payload.requestId === sent.requestId);
    expect(failed.payload).toMatchObject({ tenantId: s.tenantId, requestId: sent.requestId, command: 'session.sendMessage', reason: expect.stringContaining('463') });
    await eventually(async () => (await messageOf(restricted, failed.payload.messageId))?.status === 'failed');
  });

  it('applies receipts, edits, deletes and reactions from the other side; status never goes back', async () => {
    const sent = await s.ok('POST', `/chats/${enc(contact)}/messages`, { content: 'status' });
    const upsert = await s.ws.next((e) => e.type === 'session.messages.upsert' && e.payload.requestId === sent.requestId);
    const id = upsert.payload.messages[0].id as string;
    await eventually(async () => (await messageOf(contact, id))?.status === 'read');
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/receipts`, { messageIds: [id], status: 'delivered' });
    await s.ws.next((e) => e.type === 'session.messages.update' && e.payload.updates[0].status === 'delivered' && e.payload.updates[0].messageId === id);
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/receipts`, { messageIds: [id], status: 'played' });
    await eventually(async () => (await messageOf(contact, id))?.status === 'played');

    const { ids } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/messages`, { from: contact, text: 'antes' });
    await eventually(() => messageOf(contact, ids[0]));
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/edits`, { messageId: ids[0], text: 'despues' });
    await eventually(async () => (await messageOf(contact, ids[0]))?.text === 'despues');
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/reactions`, { messageId: ids[0], from: contact, emoji: '😂' });
    await eventually(async () => (await messageOf(contact, ids[0]))?.reactions?.[0]?.emoji === '😂');
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/reactions`, { messageId: ids[0], from: contact, emoji: null });
    await eventually(async () => (await messageOf(contact, ids[0]))?.reactions?.length === 0);
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/deletes`, { messageId: ids[0] });
    await eventually(async () => (await messageOf(contact, ids[0]))?.deletedAt);
  });

  it('reports presence and contacts', async () => {
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/presence`, { jid: '51911122233', presence: 'composing' });
    const presence = await s.ws.next('session.presence.update');
    expect(presence.payload).toEqual({ tenantId: s.tenantId, chatJid: contact, updatesCount: 1, updates: [{ jid: contact, presence: 'composing', lastSeen: null }] });

    await s.ok('POST', `/simulator/sessions/${s.sessionId}/contacts`, { contacts: [{ id: '51911122233', name: 'Ada', notify: 'Ada' }, { id: '51888888888', notify: 'Grace' }] });
    const contacts = await s.ws.next('session.contacts.upsert');
    expect(contacts.payload).toMatchObject({
      tenantId: s.tenantId,
      contactsCount: 2,
      contactsTruncated: false,
      contacts: [
        { id: contact, name: 'Ada', notify: 'Ada', imgUrl: null },
        { id: '51888888888@s.whatsapp.net', notify: 'Grace', imgUrl: null },
      ],
      source: 'event',
    });
    await eventually(async () => ((await s.ok('GET', '/contacts', undefined, 200)).items as any[]).some((c) => c.id === contact && c.name === 'Ada'));
  });

  it('ingests a history sync in batches: a capped event, every row in the database', async () => {
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/history`, { chats: 20, messagesPerChat: 30, batchSize: 250 });
    const batch = await s.ws.next('session.history.sync');
    expect(batch.payload).toMatchObject({ tenantId: s.tenantId, syncType: 'RECENT', isLatest: true, messagesCount: 250, messagesTruncated: true });
    expect(batch.payload.messages.length).toBeLessThan(250);
    await eventually(async () => {
      const [row] = await wahub.resources.db.query<{ n: number }>(`select count(*)::int as n from session_messages where session_id = $1 and message_id like 'H%'`, [s.sessionId]);
      return row!.n === 600;
    }, 30_000);
  });

  it('clears a chat', async () => {
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/deletes`, { chatJid: '51944455566', scope: 'chat' });
    const cleared = await s.ws.next((e) => e.type === 'session.messages.delete' && e.payload.scope === 'chat');
    expect(cleared.payload).toEqual({ tenantId: s.tenantId, scope: 'chat', chatJid: '51944455566@s.whatsapp.net', deletesCount: 0, deletes: [] });
    await eventually(async () => (await messagesOf('51944455566@s.whatsapp.net')).length === 0);
  });

  it('keeps one chat per person across LID and phone forms', async () => {
    const lid = '123456789012345@lid';
    const { ids: first } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/messages`, { from: lid, text: 'desde lid' });
    await eventually(() => messageOf(lid, first[0]));
    await s.ok('POST', `/simulator/sessions/${s.sessionId}/lid-mapping`, { phone: '51955566677', lid });
    const { ids: second } = await s.ok('POST', `/simulator/sessions/${s.sessionId}/messages`, { from: '51955566677', text: 'desde telefono' });
    await eventually(async () => (await messagesOf('51955566677')).length === 2);
    expect((await messagesOf(lid)).map((m) => m.id).sort()).toEqual([first[0], second[0]].sort());
    const chats = ((await s.ok('GET', '/chats?limit=200', undefined, 200)).items as any[]).filter((c) => c.phone === '51955566677' || c.lid === lid);
    expect(chats).toHaveLength(1);
    expect(chats[0]).toMatchObject({ jid: '51955566677@s.whatsapp.net', phone: '51955566677', lid });
  });

  it('answers 409 to commands while the session is not connected, and isolates tenants', async () => {
    const other = await connectedSession(wahub, `other-${mode}`);
    try {
      const mine = await messagesOf(contact);
      // Tenant B sees none of A's chats or messages, and cannot act on them.
      expect((await other.ok('GET', `/chats/${enc(contact)}/messages`, undefined, 200)).items).toEqual([]);
      expect(((await other.ok('GET', '/chats', undefined, 200)).items as any[]).some((c) => c.jid === contact)).toBe(false);
      expect((await other.api('DELETE', `/chats/${enc(contact)}/messages/${mine[0].id}`)).status).toBe(404);
      expect(other.ws.events.some((e) => e.payload.tenantId !== other.tenantId)).toBe(false);
      await other.ok('POST', `/sessions/${other.sessionId}/stop`);
      await other.ws.next('session.status.disconnected');
      await eventually(async () => {
        const res = await other.api('POST', `/chats/${enc(contact)}/messages`, { content: 'x' });
        if (res.status !== 409) throw new Error(`${res.status} ${await res.text()}`);
        return true;
      });
      expect((await other.api('POST', `/sessions/${s.sessionId}/messages`, { to: contact, content: 'x' })).status).toBe(404);
    } finally {
      other.ws.close();
    }
  });
});
