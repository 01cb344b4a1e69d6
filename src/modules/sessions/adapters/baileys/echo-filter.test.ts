import { proto, WAMessageStatus, WAMessageStubType, type BaileysEventMap, type WAMessage } from 'baileys';
import { describe, expect, it } from 'vitest';
import { editToken, RecentIds, withoutEchoes } from './echo-filter.js';

const PEER = '51988888888@s.whatsapp.net';
const msg = (id: string, fromMe: boolean) =>
  proto.WebMessageInfo.fromObject({ key: { remoteJid: PEER, fromMe, id }, message: { conversation: id } }) as WAMessage;

describe('RecentIds', () => {
  it('keeps the newest ids up to its bound', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) ids.add(id);
    expect(['a', 'b', 'c', 'd'].map((id) => ids.has(id))).toEqual([false, true, true, true]);
    ids.add('b'); // touched again: now the newest
    ids.add('e');
    expect(['b', 'c', 'd', 'e'].map((id) => ids.has(id))).toEqual([true, false, true, true]);
    expect(ids.has(null)).toBe(false);
  });
});

describe('withoutEchoes', () => {
  const sent = new RecentIds();
  sent.add('SENT');
  sent.add(editToken('TARGET'));

  it('drops the echo of a sent message, keeps everything else of the flush', () => {
    const events: Partial<BaileysEventMap> = {
      'messages.upsert': { messages: [msg('SENT', true), msg('SENT', false), msg('OTHER', true)], type: 'append' },
      'messages.update': [
        { key: { remoteJid: PEER, fromMe: true, id: 'SENT' }, update: { status: WAMessageStatus.DELIVERY_ACK } },
        { key: { remoteJid: PEER, fromMe: true, id: 'GONE' }, update: { message: null, messageStubType: WAMessageStubType.REVOKE, key: { remoteJid: PEER, fromMe: true, id: 'SENT' } } },
        { key: { remoteJid: PEER, fromMe: true, id: 'TARGET' }, update: { message: { editedMessage: { message: { conversation: 'new' } } } } },
        { key: { remoteJid: PEER, fromMe: false, id: 'TARGET' }, update: { message: { editedMessage: { message: { conversation: 'theirs' } } } } },
      ],
      'messages.reaction': [
        { key: { remoteJid: PEER, fromMe: false, id: 'X' }, reaction: { text: '👍', key: { remoteJid: PEER, fromMe: true, id: 'SENT' } } },
        { key: { remoteJid: PEER, fromMe: false, id: 'X' }, reaction: { text: '👍', key: { remoteJid: PEER, fromMe: false, id: 'R2' } } },
      ],
      'chats.update': [{ id: PEER, conversationTimestamp: 1 }],
    };
    const out = withoutEchoes(events, sent);
    expect(out['messages.upsert']!.messages.map((m) => [m.key.id, m.key.fromMe])).toEqual([
      ['SENT', false],
      ['OTHER', true],
    ]);
    // the receipt of the sent message and someone else's edit pass
    expect(out['messages.update']!.map((u) => [u.key.id, u.key.fromMe])).toEqual([
      ['SENT', true],
      ['TARGET', false],
    ]);
    expect(out['messages.reaction']!.map((r) => r.reaction.key!.id)).toEqual(['R2']);
    expect(out['chats.update']).toBe(events['chats.update']);
    // Baileys' own objects are left as they were
    expect(events['messages.upsert']!.messages).toHaveLength(3);
  });

  it('removes an event left empty', () => {
    const out = withoutEchoes({ 'messages.upsert': { messages: [msg('SENT', true)], type: 'append' } }, sent);
    expect(out).toEqual({});
  });
});
