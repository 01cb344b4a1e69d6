import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../shared/errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { emptyRecord, mergeByMessage, mergeRecords, type MessageRecord } from './message-record.js';

const base = (patch: Partial<MessageRecord>): MessageRecord => ({ ...emptyRecord('1@s.whatsapp.net', 'm'), ...patch });

describe('message records', () => {
  const parts: MessageRecord[] = [
    base({ timestamp: 10, fromMe: true, type: 'conversation', text: 'original', status: 'pending', statusAt: 10, requestId: 'r' }),
    base({ status: 'delivered', statusAt: 11 }),
    base({ status: 'read', statusAt: 12 }),
    base({ status: 'failed', statusAt: 13 }),
    base({ text: 'edit 1', editedAt: 14 }),
    base({ text: 'edit 2', editedAt: 15 }),
  ];

  it('merge to the same record in any order', () => {
    const permutations = (list: number[]): number[][] =>
      list.length <= 1 ? [list] : list.flatMap((x, i) => permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [x, ...rest]));
    const results = permutations(parts.map((_, i) => i)).map((order) => order.map((i) => parts[i]!).reduce(mergeRecords));
    for (const result of results) expect(result).toEqual(results[0]);
    expect(results[0]).toMatchObject({ text: 'edit 2', editedAt: 15, status: 'read', statusAt: 12, timestamp: 10, fromMe: true, type: 'conversation', requestId: 'r' });
  });

  it('a delete is final: no text, media or raw, whatever comes after', () => {
    const deleted = [...parts, base({ deletedAt: 20 }), base({ media: { kind: 'image' }, raw: { x: 1 }, timestamp: 10, text: 'again' })].reduce(mergeRecords);
    expect(deleted).toMatchObject({ text: null, media: null, raw: null, deletedAt: 20 });
    expect(mergeByMessage([...parts, base({ messageId: 'other', timestamp: 1 })])).toHaveLength(2);
  });
});

describe('cursors', () => {
  it('round-trip and refuse anything else', () => {
    expect(decodeCursor(encodeCursor([5, 'a']), ['number', 'string'] as const)).toEqual([5, 'a']);
    for (const bad of ['', '!!', encodeCursor(['5', 'a']), encodeCursor([5]), Buffer.from('{').toString('base64url')]) {
      expect(() => decodeCursor(bad, ['number', 'string'] as const)).toThrow(DomainError);
    }
  });
});
