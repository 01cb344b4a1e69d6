import { WAMessageStubType, type BaileysEventMap, type WAMessage } from 'baileys';
import type { WhatsAppEvent } from '../../domain/whatsapp-events.js';
import { collectLidMappings, toWaChats, toWaContacts } from './contacts-chats.js';
import { mapHistorySet } from './history.js';
import { effectEvents, noEffects, type MapContext, type MessageEffects } from './map-context.js';
import { contentTypeOf, textOf, unwrapContent } from './message-content.js';
import { reactionEntry, receiptEntries, statusEntry } from './message-effects.js';
import { keyString, normalizeJid, numberOf, toWaKey } from './message-key.js';
import { revokesOf, splitMessages } from './message-upserts.js';

/**
 * Baileys' events as wahub's WhatsAppEvents, in order. The input is what `sock.ev.process`
 * hands over: one map of events, consolidated by Baileys' buffer (rc14 event-buffer.js) or a
 * single event when nothing was buffering. Events wahub does not use give nothing. Pure.
 */
export function mapBaileysEvents(events: Partial<BaileysEventMap>, ctx: MapContext): WhatsAppEvent[] {
  const out: WhatsAppEvent[] = [];
  // Revokes of this flush: their merged stubs lost their own id, and the messages.update that
  // repeats a revoke carries no time (see message-upserts.ts).
  const revokes = revokesOf(events['messages.upsert']?.messages, ctx);
  for (const name of Object.keys(events) as (keyof BaileysEventMap)[]) {
    switch (name) {
      case 'messaging-history.set':
        out.push(...mapHistorySet(events[name]!, ctx, revokes));
        break;
      case 'messages.upsert':
        out.push(...mapUpsert(events[name]!, ctx, revokes));
        break;
      case 'messages.update':
        out.push(...effectEvents(mapUpdates(events[name]!, ctx, revokes)));
        break;
      case 'message-receipt.update': {
        const effects = noEffects();
        for (const { key, receipt } of events[name]!) effects.receipts.push(...receiptEntries(key, receipt));
        out.push(...effectEvents(effects));
        break;
      }
      case 'messages.reaction': {
        const effects = noEffects();
        for (const { key, reaction } of events[name]!) {
          const entry = reactionEntry(toWaKey(key), reaction, ctx, ctx.now);
          if (entry) effects.reactions.push(entry);
        }
        out.push(...effectEvents(effects));
        break;
      }
      case 'messages.delete':
        out.push(...mapDelete(events[name]!, ctx));
        break;
      case 'contacts.upsert':
      case 'contacts.update': {
        const contacts = toWaContacts(events[name]);
        if (contacts.length) out.push({ kind: 'contacts.upsert', contacts });
        const mappings = collectLidMappings([], contacts);
        if (mappings.length) out.push({ kind: 'lid.mapping', mappings });
        break;
      }
      case 'chats.upsert':
      case 'chats.update': {
        const chats = toWaChats(events[name], name === 'chats.upsert' ? 'upsert' : 'update');
        if (chats.length) out.push({ kind: 'chats.upsert', chats });
        break;
      }
      case 'presence.update': {
        const event = mapPresence(events[name]!);
        if (event) out.push(event);
        break;
      }
      case 'lid-mapping.update': {
        const { lid, pn } = events[name]!;
        const mappings = collectLidMappings([{ lid, pn }], []);
        if (mappings.length) out.push({ kind: 'lid.mapping', mappings });
        break;
      }
      default:
        break;
    }
  }
  return out;
}

function mapUpsert(upsert: BaileysEventMap['messages.upsert'], ctx: MapContext, revokes: ReadonlyMap<string, number>): WhatsAppEvent[] {
  const { messages, effects } = splitMessages(upsert.messages ?? [], ctx, { live: true, revokeKeys: revokes });
  const out: WhatsAppEvent[] = [];
  // Baileys' own requestId (a placeholder resend's) answers none of our commands.
  if (messages.length) out.push({ kind: 'messages.upsert', upsertType: upsert.type === 'notify' ? 'notify' : 'append', requestId: null, messages });
  out.push(...effectEvents(effects));
  return out;
}

/**
 * messages.update: statuses (1:1 receipts, a NACK as ERROR), edits (`message: { editedMessage }`
 * on the original id) and revokes (`message: null, messageStubType: REVOKE`). Anything else
 * (starred, media re-upload, poll votes, placeholder requests) is not wahub's.
 */
export function mapUpdates(updates: BaileysEventMap['messages.update'], ctx: MapContext, revokes: ReadonlyMap<string, number>): MessageEffects {
  const effects = noEffects();
  for (const { key, update } of updates) {
    if (!key?.id || !update) continue;
    const status = statusEntry(key, update, ctx);
    if (status) effects.statuses.push(status);

    const edited = update.message?.editedMessage?.message;
    if (edited) {
      const content = unwrapContent(edited);
      if (content && !content.protocolMessage) {
        effects.edits.push({
          key: toWaKey(key),
          type: contentTypeOf(content) ?? 'unknown',
          text: textOf(content),
          editedAt: numberOf(update.messageTimestamp) ?? ctx.now,
        });
      }
    }

    if (update.message === null && update.messageStubType === WAMessageStubType.REVOKE) {
      // update.key is the revoke's own key; its protocol message, when in this flush, has its time.
      const revokeKey = (update as Partial<WAMessage>).key;
      effects.deletes.push({ key: toWaKey(key), deletedAt: (revokeKey && revokes.get(keyString(revokeKey))) || ctx.now });
    }
  }
  return effects;
}

/** messages.delete: `{ keys }` is "delete for me" (app state), `{ jid, all: true }` a cleared chat. */
function mapDelete(data: BaileysEventMap['messages.delete'], ctx: MapContext): WhatsAppEvent[] {
  if ('keys' in data) {
    const deletes = data.keys.filter((key) => key?.id).map((key) => ({ key: toWaKey(key), deletedAt: ctx.now }));
    return deletes.length ? [{ kind: 'messages.delete', scope: 'message', deletes }] : [];
  }
  const chatJid = normalizeJid(data.jid);
  return chatJid && data.all ? [{ kind: 'messages.delete', scope: 'chat', chatJid, deletedAt: ctx.now }] : [];
}

const PRESENCES = new Set(['available', 'unavailable', 'composing', 'recording', 'paused']);
type Presence = Extract<WhatsAppEvent, { kind: 'presence.update' }>['updates'][number]['presence'];

function mapPresence({ id, presences }: BaileysEventMap['presence.update']): WhatsAppEvent | null {
  const chatJid = normalizeJid(id);
  if (!chatJid) return null;
  const updates = Object.entries(presences ?? {})
    .filter(([, data]) => PRESENCES.has(data?.lastKnownPresence))
    .map(([jid, data]) => ({
      jid: normalizeJid(jid) ?? jid,
      presence: data.lastKnownPresence as Presence,
      lastSeen: typeof data.lastSeen === 'number' ? data.lastSeen : null,
    }));
  return updates.length ? { kind: 'presence.update', chatJid, updates } : null;
}
