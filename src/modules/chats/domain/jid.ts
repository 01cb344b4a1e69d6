/**
 * WhatsApp addresses. A person is `<digits>@s.whatsapp.net` (phone JID) or `<n>@lid` (LID); a
 * device adds `:<device>` to the user part. Groups are `…@g.us`. We store user JIDs without the
 * device, and `@c.us` (the legacy spelling) as `@s.whatsapp.net`.
 */
export const PHONE_SERVER = 's.whatsapp.net';
export const LID_SERVER = 'lid';

const USER_SERVERS = new Set([PHONE_SERVER, 'c.us', LID_SERVER, 'hosted', 'hosted.lid']);
const SERVER_RE = /^[a-z0-9.-]+$/;
const PHONE_INPUT_RE = /^\+?\d{5,20}$/;

/** The JID without device or agent parts, or null when it is not one. */
export function normaliseJid(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const jid = value.trim();
  const at = jid.lastIndexOf('@');
  if (at <= 0 || at === jid.length - 1) return null;
  let user = jid.slice(0, at);
  let server = jid.slice(at + 1).toLowerCase();
  if (!SERVER_RE.test(server)) return null;
  if (USER_SERVERS.has(server)) {
    user = user.split(':')[0]!.split('_')[0]!;
    if (server === 'c.us') server = PHONE_SERVER;
  }
  if (!user) return null;
  return `${user}@${server}`;
}

export const isLid = (jid: string | null | undefined): jid is string => typeof jid === 'string' && jid.endsWith(`@${LID_SERVER}`);
export const isPhoneJid = (jid: string | null | undefined): jid is string => typeof jid === 'string' && jid.endsWith(`@${PHONE_SERVER}`);
/** A person (not a group, a broadcast list or a newsletter). */
export const isUserJid = (jid: string | null | undefined): jid is string => isLid(jid) || isPhoneJid(jid);

/** The digits of a phone JID, else null. */
export const phoneOf = (jid: string | null | undefined): string | null => (isPhoneJid(jid) ? jid.slice(0, jid.indexOf('@')) : null);

export const phoneJid = (digits: string): string => `${digits}@${PHONE_SERVER}`;

/**
 * What the API accepts for `:jid`: a JID (phone, LID, group, …) or a bare phone number (digits,
 * optionally with a leading +), normalised. null when it is neither.
 */
export function parseJidInput(input: string): string | null {
  const value = input.trim();
  if (PHONE_INPUT_RE.test(value)) return phoneJid(value.replace(/^\+/, ''));
  return normaliseJid(value);
}

/** A LID ⇄ phone mapping with both sides as JIDs; bare numbers are accepted. null when malformed. */
export function normaliseMapping(mapping: { lid?: unknown; pn?: unknown } | null | undefined): { lid: string; pn: string } | null {
  if (!mapping || typeof mapping.lid !== 'string' || typeof mapping.pn !== 'string') return null;
  const lid = normaliseJid(mapping.lid.includes('@') ? mapping.lid : `${mapping.lid}@${LID_SERVER}`);
  const pn = normaliseJid(mapping.pn.includes('@') ? mapping.pn : phoneJid(mapping.pn));
  return isLid(lid) && isPhoneJid(pn) ? { lid, pn } : null;
}

/** The mapping two forms of one address give, whichever order they come in. */
export function mappingOf(a: string | null | undefined, b: string | null | undefined): { lid: string; pn: string } | null {
  const x = normaliseJid(a);
  const y = normaliseJid(b);
  if (isLid(x) && isPhoneJid(y)) return { lid: x, pn: y };
  if (isLid(y) && isPhoneJid(x)) return { lid: y, pn: x };
  return null;
}
