import { PEER, waKey } from './test-fixtures.js';
import {
  ACCOUNT_RESTRICTED_TEXT,
  BufferJSON,
  generateWAMessageFromContent,
  makeEventBuffer,
  proto,
  WAMessageStatus,
  WAMessageStubType,
  type BaileysEventMap,
  type WAMessage,
  type WAMessageKey,
} from 'baileys';
import { describe, expect, it } from 'vitest';
import type { WaMessage, WaMessageKey, WhatsAppEvent } from '../../domain/whatsapp-events.js';
import { mapBaileysEvents } from './event-mapper.js';
import { FakeWhatsAppSocket, logger, ME_JID, ME_LID } from './fake-socket.js';
import type { MapContext } from './map-context.js';

const NOW = 1_767_230_000;
const ctx: MapContext = { me: { jid: ME_JID, lid: ME_LID }, now: NOW };

const PEER_LID = '987654321098765@lid';
const GROUP = '120363000000000000@g.us';
const MEMBER = '51977777777@s.whatsapp.net';
const MEMBER_LID = '555555555555555@lid';
const T = 1_767_220_050;

/**
 * A message as Baileys hands it over: proto.WebMessageInfo.fromObject for the content, and a plain
 * key (decode-wa-message.js builds keys as plain objects, with the v7 alternates fromObject drops).
 */
function message(key: WAMessageKey, fields: Record<string, unknown>): WAMessage {
  const msg = proto.WebMessageInfo.fromObject({ key, messageTimestamp: T, ...fields }) as WAMessage;
  msg.key = { ...key };
  return msg;
}

const inbound = (id: string, content: Record<string, unknown> | null, extra: Record<string, unknown> = {}) =>
  message({ remoteJid: PEER, fromMe: false, id }, { message: content, pushName: 'Ada', ...extra });

const key = waKey;

/** Baileys' own event buffer with the mapper on `process`, as the driver subscribes it. */
function stream() {
  const ev = makeEventBuffer(logger);
  const events: WhatsAppEvent[] = [];
  const maps: Partial<BaileysEventMap>[] = [];
  ev.process((map) => {
    maps.push(map);
    events.push(...mapBaileysEvents(map, ctx));
  });
  return { ev, events, maps };
}

/** A fake socket's ev (with Baileys' processMessage behind each upsert) and the mapped events of each flush. */
function socketStream() {
  const sock = new FakeWhatsAppSocket();
  const events: WhatsAppEvent[] = [];
  sock.ev.process((map) => void events.push(...mapBaileysEvents(map, ctx)));
  return { sock, events };
}

const only = <K extends WhatsAppEvent['kind']>(events: WhatsAppEvent[], kind: K) =>
  events.filter((e): e is Extract<WhatsAppEvent, { kind: K }> => e.kind === kind);

function upserted(events: WhatsAppEvent[]): WaMessage[] {
  return only(events, 'messages.upsert').flatMap((e) => e.messages);
}

describe('messages.upsert: chat messages', () => {
  it('maps a received text message field by field', () => {
    const { ev, events } = stream();
    const msg = inbound('msg-2', { conversation: 'Como estas?' });
    ev.emit('messages.upsert', { messages: [msg], type: 'notify' });
    expect(events).toEqual([
      {
        kind: 'messages.upsert',
        upsertType: 'notify',
        requestId: null,
        messages: [
          {
            key: key('msg-2'),
            timestamp: T,
            type: 'conversation',
            text: 'Como estas?',
            quotedMessageId: null,
            pushName: 'Ada',
            status: null,
            editedAt: null,
            deletedAt: null,
            media: null,
            raw: JSON.parse(JSON.stringify(msg, BufferJSON.replacer)),
          },
        ],
      },
    ]);
  });

  it('maps extended text and replies (quotedMessageId from contextInfo.stanzaId)', () => {
    const { ev, events } = stream();
    const reply = inbound('msg-3', {
      extendedTextMessage: { text: 'yes, that one', contextInfo: { stanzaId: 'msg-1', participant: ME_JID, quotedMessage: { conversation: 'Hola' } } },
    });
    // Our own reply, built by Baileys itself from the quoted message.
    const quoted = inbound('msg-1', { conversation: 'Hola' });
    const ours = generateWAMessageFromContent(PEER, { extendedTextMessage: { text: 'answer' } }, { userJid: ME_JID, quoted }) as WAMessage;
    ev.emit('messages.upsert', { messages: [reply, ours], type: 'notify' });
    const [a, b] = upserted(events);
    expect(a).toMatchObject({ type: 'extendedTextMessage', text: 'yes, that one', quotedMessageId: 'msg-1' });
    expect(b).toMatchObject({ key: { fromMe: true, remoteJid: PEER }, type: 'extendedTextMessage', text: 'answer', quotedMessageId: 'msg-1', status: 'pending' });
  });

  it('takes captions as text, through ephemeral, view-once and document-with-caption wrappers', () => {
    const { ev, events } = stream();
    ev.emit('messages.upsert', {
      type: 'notify',
      messages: [
        inbound('img', { imageMessage: { caption: 'Foto', mimetype: 'image/jpeg' } }),
        inbound('vid', { ephemeralMessage: { message: { videoMessage: { caption: 'Clip', mimetype: 'video/mp4' } } } }),
        inbound('once', { viewOnceMessageV2: { message: { imageMessage: { caption: 'Once', mimetype: 'image/jpeg' } } } }),
        inbound('doc', { documentWithCaptionMessage: { message: { documentMessage: { caption: 'Report', fileName: 'r.pdf', mimetype: 'application/pdf' } } } }),
        inbound('btn', { buttonsMessage: { contentText: 'Pick one', buttons: [] } }),
      ],
    });
    expect(upserted(events).map((m) => [m.key.id, m.type, m.text])).toEqual([
      ['img', 'imageMessage', 'Foto'],
      ['vid', 'videoMessage', 'Clip'],
      ['once', 'imageMessage', 'Once'],
      ['doc', 'documentMessage', 'Report'],
      ['btn', 'buttonsMessage', 'Pick one'],
    ]);
  });

  it('gives each media kind its metadata', () => {
    const { ev, events } = stream();
    ev.emit('messages.upsert', {
      type: 'notify',
      messages: [
        inbound('image', { imageMessage: { mimetype: 'image/jpeg', fileLength: 120483, width: 720, height: 1280, mediaKey: Buffer.alloc(32, 1) } }),
        inbound('video', { videoMessage: { mimetype: 'video/mp4', fileLength: 2_000_000, width: 1280, height: 720, seconds: 14 } }),
        inbound('voice', { audioMessage: { mimetype: 'audio/ogg; codecs=opus', fileLength: 9000, seconds: 7, ptt: true } }),
        inbound('document', { documentMessage: { mimetype: 'application/pdf', fileLength: 52_000, fileName: 'invoice.pdf' } }),
        inbound('sticker', { stickerMessage: { mimetype: 'image/webp', fileLength: 30_000, width: 512, height: 512 } }),
        inbound('note', { ptvMessage: { mimetype: 'video/mp4', fileLength: 800_000, width: 480, height: 480, seconds: 9 } }),
      ],
    });
    const media = Object.fromEntries(upserted(events).map((m) => [m.key.id, m.media]));
    expect(media).toEqual({
      image: { kind: 'image', mime: 'image/jpeg', size: 120483, width: 720, height: 1280, duration: null, fileName: null },
      video: { kind: 'video', mime: 'video/mp4', size: 2_000_000, width: 1280, height: 720, duration: 14, fileName: null },
      voice: { kind: 'audio', mime: 'audio/ogg; codecs=opus', size: 9000, width: null, height: null, duration: 7, fileName: null },
      document: { kind: 'document', mime: 'application/pdf', size: 52_000, width: null, height: null, duration: null, fileName: 'invoice.pdf' },
      sticker: { kind: 'sticker', mime: 'image/webp', size: 30_000, width: 512, height: 512, duration: null, fileName: null },
      note: { kind: 'video', mime: 'video/mp4', size: 800_000, width: 480, height: 480, duration: 9, fileName: null },
    });
    expect(upserted(events).find((m) => m.key.id === 'voice')?.type).toBe('audioMessage');
  });

  it('keeps raw JSON-safe: revived with BufferJSON and fromObject it is the same message', () => {
    const { ev, events } = stream();
    const msg = inbound('image', { imageMessage: { caption: 'x', mediaKey: Buffer.from([1, 2, 3, 250]), fileLength: 10 } });
    ev.emit('messages.upsert', { messages: [msg], type: 'notify' });
    const raw = upserted(events)[0]!.raw;
    const text = JSON.stringify(raw);
    const back = proto.WebMessageInfo.fromObject(JSON.parse(text, BufferJSON.reviver));
    expect(Buffer.from(back.message!.imageMessage!.mediaKey!)).toEqual(Buffer.from([1, 2, 3, 250]));
    expect(back.key!.id).toBe('image');
  });

  it('maps offline messages (append) and keeps one message per key within a batch', () => {
    const { ev, events } = stream();
    ev.buffer();
    ev.emit('messages.upsert', { messages: [inbound('a', { conversation: 'one' })], type: 'append' });
    ev.emit('messages.upsert', { messages: [inbound('b', { conversation: 'two' })], type: 'append' });
    ev.flush();
    // an unbuffered batch can repeat a key too
    ev.emit('messages.upsert', { messages: [inbound('c', { conversation: 'first' }), inbound('c', { conversation: 'again' })], type: 'append' });
    expect(only(events, 'messages.upsert').map((e) => [e.upsertType, e.messages.map((m) => m.text)])).toEqual([
      ['append', ['one', 'two']],
      ['append', ['again']],
    ]);
  });

  it('maps LID-addressed messages with their phone alternates (devices stripped)', () => {
    const { ev, events } = stream();
    const dm = message({ remoteJid: PEER_LID, remoteJidAlt: '51988888888:3@s.whatsapp.net', fromMe: false, id: 'lid-1' }, { message: { conversation: 'hi' } });
    const inGroup = message(
      { remoteJid: GROUP, participant: MEMBER_LID, participantAlt: MEMBER, fromMe: false, id: 'lid-2', addressingMode: 'lid' },
      { message: { conversation: 'hello group' } },
    );
    ev.emit('messages.upsert', { messages: [dm, inGroup], type: 'notify' });
    expect(upserted(events).map((m) => m.key)).toEqual([
      key('lid-1', { remoteJid: PEER_LID, remoteJidAlt: PEER }),
      key('lid-2', { remoteJid: GROUP, participant: MEMBER_LID, participantAlt: MEMBER }),
    ]);
  });

  it("never passes Baileys' own requestId (a placeholder resend) as ours", () => {
    const { ev, events } = stream();
    ev.emit('messages.upsert', { messages: [inbound('p', { conversation: 'resent' })], type: 'notify', requestId: 'PDO-STANZA-1' });
    expect(only(events, 'messages.upsert')[0]!.requestId).toBeNull();
  });

  it('leaves out status broadcasts, undecryptable placeholders and notification stubs', () => {
    const { ev, events } = stream();
    ev.emit('messages.upsert', {
      type: 'notify',
      messages: [
        message({ remoteJid: 'status@broadcast', participant: PEER, fromMe: false, id: 's1' }, { message: { conversation: 'story' } }),
        message({ remoteJid: PEER, fromMe: false, id: 'c1' }, { messageStubType: WAMessageStubType.CIPHERTEXT, messageStubParameters: ['No session'] }),
        message({ remoteJid: GROUP, participant: MEMBER, fromMe: false, id: 'g1' }, { messageStubType: WAMessageStubType.GROUP_PARTICIPANT_ADD }),
        inbound('poll-vote', { pollUpdateMessage: { pollCreationMessageKey: { id: 'poll', remoteJid: PEER, fromMe: true } } }),
      ],
    });
    expect(events).toEqual([]);
  });
});

describe('edits', () => {
  const editOf = (id: string, target: string, edited: Record<string, unknown>, timestampMs = (T + 20) * 1000) =>
    inbound(id, { protocolMessage: { type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT, key: { remoteJid: PEER, fromMe: true, id: target }, editedMessage: edited, timestampMs } });

  it('maps an edit that arrives as a protocol upsert, then as messages.update on the original: the same edit twice', async () => {
    const { sock, events } = socketStream();
    await sock.receive(editOf('edit-1', 'msg-2', { conversation: 'Como estas hoy?' }));
    sock.ev.flush();
    const expected = { key: key('msg-2'), type: 'conversation', text: 'Como estas hoy?', editedAt: T + 20 };
    expect(upserted(events)).toEqual([]);
    expect(only(events, 'messages.edit').flatMap((e) => e.edits)).toEqual([expected, expected]);
  });

  it('reads the newer wrapped form (editedMessage → protocolMessage) and extended text', async () => {
    const { sock, events } = socketStream();
    await sock.receive(
      inbound('edit-2', {
        editedMessage: {
          message: {
            protocolMessage: {
              type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
              key: { remoteJid: PEER, fromMe: true, id: 'msg-5' },
              editedMessage: { extendedTextMessage: { text: 'fixed typo' } },
              timestampMs: (T + 5) * 1000,
            },
          },
        },
      }),
    );
    sock.ev.flush();
    expect(only(events, 'messages.edit').flatMap((e) => e.edits)[0]).toEqual({ key: key('msg-5'), type: 'extendedTextMessage', text: 'fixed typo', editedAt: T + 5 });
  });

  it('maps the messages.update form alone (a caption edit)', () => {
    const { ev, events } = stream();
    ev.emit('messages.update', [{ key: { remoteJid: PEER, fromMe: false, id: 'img-1' }, update: { message: { editedMessage: { message: { imageMessage: { caption: 'new caption' } } } }, messageTimestamp: T + 60 } }]);
    expect(events).toEqual([{ kind: 'messages.edit', edits: [{ key: key('img-1'), type: 'imageMessage', text: 'new caption', editedAt: T + 60 }] }]);
  });

  it('maps an edit the buffer merged into its original upsert', async () => {
    const { sock, events } = socketStream();
    sock.ev.buffer();
    await sock.receive(inbound('msg-7', { conversation: 'frist' }), 'append');
    await sock.receive(editOf('edit-7', 'msg-7', { conversation: 'first' }), 'append');
    sock.ev.flush();
    const [msg] = upserted(events);
    expect(msg).toMatchObject({ key: key('msg-7'), type: 'conversation', text: 'first', editedAt: T + 20 });
    const edit = { key: key('msg-7'), type: 'conversation', text: 'first', editedAt: T + 20 };
    expect(only(events, 'messages.edit').flatMap((e) => e.edits)).toEqual([edit, edit]);
  });
});

describe('revokes (delete for everyone)', () => {
  const revokeOf = (id: string, target: string, at = T + 30, over: Record<string, unknown> = {}) =>
    inbound(id, { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: PEER, fromMe: true, id: target, ...over } } }, { messageTimestamp: at });

  it('maps a revoke that arrives as a protocol upsert, then as messages.update: the same delete twice', async () => {
    const { sock, events } = socketStream();
    await sock.receive(revokeOf('rev-1', 'msg-2'));
    sock.ev.flush();
    expect(upserted(events)).toEqual([]);
    expect(only(events, 'messages.delete').flatMap((e) => (e.scope === 'message' ? e.deletes : []))).toEqual([
      { key: key('msg-2'), deletedAt: T + 30 },
      { key: key('msg-2'), deletedAt: T + 30 },
    ]);
  });

  it('maps the messages.update form alone (message null, stub REVOKE)', () => {
    const { ev, events } = stream();
    const revokeKey = { remoteJid: PEER, fromMe: false, id: 'rev-9' };
    ev.emit('messages.update', [{ key: { ...revokeKey, id: 'msg-9' }, update: { message: null, messageStubType: WAMessageStubType.REVOKE, key: revokeKey } }]);
    expect(events).toEqual([{ kind: 'messages.delete', scope: 'message', deletes: [{ key: key('msg-9'), deletedAt: NOW }] }]);
  });

  it("maps a revoke merged into its original upsert (the stub that took the revoke's key is not a delete)", async () => {
    const { sock, events } = socketStream();
    sock.ev.buffer();
    await sock.receive(inbound('msg-3', { conversation: 'oops' }), 'append');
    await sock.receive(revokeOf('rev-3', 'msg-3'), 'append');
    sock.ev.flush();
    expect(upserted(events)).toEqual([]);
    expect(only(events, 'messages.delete')).toEqual([{ kind: 'messages.delete', scope: 'message', deletes: [{ key: key('msg-3'), deletedAt: T + 30 }] }]);
  });

  it("names the author of a group message an admin deleted", () => {
    const { ev, events } = stream();
    const admin = message(
      { remoteJid: GROUP, participant: '51966666666@s.whatsapp.net', fromMe: false, id: 'rev-g' },
      { message: { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: GROUP, fromMe: false, id: 'ours', participant: ME_JID } } } },
    );
    ev.emit('messages.upsert', { messages: [admin], type: 'notify' });
    expect(only(events, 'messages.delete')[0]).toEqual({
      kind: 'messages.delete',
      scope: 'message',
      deletes: [{ key: key('ours', { remoteJid: GROUP, participant: ME_JID, fromMe: true }), deletedAt: T }],
    });
  });
});

describe('reactions', () => {
  const reactionEvent = (emoji: string, fromJid: string, ms: number) => ({
    key: { remoteJid: PEER, fromMe: true, id: 'msg-2' },
    reaction: { text: emoji, key: { remoteJid: fromJid, fromMe: false, id: `r-${ms}` }, senderTimestampMs: ms },
  });

  it('maps add, replace and remove (empty text)', () => {
    const { ev, events } = stream();
    ev.emit('messages.reaction', [reactionEvent('👍', PEER, (T + 40) * 1000)]);
    ev.emit('messages.reaction', [reactionEvent('❤️', PEER, (T + 41) * 1000)]);
    ev.emit('messages.reaction', [reactionEvent('', PEER, (T + 42) * 1000)]);
    const target = key('msg-2', { fromMe: true });
    expect(only(events, 'messages.reaction').flatMap((e) => e.reactions)).toEqual([
      { key: target, actorJid: PEER, fromMe: false, emoji: '👍', reactedAt: T + 40, removed: false },
      { key: target, actorJid: PEER, fromMe: false, emoji: '❤️', reactedAt: T + 41, removed: false },
      { key: target, actorJid: PEER, fromMe: false, emoji: null, reactedAt: T + 42, removed: true },
    ]);
  });

  it('maps a reaction that arrives inside an upsert (and again as messages.reaction) in a group, and our own', async () => {
    const { sock, events } = socketStream();
    const inGroup = message(
      { remoteJid: GROUP, participant: MEMBER, fromMe: false, id: 'r-1' },
      // the key as the sender sees it: not their message, written by us
      { message: { reactionMessage: { key: { remoteJid: GROUP, fromMe: false, id: 'mine', participant: ME_JID }, text: '🔥', senderTimestampMs: (T + 3) * 1000 } } },
    );
    await sock.receive(inGroup);
    sock.ev.flush();
    // cleanMessage turns it into our perspective: the target is our own message.
    const fire = { key: key('mine', { remoteJid: GROUP, fromMe: true, participant: ME_JID }), actorJid: MEMBER, fromMe: false, emoji: '🔥', reactedAt: T + 3, removed: false };
    expect(upserted(events)).toEqual([]);
    expect(only(events, 'messages.reaction').flatMap((e) => e.reactions)).toEqual([fire, fire]);

    const ownDevice = message({ remoteJid: PEER, fromMe: true, id: 'r-2' }, { message: { reactionMessage: { key: { remoteJid: PEER, fromMe: false, id: 'theirs' }, text: '👍', senderTimestampMs: (T + 4) * 1000 } } });
    events.length = 0;
    await sock.receive(ownDevice);
    sock.ev.flush();
    expect(only(events, 'messages.reaction')[0]!.reactions[0]).toEqual({ key: key('theirs'), actorJid: ME_JID, fromMe: true, emoji: '👍', reactedAt: T + 4, removed: false });
  });

  it('maps reactions the buffer merged into the upsert of their message', () => {
    const { ev, events } = stream();
    ev.buffer();
    ev.emit('messages.upsert', { messages: [inbound('msg-4', { conversation: 'party?' })], type: 'append' });
    ev.emit('messages.reaction', [{ key: { remoteJid: PEER, fromMe: false, id: 'msg-4' }, reaction: { text: '🎉', key: { remoteJid: PEER, fromMe: true, id: 'r-4' }, senderTimestampMs: (T + 9) * 1000 } }]);
    ev.flush();
    expect(upserted(events).map((m) => m.text)).toEqual(['party?']);
    expect(only(events, 'messages.reaction')[0]!.reactions).toEqual([{ key: key('msg-4'), actorJid: ME_JID, fromMe: true, emoji: '🎉', reactedAt: T + 9, removed: false }]);
  });
});

describe('receipts', () => {
  const ours = { remoteJid: PEER, fromMe: true, id: 'sent-1' };

  it('maps 1:1 receipts: delivered, read, played (messages.update status)', () => {
    const { ev, events } = stream();
    ev.emit('messages.update', [
      { key: ours, update: { status: WAMessageStatus.DELIVERY_ACK, messageTimestamp: T + 1 } },
      { key: ours, update: { status: WAMessageStatus.READ, messageTimestamp: T + 2 } },
      { key: ours, update: { status: WAMessageStatus.PLAYED, messageTimestamp: T + 3 } },
      { key: ours, update: { starred: true } },
    ]);
    expect(events).toEqual([
      {
        kind: 'messages.update',
        source: 'receipt',
        updates: [
          { key: key('sent-1', { fromMe: true }), status: 'delivered', statusAt: T + 1, participant: null, error: null },
          { key: key('sent-1', { fromMe: true }), status: 'read', statusAt: T + 2, participant: null, error: null },
          { key: key('sent-1', { fromMe: true }), status: 'played', statusAt: T + 3, participant: null, error: null },
        ],
      },
    ]);
  });

  it('maps a server NACK (ERROR with 463 in messageStubParameters) as failed with its code', () => {
    const { ev, events } = stream();
    ev.emit('messages.update', [{ key: ours, update: { status: WAMessageStatus.ERROR, messageStubParameters: ['463', ACCOUNT_RESTRICTED_TEXT] } }]);
    expect(events).toEqual([
      {
        kind: 'messages.update',
        source: 'receipt',
        updates: [{ key: key('sent-1', { fromMe: true }), status: 'failed', statusAt: NOW, participant: null, error: { code: 463, reason: 'reach_out_time_lock' } }],
      },
    ]);
  });

  it('maps group receipts (message-receipt.update) per member', () => {
    const { ev, events } = stream();
    const k = { remoteJid: GROUP, fromMe: true, id: 'g-sent', participant: MEMBER };
    ev.emit('message-receipt.update', [
      { key: k, receipt: { userJid: MEMBER, receiptTimestamp: T + 1 } },
      { key: k, receipt: { userJid: '51955555555@s.whatsapp.net', readTimestamp: T + 2 } },
      { key: k, receipt: { userJid: MEMBER, playedTimestamp: T + 3 } },
    ]);
    const target = key('g-sent', { remoteJid: GROUP, fromMe: true });
    expect(events).toEqual([
      {
        kind: 'messages.update',
        source: 'group-receipt',
        updates: [
          { key: target, status: 'delivered', statusAt: T + 1, participant: MEMBER, error: null },
          { key: target, status: 'read', statusAt: T + 2, participant: '51955555555@s.whatsapp.net', error: null },
          { key: target, status: 'played', statusAt: T + 3, participant: MEMBER, error: null },
        ],
      },
    ]);
  });

  it('maps statuses and group receipts the buffer merged into an upsert', () => {
    const { ev, events } = stream();
    ev.buffer();
    const sent = message({ remoteJid: GROUP, fromMe: true, id: 'g-2' }, { message: { conversation: 'hi all' }, status: WAMessageStatus.SERVER_ACK });
    ev.emit('messages.upsert', { messages: [sent], type: 'append' });
    ev.emit('messages.update', [{ key: { remoteJid: GROUP, fromMe: true, id: 'g-2' }, update: { status: WAMessageStatus.DELIVERY_ACK, messageTimestamp: T + 5 } }]);
    ev.emit('message-receipt.update', [{ key: { remoteJid: GROUP, fromMe: true, id: 'g-2', participant: MEMBER }, receipt: { userJid: MEMBER, readTimestamp: T + 6 } }]);
    ev.flush();
    const target = key('g-2', { remoteJid: GROUP, fromMe: true });
    expect(upserted(events)[0]).toMatchObject({ key: target, text: 'hi all', status: 'delivered' });
    expect(only(events, 'messages.update')).toEqual([
      { kind: 'messages.update', source: 'receipt', updates: [{ key: target, status: 'delivered', statusAt: T + 5, participant: null, error: null }] },
      { kind: 'messages.update', source: 'group-receipt', updates: [{ key: target, status: 'read', statusAt: T + 6, participant: MEMBER, error: null }] },
    ]);
  });

  it('maps a NACK merged into the upsert of the message it failed', () => {
    const { ev, events } = stream();
    ev.buffer();
    ev.emit('messages.upsert', { messages: [message(ours, { message: { conversation: 'hello stranger' }, status: WAMessageStatus.PENDING })], type: 'append' });
    ev.emit('messages.update', [{ key: ours, update: { status: WAMessageStatus.ERROR, messageStubParameters: ['463'] } }]);
    ev.flush();
    expect(upserted(events)[0]!.status).toBe('failed');
    expect(only(events, 'messages.update')[0]!.updates[0]).toMatchObject({ status: 'failed', error: { code: 463, reason: 'reach_out_time_lock' } });
  });
});

describe('history sync', () => {
  const history = (over: Partial<BaileysEventMap['messaging-history.set']> = {}): BaileysEventMap['messaging-history.set'] => ({
    chats: [
      { id: PEER_LID, name: 'Ada', unreadCount: 2, conversationTimestamp: T, pnJid: PEER },
      { id: GROUP, name: 'Team', unreadCount: 0, conversationTimestamp: T - 100 },
    ],
    contacts: [
      { id: PEER_LID, name: 'Ada', lid: PEER_LID, phoneNumber: PEER },
      { id: GROUP, name: 'Team' },
      { id: MEMBER, notify: 'Grace' },
    ],
    messages: [
      message({ remoteJid: PEER_LID, remoteJidAlt: PEER, fromMe: false, id: 'h-1' }, { message: { conversation: 'Hola' }, status: WAMessageStatus.READ }),
      message({ remoteJid: GROUP, participant: MEMBER, fromMe: false, id: 'h-2' }, {
        message: { conversation: 'team news' },
        reactions: [{ key: { remoteJid: GROUP, fromMe: true, id: 'r-h' }, text: '👍', senderTimestampMs: (T + 7) * 1000 }],
      }),
      message({ remoteJid: PEER_LID, fromMe: true, id: 'h-3' }, { messageStubType: WAMessageStubType.REVOKE }),
    ],
    lidPnMappings: [{ lid: '111111111111111@lid', pn: '51911111111@s.whatsapp.net' }],
    isLatest: true,
    progress: 55,
    syncType: proto.HistorySync.HistorySyncType.RECENT,
    chunkOrder: 1,
    ...over,
  });

  it('maps a batch: chats, contacts, messages, lid mappings, then reactions and revoked tombstones', () => {
    const { ev, events } = stream();
    ev.emit('messaging-history.set', history());
    expect(events.map((e) => e.kind)).toEqual(['history.sync', 'messages.delete', 'messages.reaction']);
    const sync = only(events, 'history.sync')[0]!;
    expect(sync).toMatchObject({ syncType: 'RECENT', progress: 55, isLatest: true });
    expect(sync.chats).toEqual([
      { jid: PEER_LID, name: 'Ada', unreadCount: 2, lastMessageAt: T },
      { jid: GROUP, name: 'Team', unreadCount: 0, lastMessageAt: T - 100 },
    ]);
    expect(sync.contacts).toEqual([
      { id: PEER_LID, lid: PEER_LID, phoneJid: PEER, name: 'Ada', notify: null, imgUrl: null },
      { id: MEMBER, lid: null, phoneJid: MEMBER, name: null, notify: 'Grace', imgUrl: null },
    ]);
    expect(sync.messages.map((m) => [m.key, m.text, m.status])).toEqual([
      [key('h-1', { remoteJid: PEER_LID, remoteJidAlt: PEER }), 'Hola', 'read'],
      [key('h-2', { remoteJid: GROUP, participant: MEMBER }), 'team news', null],
    ]);
    expect(sync.lidMappings).toEqual([
      { lid: '111111111111111@lid', pn: '51911111111@s.whatsapp.net' },
      { lid: PEER_LID, pn: PEER },
    ]);
    expect(only(events, 'messages.delete')[0]).toEqual({ kind: 'messages.delete', scope: 'message', deletes: [{ key: key('h-3', { remoteJid: PEER_LID, fromMe: true }), deletedAt: T }] });
    expect(only(events, 'messages.reaction')[0]!.reactions).toEqual([
      { key: key('h-2', { remoteJid: GROUP, participant: MEMBER }), actorJid: ME_JID, fromMe: true, emoji: '👍', reactedAt: T + 7, removed: false },
    ]);
  });

  it('drops the stub a revoke left in a history message of the same flush; the revoke says which message went', async () => {
    const { sock, events } = socketStream();
    sock.ev.buffer();
    sock.ev.emit('messaging-history.set', history({ messages: [inbound('old-1', { conversation: 'regret' }, { messageTimestamp: T - 500 })], lidPnMappings: [] }));
    await sock.receive(
      inbound('rev-h', { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: PEER, fromMe: true, id: 'old-1' } } }, { messageTimestamp: T + 1 }),
      'append',
    );
    sock.ev.flush();
    expect(only(events, 'history.sync')[0]!.messages).toEqual([]);
    expect(only(events, 'messages.delete').flatMap((e) => (e.scope === 'message' ? e.deletes : []))).toEqual([{ key: key('old-1'), deletedAt: T + 1 }]);
  });

  it('still finds the mappings contacts carry when the buffer drops lidPnMappings', () => {
    const { ev, events, maps } = stream();
    ev.buffer();
    ev.emit('messaging-history.set', history({ syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, isLatest: false, progress: null }));
    ev.flush();
    expect(maps[0]!['messaging-history.set']!.lidPnMappings).toBeUndefined();
    const sync = only(events, 'history.sync')[0]!;
    expect(sync).toMatchObject({ syncType: 'INITIAL_BOOTSTRAP', isLatest: false, progress: null });
    expect(sync.lidMappings).toEqual([{ lid: PEER_LID, pn: PEER }]);
  });
});

describe('contacts, chats, presence, identities, deletes for me', () => {
  it('maps contacts with lid and phone number; a changed picture is unknown', () => {
    const { ev, events } = stream();
    ev.emit('contacts.upsert', [
      { id: PEER, lid: PEER_LID, name: 'Ada', notify: 'Ada L.', imgUrl: 'https://pps.whatsapp.net/ada.jpg' },
      { id: MEMBER_LID, phoneNumber: MEMBER, notify: 'Grace' },
    ]);
    ev.emit('contacts.update', [{ id: PEER, imgUrl: 'changed' }, { id: GROUP, name: 'not a person' }]);
    expect(events).toEqual([
      {
        kind: 'contacts.upsert',
        contacts: [
          { id: PEER, lid: PEER_LID, phoneJid: PEER, name: 'Ada', notify: 'Ada L.', imgUrl: 'https://pps.whatsapp.net/ada.jpg' },
          { id: MEMBER_LID, lid: MEMBER_LID, phoneJid: MEMBER, name: null, notify: 'Grace', imgUrl: null },
        ],
      },
      { kind: 'lid.mapping', mappings: [{ lid: PEER_LID, pn: PEER }, { lid: MEMBER_LID, pn: MEMBER }] },
      { kind: 'contacts.upsert', contacts: [{ id: PEER, lid: null, phoneJid: PEER, name: null, notify: null, imgUrl: null }] },
    ]);
  });

  it('maps chats: absolute unread counts only, updates that say nothing are dropped', () => {
    const { ev, events } = stream();
    ev.emit('chats.upsert', [{ id: PEER, name: 'Ada', unreadCount: 3, conversationTimestamp: T }]);
    ev.emit('chats.update', [{ id: PEER, unreadCount: 1, conversationTimestamp: T + 10 }]); // +1: a new message
    ev.emit('chats.update', [{ id: PEER, unreadCount: 0 }]); // read on the phone
    ev.emit('chats.update', [{ id: PEER, archived: true }]);
    expect(only(events, 'chats.upsert').flatMap((e) => e.chats)).toEqual([
      { jid: PEER, name: 'Ada', unreadCount: 3, lastMessageAt: T },
      { jid: PEER, name: null, unreadCount: null, lastMessageAt: T + 10 },
      { jid: PEER, name: null, unreadCount: 0, lastMessageAt: null },
    ]);
  });

  it('maps presence updates', () => {
    const { ev, events } = stream();
    ev.emit('presence.update', { id: GROUP, presences: { [MEMBER]: { lastKnownPresence: 'composing' }, [PEER]: { lastKnownPresence: 'unavailable', lastSeen: T } } });
    expect(events).toEqual([
      {
        kind: 'presence.update',
        chatJid: GROUP,
        updates: [
          { jid: MEMBER, presence: 'composing', lastSeen: null },
          { jid: PEER, presence: 'unavailable', lastSeen: T },
        ],
      },
    ]);
  });

  it('maps lid-mapping.update', () => {
    const { ev, events } = stream();
    ev.emit('lid-mapping.update', { lid: PEER_LID, pn: PEER });
    ev.emit('lid-mapping.update', { lid: '51966666666@s.whatsapp.net', pn: '666666666666666@lid' }); // either order is a pair
    expect(events).toEqual([
      { kind: 'lid.mapping', mappings: [{ lid: PEER_LID, pn: PEER }] },
      { kind: 'lid.mapping', mappings: [{ lid: '666666666666666@lid', pn: '51966666666@s.whatsapp.net' }] },
    ]);
  });

  it('maps delete-for-me and a cleared chat', () => {
    const { ev, events } = stream();
    ev.emit('messages.delete', { keys: [{ remoteJid: PEER, id: 'msg-2', fromMe: false }] });
    ev.emit('messages.delete', { jid: PEER, all: true });
    expect(events).toEqual([
      { kind: 'messages.delete', scope: 'message', deletes: [{ key: key('msg-2'), deletedAt: NOW }] },
      { kind: 'messages.delete', scope: 'chat', chatJid: PEER, deletedAt: NOW },
    ]);
  });

  it('gives nothing for events wahub does not use', () => {
    const { ev, events } = stream();
    ev.emit('groups.update', [{ id: GROUP, subject: 'x' }]);
    ev.emit('call', []);
    ev.emit('creds.update', {});
    expect(events).toEqual([]);
  });
});
