/**
 * The `session.*` events of the seed (seed-flows.es.md), payload field for field. These types are
 * what modules share: the worker produces them, the event consumer projects them, the WS hub
 * forwards them. Times inside message payloads are Unix seconds (as the seed shows); `...At`
 * fields of session lifecycle events are ISO-8601 strings.
 */
import type { LidMapping, WaChat, WaContact, WaMedia, WaMessageStatus } from '../../modules/sessions/domain/whatsapp-events.js';

export const SESSION_EVENT_TYPES = [
  'session.snapshot',
  'session.created',
  'session.qr.updated',
  'session.pairing.code',
  'session.status.connected',
  'session.status.disconnected',
  'session.history.sync',
  'session.messages.upsert',
  'session.messages.update',
  'session.messages.edit',
  'session.messages.delete',
  'session.messages.reaction',
  'session.messages.media',
  'session.contacts.upsert',
  'session.presence.update',
  'session.command.failed',
] as const;
export type SessionEventType = (typeof SESSION_EVENT_TYPES)[number];

/** A message as events and the API summarise it. */
export interface MessageSummary {
  id: string;
  remoteJid: string;
  fromMe: boolean;
  participant: string | null;
  timestamp: number;
  type: string;
  text: string | null;
  quotedMessageId: string | null;
  pushName: string | null;
  status: WaMessageStatus | null;
  /** The other address form of the chat / the sender (LID ⇄ phone JID), when known. */
  remoteJidAlt: string | null;
  participantAlt: string | null;
  media: WaMedia | null;
  /** The library's whole message, only when STORE_RAW_MESSAGES is on. */
  raw?: unknown;
}

export interface HistorySyncPayload {
  tenantId: string;
  syncType: string;
  progress: number | null;
  isLatest: boolean;
  chatsCount: number;
  contactsCount: number;
  messagesCount: number;
  messagesTruncated: boolean;
  messages: MessageSummary[];
}

/** Everything a history batch carried; travels beside the capped event (stream field `full`). */
export interface HistorySyncFull {
  chats: WaChat[];
  contacts: WaContact[];
  messages: MessageSummary[];
  lidMappings: LidMapping[];
}

export interface MessagesUpsertPayload {
  tenantId: string;
  upsertType: 'notify' | 'append';
  requestId: string | null;
  messagesCount: number;
  messages: MessageSummary[];
}

export interface MessageStatusUpdate {
  messageId: string;
  chatJid: string;
  status: WaMessageStatus;
  statusAt: number;
  /** Group receipts: who received or read it. */
  participant?: string | null;
  error?: { code: number; reason: string } | null;
}

export interface MessagesUpdatePayload {
  tenantId: string;
  updatesCount: number;
  updates: MessageStatusUpdate[];
  source: 'receipt' | 'group-receipt';
}

export interface MessagesEditPayload {
  tenantId: string;
  editsCount: number;
  edits: { messageId: string; chatJid: string; type: string; text: string | null; editedAt: number }[];
}

export type MessagesDeletePayload =
  | { tenantId: string; scope: 'message'; deletesCount: number; deletes: { messageId: string; chatJid: string; deletedAt: number }[] }
  | { tenantId: string; scope: 'chat'; chatJid: string; deletesCount: 0; deletes: [] };

export interface MessagesReactionPayload {
  tenantId: string;
  reactionsCount: number;
  reactions: { messageId: string; chatJid: string; actorJid: string; fromMe: boolean; emoji: string | null; reactedAt: number; removed: boolean }[];
  source: 'event' | 'upsert';
}

export interface ContactSummary {
  id: string;
  name?: string | null;
  notify?: string | null;
  imgUrl: string | null;
  phone: string | null;
  lid: string | null;
}

export interface ContactsUpsertPayload {
  tenantId: string;
  contactsCount: number;
  contactsTruncated: boolean;
  contacts: ContactSummary[];
  source: 'event' | 'history';
}

export interface PresenceUpdatePayload {
  tenantId: string;
  chatJid: string;
  updatesCount: number;
  updates: { jid: string; presence: string; lastSeen: number | null }[];
}

export interface CommandFailedPayload {
  tenantId: string;
  requestId: string;
  command: string;
  reason: string;
  messageId?: string | null;
}

/** Caps on lists carried in events; the database always gets everything. */
export const EVENT_LIST_CAP = 50;
