import { describe, expect, it } from 'vitest';
import { dedupeMappings, Identities } from './identities.js';
import { mappingOf, normaliseJid, normaliseMapping, parseJidInput, phoneOf } from './jid.js';

describe('JIDs', () => {
  it('normalises device parts and the legacy server, and keeps groups as they are', () => {
    expect(normaliseJid('51999999999:12@s.whatsapp.net')).toBe('51999999999@s.whatsapp.net');
    expect(normaliseJid('51999999999@c.us')).toBe('51999999999@s.whatsapp.net');
    expect(normaliseJid('123456789012345:3@LID')).toBe('123456789012345@lid');
    expect(normaliseJid('120363000000000000@g.us')).toBe('120363000000000000@g.us');
    for (const bad of ['', '@lid', '51999999999', 'a@', 'x@bad server', null]) expect(normaliseJid(bad)).toBeNull();
  });

  it('reads what the API accepts for :jid', () => {
    expect(parseJidInput('51999999999')).toBe('51999999999@s.whatsapp.net');
    expect(parseJidInput('+51999999999')).toBe('51999999999@s.whatsapp.net');
    expect(parseJidInput('123456789012345@lid')).toBe('123456789012345@lid');
    expect(parseJidInput('hello')).toBeNull();
    expect(phoneOf('51999999999@s.whatsapp.net')).toBe('51999999999');
    expect(phoneOf('1@lid')).toBeNull();
  });

  it('reads mappings in either order and from bare numbers', () => {
    expect(mappingOf('1@lid', '51999999999:2@s.whatsapp.net')).toEqual({ lid: '1@lid', pn: '51999999999@s.whatsapp.net' });
    expect(mappingOf('51999999999@s.whatsapp.net', '1@lid')).toEqual({ lid: '1@lid', pn: '51999999999@s.whatsapp.net' });
    expect(mappingOf('1@lid', '2@lid')).toBeNull();
    expect(normaliseMapping({ lid: '1', pn: '51999999999' })).toEqual({ lid: '1@lid', pn: '51999999999@s.whatsapp.net' });
    expect(normaliseMapping({ lid: '1@g.us', pn: '5' })).toBeNull();
  });

  it('keeps mappings one to one, the later winning', () => {
    expect(
      dedupeMappings([
        { lid: 'a@lid', pn: '1@s.whatsapp.net' },
        { lid: 'b@lid', pn: '1@s.whatsapp.net' },
        { lid: 'b@lid', pn: '2@s.whatsapp.net' },
        { lid: 'c@lid', pn: '3@s.whatsapp.net' },
      ]),
    ).toEqual([
      { lid: 'b@lid', pn: '2@s.whatsapp.net' },
      { lid: 'c@lid', pn: '3@s.whatsapp.net' },
    ]);
    const ids = new Identities([{ lid: 'a@lid', pn: '1@s.whatsapp.net' }]);
    ids.add({ lid: 'a@lid', pn: '2@s.whatsapp.net' });
    expect(ids.canonical('a:4@lid')).toBe('2@s.whatsapp.net');
    expect(ids.lidOf('1@s.whatsapp.net')).toBeUndefined();
    expect(ids.lidFor('2@s.whatsapp.net')).toBe('a@lid');
  });
});
