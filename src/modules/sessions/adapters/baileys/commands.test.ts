import { PEER, waKey } from './test-fixtures.js';
import { Boom } from '@hapi/boom';
import { DisconnectReason, generateForwardMessageContent, generateWAMessageFromContent, proto, type WAMessage } from 'baileys';
import { describe, expect, it } from 'vitest';
import { WhatsAppCommandError } from '../../domain/whatsapp-driver.js';
import type { StoredMessageRef, WaMessageKey } from '../../domain/whatsapp-events.js';
import { toCommandError } from './command-errors.js';
import { storedMessage, toJid, toSocketCall } from './commands.js';
import { ME_JID } from './fake-socket.js';
import { toRaw } from './message-summary.js';

const GROUP = '120363000000000000@g.us';
const MEMBER = '51977777777@s.whatsapp.net';
const T = 1_767_220_050;

const key = waKey;

function stored(id: string, fields: Record<string, unknown>, over: Partial<WaMessageKey> = {}, text: string | null = null): StoredMessageRef {
  const k = key(id, over);
  const msg = proto.WebMessageInfo.fromObject({ key: { remoteJid: k.remoteJid, fromMe: k.fromMe, id, participant: k.participant }, messageTimestamp: T, ...fields }) as WAMessage;
  return { key: k, type: 'x', text, timestamp: T, raw: toRaw(msg) };
}

describe('commands as socket calls', () => {
  it('sends a text', () => {
    expect(toSocketCall({ kind: 'send', requestId: 'r1', to: PEER, text: 'hi', quoted: null, forward: null })).toEqual({
      method: 'sendMessage',
      jid: PEER,
      content: { text: 'hi' },
      options: {},
    });
    expect(toJid('+51 988-888-888')).toBe(PEER);
    expect(toJid(GROUP)).toBe(GROUP);
  });

  it('quotes a stored message rebuilt from its raw form, which Baileys can quote', () => {
    const ref = stored('orig', { message: { imageMessage: { caption: 'Foto', mediaKey: Buffer.from([9, 9, 9]), mimetype: 'image/jpeg' } } }, { remoteJid: GROUP, participant: MEMBER });
    const call = toSocketCall({ kind: 'send', requestId: 'r2', to: GROUP, text: 'nice', quoted: ref, forward: null });
    if (call.method !== 'sendMessage') throw new Error('expected a send');
    expect(call.content).toEqual({ text: 'nice' });
    const quoted = call.options.quoted!;
    expect(quoted.key).toEqual({ remoteJid: GROUP, fromMe: false, id: 'orig', participant: MEMBER });
    expect(quoted.message?.imageMessage?.caption).toBe('Foto');
    expect(Buffer.from(quoted.message!.imageMessage!.mediaKey!)).toEqual(Buffer.from([9, 9, 9]));
    // what Baileys' sendMessage does with it
    const reply = generateWAMessageFromContent(GROUP, { extendedTextMessage: { text: 'nice' } }, { userJid: ME_JID, quoted });
    expect(reply.message?.extendedTextMessage?.contextInfo).toMatchObject({ stanzaId: 'orig', participant: MEMBER });
    expect(reply.message?.extendedTextMessage?.contextInfo?.quotedMessage?.imageMessage?.caption).toBe('Foto');
  });

  it('quotes a minimal text message when no raw form was stored', () => {
    const ref: StoredMessageRef = { key: key('orig'), type: 'conversation', text: 'Hola', timestamp: T, raw: null };
    const call = toSocketCall({ kind: 'send', requestId: 'r3', to: PEER, text: 'yes', quoted: ref, forward: null });
    expect(call).toEqual({
      method: 'sendMessage',
      jid: PEER,
      content: { text: 'yes' },
      options: { quoted: { key: { remoteJid: PEER, fromMe: false, id: 'orig' }, message: { conversation: 'Hola' }, messageTimestamp: T } },
    });
  });

  it('quotes a message stored under the other form of the chat (LID ⇄ phone) under the form the reply goes to', () => {
    const lid = '987654321098765@lid';
    const ref: StoredMessageRef = { key: key('orig', { remoteJid: lid, remoteJidAlt: PEER }), type: 'conversation', text: 'Hola', timestamp: T, raw: null };
    const call = toSocketCall({ kind: 'send', requestId: 'r8', to: PEER, text: 'yes', quoted: ref, forward: null });
    if (call.method !== 'sendMessage') throw new Error('expected a send');
    expect(call.options.quoted!.key).toEqual({ remoteJid: PEER, fromMe: false, id: 'orig' });
    const reply = generateWAMessageFromContent(PEER, { extendedTextMessage: { text: 'yes' } }, { userJid: ME_JID, quoted: call.options.quoted! });
    expect(reply.message?.extendedTextMessage?.contextInfo?.remoteJid).toBeFalsy();
  });

  it('forwards the stored message (raw, else its text); without either it cannot', () => {
    const withRaw = stored('f1', { message: { extendedTextMessage: { text: 'look' } } });
    const call = toSocketCall({ kind: 'send', requestId: 'r4', to: GROUP, text: null, quoted: null, forward: withRaw });
    if (call.method !== 'sendMessage' || !('forward' in call.content)) throw new Error('expected a forward');
    expect(call.jid).toBe(GROUP);
    expect(call.content.forward.message?.extendedTextMessage?.text).toBe('look');
    expect(generateForwardMessageContent(call.content.forward, false).extendedTextMessage).toMatchObject({ text: 'look', contextInfo: { isForwarded: true, forwardingScore: 1 } });

    const textOnly: StoredMessageRef = { key: key('f2'), type: 'conversation', text: 'plain', timestamp: T, raw: undefined };
    expect(toSocketCall({ kind: 'send', requestId: 'r5', to: PEER, text: null, quoted: null, forward: textOnly })).toMatchObject({
      content: { forward: { key: { id: 'f2' }, message: { conversation: 'plain' } } },
    });

    const nothing: StoredMessageRef = { key: key('f3'), type: 'imageMessage', text: null, timestamp: T, raw: null };
    expect(() => toSocketCall({ kind: 'send', requestId: 'r6', to: PEER, text: null, quoted: null, forward: nothing })).toThrow(
      expect.objectContaining({ reason: 'invalid_command', retryable: false }),
    );
    expect(() => toSocketCall({ kind: 'send', requestId: 'r7', to: PEER, text: '', quoted: null, forward: null })).toThrow(WhatsAppCommandError);
  });

  it('edits, deletes, reacts and reads with Baileys keys (participant in groups)', () => {
    const target: StoredMessageRef = { key: key('mine', { fromMe: true, remoteJidAlt: '987654321098765@lid' }), type: 'conversation', text: 'x', timestamp: T, raw: null };
    const theirs: StoredMessageRef = { key: key('theirs', { remoteJid: GROUP, participant: MEMBER }), type: 'conversation', text: 'y', timestamp: T, raw: null };
    const mine = { remoteJid: PEER, fromMe: true, id: 'mine' };
    expect(toSocketCall({ kind: 'edit', requestId: 'e', target, text: 'fixed' })).toEqual({ method: 'sendMessage', jid: PEER, content: { text: 'fixed', edit: mine }, options: {} });
    expect(toSocketCall({ kind: 'delete', requestId: 'd', target })).toEqual({ method: 'sendMessage', jid: PEER, content: { delete: mine }, options: {} });
    expect(toSocketCall({ kind: 'react', requestId: 'r', target: theirs, emoji: '👍' })).toEqual({
      method: 'sendMessage',
      jid: GROUP,
      content: { react: { text: '👍', key: { remoteJid: GROUP, fromMe: false, id: 'theirs', participant: MEMBER } } },
      options: {},
    });
    expect(toSocketCall({ kind: 'react', requestId: 'r', target, emoji: null })).toMatchObject({ content: { react: { text: '', key: mine } } });
    expect(toSocketCall({ kind: 'read', requestId: 'rd', keys: [theirs.key, key('b')] })).toEqual({
      method: 'readMessages',
      keys: [
        { remoteJid: GROUP, fromMe: false, id: 'theirs', participant: MEMBER },
        { remoteJid: PEER, fromMe: false, id: 'b' },
      ],
    });
  });

  it('falls back to the stored text when the raw form is unusable', () => {
    const ref: StoredMessageRef = { key: key('bad'), type: 'conversation', text: 'kept', timestamp: T, raw: { key: 'not an object' } };
    expect(storedMessage(ref, 'quote').message).toEqual({ conversation: 'kept' });
  });
});

describe('socket errors as command errors', () => {
  const rows: [string, unknown, string, boolean][] = [
    ['connection closed', new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed }), 'not_connected', true],
    ['logged out', new Boom('Intentional Logout', { statusCode: DisconnectReason.loggedOut }), 'not_connected', true],
    ['query timeout', new Boom('Timed Out', { statusCode: DisconnectReason.timedOut }), 'timeout', true],
    ['rate limit', new Boom('rate-overlimit', { data: 429 }), 'rate_limited', true],
    ['bad content', new Boom('no content in message', { statusCode: 400 }), 'invalid_command', false],
    ['not a group admin', new Boom('not-authorized', { data: 401 }), 'not_authorized', false],
    ['forbidden', new Boom('forbidden', { data: 403 }), 'not_authorized', false],
    ['unknown item', new Boom('item-not-found', { data: 404 }), 'not_found', false],
    ['reach-out time lock', new Boom('reachout', { data: 463 }), 'reach_out_time_lock', false],
    ['server trouble', new Boom('All encryptions failed', { statusCode: 500 }), 'server_error', true],
    ['a bug', new TypeError('x is undefined'), 'internal_error', false],
  ];
  it.each(rows)('%s → %s', (_name, error, reason, retryable) => {
    const mapped = toCommandError(error);
    expect(mapped).toBeInstanceOf(WhatsAppCommandError);
    expect({ reason: mapped.reason, retryable: mapped.retryable, message: mapped.message }).toEqual({ reason, retryable, message: (error as Error).message });
  });

  it('keeps a WhatsAppCommandError as it is', () => {
    const error = new WhatsAppCommandError('invalid_command', 'no', false);
    expect(toCommandError(error)).toBe(error);
  });
});
