import { isJidStatusBroadcast, isLidUser, isPnUser, type Chat, type ChatUpdate, type Contact } from 'baileys';
import type { LidMapping, WaChat, WaContact } from '../../domain/whatsapp-events.js';
import { normalizeJid, numberOf, toLidMapping } from './message-key.js';

/** Contacts, chats and LID ⇄ phone mappings. Pure. */

const text = (s: string | null | undefined): string | null => (typeof s === 'string' && s !== '' ? s : null);

/**
 * A person (phone JID or LID) as wahub's contact; groups, broadcasts and newsletters are chats,
 * not contacts (history sync lists every conversation as a contact). `imgUrl: 'changed'` only says
 * the picture changed: the URL is unknown.
 */
export function toWaContact(contact: Partial<Contact>): WaContact | null {
  const id = normalizeJid(contact.id);
  if (!id || !(isPnUser(id) || isLidUser(id))) return null;
  const lid = normalizeJid(contact.lid) ?? (isLidUser(id) ? id : null);
  const phone = contact.phoneNumber?.includes('@') ? contact.phoneNumber : contact.phoneNumber ? `${contact.phoneNumber}@s.whatsapp.net` : null;
  return {
    id,
    lid: lid && isLidUser(lid) ? lid : null,
    phoneJid: normalizeJid(phone) ?? (isPnUser(id) ? id : null),
    name: text(contact.name),
    notify: text(contact.notify) ?? text(contact.verifiedName),
    imgUrl: contact.imgUrl && contact.imgUrl !== 'changed' ? contact.imgUrl : null,
  };
}

export function toWaContacts(contacts: readonly Partial<Contact>[] | undefined): WaContact[] {
  const out: WaContact[] = [];
  for (const contact of contacts ?? []) {
    const mapped = toWaContact(contact);
    if (mapped) out.push(mapped);
  }
  return out;
}

/**
 * A chat as wahub's. `update`: Baileys' chats.update carries a positive unreadCount as an
 * increment (processMessage: +1 per new message), 0 for "read" and -1 for "marked unread"
 * (app state); only an absolute count is passed on, the rest is null (unknown).
 */
export function toWaChat(chat: Chat | ChatUpdate, form: 'upsert' | 'update'): WaChat | null {
  const jid = normalizeJid(chat.id);
  if (!jid || isJidStatusBroadcast(jid)) return null;
  const unread = typeof chat.unreadCount === 'number' ? chat.unreadCount : null;
  return {
    jid,
    name: text(chat.name) ?? text(chat.displayName),
    unreadCount: unread === null || unread < 0 || (form === 'update' && unread > 0) ? null : unread,
    lastMessageAt:
      numberOf(chat.conversationTimestamp) || numberOf(chat.lastMessageRecvTimestamp) || numberOf(chat.lastMsgTimestamp) || null,
  };
}

export function toWaChats(chats: readonly (Chat | ChatUpdate)[] | undefined, form: 'upsert' | 'update'): WaChat[] {
  const out: WaChat[] = [];
  for (const chat of chats ?? []) {
    const mapped = toWaChat(chat, form);
    // An update that says nothing wahub keeps (archived, muted, pinned ...) is no chat event.
    if (mapped && (form === 'upsert' || mapped.name !== null || mapped.unreadCount !== null || mapped.lastMessageAt !== null)) out.push(mapped);
  }
  return out;
}

/** LID ⇄ phone pairs, deduplicated, from explicit mappings and from contacts and chats that name both forms. */
export function collectLidMappings(
  explicit: readonly { lid: string; pn: string }[] | undefined,
  contacts: readonly WaContact[],
  chats: readonly (Chat | ChatUpdate)[] = [],
): LidMapping[] {
  const seen = new Map<string, LidMapping>();
  const add = (mapping: LidMapping | null) => {
    if (mapping && !seen.has(mapping.lid)) seen.set(mapping.lid, mapping);
  };
  for (const m of explicit ?? []) add(toLidMapping(m.lid, m.pn));
  for (const c of contacts) add(toLidMapping(c.lid, c.phoneJid));
  for (const chat of chats) {
    add(toLidMapping(chat.id, chat.pnJid));
    add(toLidMapping(chat.id, chat.lidJid));
  }
  return [...seen.values()];
}
