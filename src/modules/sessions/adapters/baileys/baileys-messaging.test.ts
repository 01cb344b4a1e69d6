import { Boom } from '@hapi/boom';
import {
  DisconnectReason,
  initAuthCreds,
  proto,
  WAMessageStatus,
  type AuthenticationCreds,
  type BaileysEventMap,
  type WAMessage,
} from 'baileys';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConnectionListener, WhatsAppConnection } from '../../domain/whatsapp-driver.js';
import type { StoredMessageRef, WaMessageKey, WhatsAppCommand, WhatsAppEvent } from '../../domain/whatsapp-events.js';
import { createAuthStateStore } from './auth-state-store.js';
import { createBaileysDriver } from './baileys-driver.js';
import { FakeWhatsAppSocket, logger, ME, ME_JID } from './fake-socket.js';
import { toRaw } from './message-summary.js';
import { grantLease, newSession, openTestDb, type TestDb, PEER, waKey, listenerRecorder } from './test-fixtures.js';

const GROUP = '120363000000000000@g.us';
const MEMBER = '51977777777@s.whatsapp.net';
const T0 = Date.parse('2026-05-01T12:00:00.000Z');
const NOW = T0 / 1000;

const key = waKey;

function linkedCreds(): AuthenticationCreds {
  const creds = initAuthCreds();
  creds.me = { ...ME };
  creds.account = { details: Buffer.from([1, 2]), accountSignatureKey: Buffer.alloc(32, 1), accountSignature: Buffer.alloc(64, 2) };
  return creds;
}

describe('Baileys driver: events and commands through a socket that sends', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb('embedded');
  });
  afterAll(async () => t?.close());

  /** A linked, open connection on a FakeWhatsAppSocket; `flushes` sees every map Baileys hands over. */
  async function open(options: { open?: boolean } = {}) {
    const sockets: FakeWhatsAppSocket[] = [];
    const driver = createBaileysDriver({
      db: t.db,
      logger,
      version: [2, 3000, 1023223821],
      browser: ['macOS', 'Desktop'],
      getMessage: async () => undefined,
      makeSocket: (config) => {
        const socket = new FakeWhatsAppSocket(config);
        sockets.push(socket);
        return socket;
      },
      clock: { now: () => new Date(T0) },
    });
    const { tenantId, sessionId } = newSession();
    const fence = await grantLease(t.db);
    await createAuthStateStore({ db: t.db, tenantId, sessionId, fence }).saveCreds(linkedCreds());
    const listener = listenerRecorder();
    const connection: WhatsAppConnection = await driver.connect({ tenantId, sessionId, fence, pairingPhone: null, listener, logger });
    const sock = sockets[0]!;
    const flushes: Partial<BaileysEventMap>[] = [];
    sock.ev.process((map) => void flushes.push(map));
    if (options.open !== false) sock.open();
    const reported = () => listener.onEvents.mock.calls.flatMap(([events]) => events);
    /** Waits until Baileys' echo of a sent message went through the event stream. */
    const echoOf = (id: string) =>
      vi.waitFor(() => expect(flushes.some((map) => map['messages.upsert']?.messages.some((m) => m.key.id === id))).toBe(true), { timeout: 2000 });
    return { connection, sock, listener, reported, flushes, echoOf };
  }

  const of = <K extends WhatsAppEvent['kind']>(events: WhatsAppEvent[], kind: K) =>
    events.filter((e): e is Extract<WhatsAppEvent, { kind: K }> => e.kind === kind);

  const inbound = (id: string, content: Record<string, unknown>, from = PEER) => {
    const msg = proto.WebMessageInfo.fromObject({ key: { remoteJid: from, fromMe: false, id }, message: content, messageTimestamp: NOW - 60, pushName: 'Ada' }) as WAMessage;
    msg.key = { remoteJid: from, fromMe: false, id };
    return msg;
  };

  const storedRef = (msg: WAMessage, text: string | null): StoredMessageRef => ({
    key: key(msg.key.id!, { remoteJid: msg.key.remoteJid!, fromMe: !!msg.key.fromMe, participant: msg.key.participant ?? null }),
    type: 'conversation',
    text,
    timestamp: NOW - 60,
    raw: toRaw(msg),
  });

  it("reports what Baileys emits through onEvents: one call per flush of its buffer, in order", async () => {
    const { sock, listener, reported, connection } = await open();
    await sock.receive(inbound('m1', { conversation: 'Hola' }));
    await vi.waitFor(() => expect(listener.onEvents).toHaveBeenCalled());
    expect(of(reported(), 'messages.upsert')[0]).toMatchObject({ upsertType: 'notify', requestId: null, messages: [{ key: key('m1'), text: 'Hola', pushName: 'Ada' }] });

    // offline messages: buffered until Baileys flushes, then one call
    listener.onEvents.mockClear();
    sock.ev.buffer();
    await sock.receive(inbound('m2', { conversation: 'dos' }), 'append');
    await sock.receive(inbound('m3', { conversation: 'tres' }), 'append');
    await sock.receive(
      inbound('rev', { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: PEER, fromMe: true, id: 'm2' } } }),
      'append',
    );
    expect(listener.onEvents).not.toHaveBeenCalled();
    sock.ev.flush();
    expect(listener.onEvents).toHaveBeenCalledTimes(1);
    const [events] = listener.onEvents.mock.calls[0]!;
    expect(events.map((e) => e.kind)).toEqual(['chats.upsert', 'messages.upsert', 'messages.delete']);
    expect(of(events, 'messages.upsert')[0]!.messages.map((m) => m.key.id)).toEqual(['m3']);
    expect(of(events, 'messages.delete')[0]).toMatchObject({ scope: 'message', deletes: [{ key: key('m2') }] });
    await connection.close();
  });

  it('refuses commands while the connection is not open', async () => {
    const { connection, sock } = await open({ open: false });
    const send: WhatsAppCommand = { kind: 'send', requestId: 'r0', to: PEER, text: 'hi', quoted: null, forward: null };
    await expect(connection.execute(send)).rejects.toMatchObject({ name: 'WhatsAppCommandError', reason: 'not_connected', retryable: true });
    sock.open();
    await connection.close();
    await expect(connection.execute(send)).rejects.toMatchObject({ reason: 'not_connected', retryable: true });
    expect(sock.sendMessage).not.toHaveBeenCalled();
  });

  it('sends a text: the exact call, one upsert carrying the requestId, the echo dropped', async () => {
    const { connection, sock, reported, echoOf } = await open();
    const result = await connection.execute({ kind: 'send', requestId: 'req-1', to: PEER, text: 'hola', quoted: null, forward: null });
    expect(sock.sendMessage).toHaveBeenCalledTimes(1);
    expect(sock.sendMessage).toHaveBeenCalledWith(PEER, { text: 'hola' }, { messageId: expect.any(String) });
    const id = sock.sendMessage.mock.calls[0]![2]!.messageId!;
    expect(result.message).toMatchObject({ key: key(id, { fromMe: true }), type: 'extendedTextMessage', text: 'hola', status: 'sent' });

    await echoOf(id);
    const upserts = of(reported(), 'messages.upsert');
    expect(upserts).toEqual([{ kind: 'messages.upsert', upsertType: 'append', requestId: 'req-1', messages: [result.message] }]);
    await connection.close();
  });

  it('drops the echo even when it comes before sendMessage resolves', async () => {
    const { connection, sock, reported } = await open();
    sock.echo = 'before';
    const result = await connection.execute({ kind: 'send', requestId: 'req-2', to: PEER, text: 'early', quoted: null, forward: null });
    const upserts = of(reported(), 'messages.upsert');
    expect(upserts).toHaveLength(1);
    expect(upserts[0]).toMatchObject({ requestId: 'req-2', messages: [{ key: { id: result.message!.key.id } }] });
    await connection.close();
  });

  it('replies quoting the stored original', async () => {
    const { connection, sock, echoOf, reported } = await open();
    const original = inbound('orig', { conversation: 'Hola' }, GROUP);
    original.key.participant = MEMBER;
    const ref = storedRef(original, 'Hola');
    const result = await connection.execute({ kind: 'send', requestId: 'req-3', to: GROUP, text: 'hi!', quoted: ref, forward: null });
    expect(sock.sendMessage).toHaveBeenCalledWith(
      GROUP,
      { text: 'hi!' },
      {
        quoted: expect.objectContaining({ key: { remoteJid: GROUP, fromMe: false, id: 'orig', participant: MEMBER }, message: expect.objectContaining({ conversation: 'Hola' }) }),
        messageId: expect.any(String),
      },
    );
    expect(result.message).toMatchObject({ text: 'hi!', quotedMessageId: 'orig', key: { remoteJid: GROUP, fromMe: true } });
    await echoOf(result.message!.key.id);
    expect(of(reported(), 'messages.upsert')).toHaveLength(1);
    await connection.close();
  });

  it('forwards a stored message', async () => {
    const { connection, sock, echoOf, reported } = await open();
    const ref = storedRef(inbound('fw', { conversation: 'look at this' }), 'look at this');
    const result = await connection.execute({ kind: 'send', requestId: 'req-4', to: GROUP, text: null, quoted: null, forward: ref });
    expect(sock.sendMessage).toHaveBeenCalledWith(
      GROUP,
      { forward: expect.objectContaining({ key: { remoteJid: PEER, fromMe: false, id: 'fw' }, message: expect.objectContaining({ conversation: 'look at this' }) }) },
      { messageId: expect.any(String) },
    );
    expect(result.message).toMatchObject({ type: 'extendedTextMessage', text: 'look at this', key: { remoteJid: GROUP, fromMe: true } });
    expect((result.message!.raw as { message: { extendedTextMessage: { contextInfo: unknown } } }).message.extendedTextMessage.contextInfo).toMatchObject({
      isForwarded: true,
    });
    await echoOf(result.message!.key.id);
    expect(of(reported(), 'messages.upsert')).toEqual([expect.objectContaining({ requestId: 'req-4' })]);
    await connection.close();
  });

  it('edits: the exact call, the edit reported once (echo and its messages.update dropped)', async () => {
    const { connection, sock, echoOf, reported, flushes } = await open();
    const target: StoredMessageRef = { key: key('mine', { fromMe: true }), type: 'conversation', text: 'helo', timestamp: NOW - 60, raw: null };
    const result = await connection.execute({ kind: 'edit', requestId: 'req-5', target, text: 'hello' });
    expect(result).toEqual({ message: null });
    expect(sock.sendMessage).toHaveBeenCalledWith(PEER, { text: 'hello', edit: { remoteJid: PEER, fromMe: true, id: 'mine' } }, { messageId: expect.any(String) });
    await echoOf(sock.sendMessage.mock.calls[0]![2]!.messageId!);
    // Baileys did repeat the edit on the target...
    expect(flushes.some((map) => map['messages.update']?.some((u) => u.key.id === 'mine' && u.update.message?.editedMessage))).toBe(true);
    // ...and it is reported once.
    expect(of(reported(), 'messages.edit')).toEqual([
      { kind: 'messages.edit', edits: [{ key: key('mine', { fromMe: true }), type: 'extendedTextMessage', text: 'hello', editedAt: expect.any(Number) }] },
    ]);
    expect(of(reported(), 'messages.upsert')).toEqual([]);
    await connection.close();
  });

  it('deletes for everyone: the exact call, the delete reported once', async () => {
    const { connection, sock, echoOf, reported, flushes } = await open();
    const target: StoredMessageRef = { key: key('mine', { fromMe: true }), type: 'conversation', text: 'oops', timestamp: NOW - 60, raw: null };
    await connection.execute({ kind: 'delete', requestId: 'req-6', target });
    expect(sock.sendMessage).toHaveBeenCalledWith(PEER, { delete: { remoteJid: PEER, fromMe: true, id: 'mine' } }, { messageId: expect.any(String) });
    await echoOf(sock.sendMessage.mock.calls[0]![2]!.messageId!);
    expect(flushes.some((map) => map['messages.update']?.some((u) => u.key.id === 'mine' && u.update.message === null))).toBe(true);
    expect(of(reported(), 'messages.delete')).toEqual([
      { kind: 'messages.delete', scope: 'message', deletes: [{ key: key('mine', { fromMe: true }), deletedAt: expect.any(Number) }] },
    ]);
    await connection.close();
  });

  it('reacts and withdraws: the exact calls, each reaction reported once with us as the actor', async () => {
    const { connection, sock, echoOf, reported } = await open();
    const target: StoredMessageRef = { key: key('theirs', { remoteJid: GROUP, participant: MEMBER }), type: 'conversation', text: 'x', timestamp: NOW - 60, raw: null };
    const baileysKey = { remoteJid: GROUP, fromMe: false, id: 'theirs', participant: MEMBER };
    await connection.execute({ kind: 'react', requestId: 'req-7', target, emoji: '👍' });
    await connection.execute({ kind: 'react', requestId: 'req-8', target, emoji: null });
    // Baileys stamps senderTimestampMs into the content it was given
    expect(sock.sendMessage.mock.calls.map(([jid, content, options]) => [jid, content, options])).toEqual([
      [GROUP, { react: { text: '👍', key: baileysKey, senderTimestampMs: expect.any(Number) } }, { messageId: expect.any(String) }],
      [GROUP, { react: { text: '', key: baileysKey, senderTimestampMs: expect.any(Number) } }, { messageId: expect.any(String) }],
    ]);
    for (const [, , options] of sock.sendMessage.mock.calls) await echoOf(options!.messageId!);
    const reactions = of(reported(), 'messages.reaction').flatMap((e) => e.reactions);
    const targetKey = key('theirs', { remoteJid: GROUP, participant: MEMBER });
    expect(reactions).toEqual([
      { key: targetKey, actorJid: ME_JID, fromMe: true, emoji: '👍', reactedAt: expect.any(Number), removed: false },
      { key: targetKey, actorJid: ME_JID, fromMe: true, emoji: null, reactedAt: expect.any(Number), removed: true },
    ]);
    await connection.close();
  });

  it('reads: readMessages with the keys (WhatsApp answers nothing, nothing is reported)', async () => {
    const { connection, sock, reported } = await open();
    const keys = [key('a'), key('g', { remoteJid: GROUP, participant: MEMBER })];
    await expect(connection.execute({ kind: 'read', requestId: 'req-9', keys })).resolves.toEqual({ message: null });
    expect(sock.readMessages).toHaveBeenCalledWith([
      { remoteJid: PEER, fromMe: false, id: 'a' },
      { remoteJid: GROUP, fromMe: false, id: 'g', participant: MEMBER },
    ]);
    expect(reported()).toEqual([]);
    await connection.close();
  });

  it('reports receipts of a sent message, and a NACK after the send resolved as failed (463)', async () => {
    const { connection, sock, reported, echoOf } = await open();
    const result = await connection.execute({ kind: 'send', requestId: 'req-10', to: PEER, text: 'hello stranger', quoted: null, forward: null });
    const id = result.message!.key.id;
    await echoOf(id);
    sock.ev.emit('messages.update', [{ key: { remoteJid: PEER, fromMe: true, id }, update: { status: WAMessageStatus.ERROR, messageStubParameters: ['463'] } }]);
    sock.ev.emit('messages.update', [{ key: { remoteJid: PEER, fromMe: true, id }, update: { status: WAMessageStatus.DELIVERY_ACK, messageTimestamp: NOW + 1 } }]);
    expect(of(reported(), 'messages.update').flatMap((e) => e.updates)).toEqual([
      { key: key(id, { fromMe: true }), status: 'failed', statusAt: NOW, participant: null, error: { code: 463, reason: 'reach_out_time_lock' } },
      { key: key(id, { fromMe: true }), status: 'delivered', statusAt: NOW + 1, participant: null, error: null },
    ]);
    await connection.close();
  });

  it('turns socket errors into WhatsAppCommandErrors', async () => {
    const { connection, sock, reported } = await open();
    sock.failWith = new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed });
    await expect(connection.execute({ kind: 'send', requestId: 'r', to: PEER, text: 'x', quoted: null, forward: null })).rejects.toMatchObject({
      name: 'WhatsAppCommandError',
      reason: 'not_connected',
      retryable: true,
    });
    sock.failWith = new Boom('rate-overlimit', { data: 429 });
    await expect(connection.execute({ kind: 'read', requestId: 'r', keys: [key('a')] })).rejects.toMatchObject({ reason: 'rate_limited', retryable: true });
    await expect(connection.execute({ kind: 'send', requestId: 'r', to: PEER, text: null, quoted: null, forward: null })).rejects.toMatchObject({
      reason: 'invalid_command',
      retryable: false,
    });
    expect(reported()).toEqual([]);
    await connection.close();
  });

  it('reports the LID ⇄ phone pairs Baileys stores in its key store', async () => {
    const { connection, sock, reported } = await open();
    await sock.config!.auth!.keys.set({ 'lid-mapping': { '51988888888': '987654321098765', '987654321098765_reverse': '51988888888' } });
    await sock.config!.auth!.keys.set({ session: { 'peer.0': new Uint8Array([1]) } });
    expect(of(reported(), 'lid.mapping')).toEqual([{ kind: 'lid.mapping', mappings: [{ lid: '987654321098765@lid', pn: PEER }] }]);
    await connection.close();
  });

  it('keeps going when the listener throws', async () => {
    const { sock, listener, connection } = await open();
    listener.onEvents.mockImplementationOnce(() => {
      throw new Error('listener bug');
    });
    sock.ev.emit('messages.upsert', { messages: [inbound('x1', { conversation: 'one' })], type: 'notify' });
    sock.ev.emit('messages.upsert', { messages: [inbound('x2', { conversation: 'two' })], type: 'notify' });
    expect(listener.onEvents).toHaveBeenCalledTimes(2);
    await connection.close();
    sock.ev.emit('messages.upsert', { messages: [inbound('x3', { conversation: 'after close' })], type: 'notify' });
    expect(listener.onEvents).toHaveBeenCalledTimes(2);
  });
});
