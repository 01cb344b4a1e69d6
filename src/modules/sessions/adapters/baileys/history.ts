import { proto, type BaileysEventMap } from 'baileys';
import type { WhatsAppEvent } from '../../domain/whatsapp-events.js';
import { collectLidMappings, toWaChats, toWaContacts } from './contacts-chats.js';
import { effectEvents, type MapContext } from './map-context.js';
import { splitMessages } from './message-upserts.js';

/**
 * A history sync batch (`messaging-history.set`) as one history.sync event, followed by what its
 * messages do to others (reactions kept with the messages, revoked tombstones, edits). Pure.
 *
 * lidMappings: Baileys' event buffer drops `lidPnMappings` when it consolidates a history set
 * (rc14 event-buffer.js keeps chats, contacts and messages only), and history always arrives while
 * buffering; the pairs that contacts and chats carry (lid / phoneNumber, lidJid / pnJid) are
 * collected too so most of them survive. The driver also reports every pair Baileys stores (see
 * lid-mapping-tap.ts).
 */
export function mapHistorySet(
  set: BaileysEventMap['messaging-history.set'],
  ctx: MapContext,
  revokeKeys: ReadonlyMap<string, number>,
): WhatsAppEvent[] {
  const contacts = toWaContacts(set.contacts);
  const { messages, effects } = splitMessages(set.messages ?? [], ctx, { live: false, revokeKeys });
  return [
    {
      kind: 'history.sync',
      syncType: syncTypeName(set.syncType),
      progress: typeof set.progress === 'number' ? set.progress : null,
      // Baileys' isLatest means "the first batch of this login" (creds.processedHistoryMessages was empty).
      isLatest: set.isLatest === true,
      chats: toWaChats(set.chats, 'upsert'),
      contacts,
      messages,
      lidMappings: collectLidMappings(set.lidPnMappings, contacts, set.chats),
    },
    ...effectEvents(effects),
  ];
}

/** proto.HistorySync.HistorySyncType's name ('INITIAL_BOOTSTRAP', 'RECENT', 'FULL', 'PUSH_NAME', 'ON_DEMAND' ...). */
export function syncTypeName(type: proto.HistorySync.HistorySyncType | null | undefined): string {
  if (type === null || type === undefined) return 'UNKNOWN';
  return proto.HistorySync.HistorySyncType[type] ?? String(type);
}
