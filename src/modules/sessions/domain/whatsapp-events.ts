/**
 * What a WhatsApp driver reports besides the connection's life: messages, receipts, edits,
 * deletes, reactions, contacts, presence, history and identity mappings, already normalised.
 * Drivers translate their library's events into these; the worker turns them into the seed's
 * `session.*` events. Times are Unix seconds, as WhatsApp gives them.
 */

/** A message's identity. `*Alt` carry the other address form (phone JID ⇄ LID) when WhatsApp gives it. */
export interface WaMessageKey {
  id: string;
  remoteJid: string;
  fromMe: boolean;
  /** The sender inside a group; null in 1:1 chats. */
  participant: string | null;
  remoteJidAlt: string | null;
  participantAlt: string | null;
}

export type WaMessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed';

export interface WaMedia {
  kind: 'image' | 'video' | 'audio' | 'document' | 'sticker';
  mime: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  duration: number | null;
  fileName: string | null;
}

export interface WaMessage {
  key: WaMessageKey;
  timestamp: number;
  /** The content type, as Baileys names it: conversation, extendedTextMessage, imageMessage, ... */
  type: string;
  /** Text of any message kind that carries some (conversation, extended text, captions, edits). */
  text: string | null;
  quotedMessageId: string | null;
  pushName: string | null;
  /** Known delivery status (our own messages), when the library already merged one in. */
  status: WaMessageStatus | null;
  /** When an edit, a revoke or reactions were merged into this upsert (Baileys' event buffer). */
  editedAt: number | null;
  deletedAt: number | null;
  media: WaMedia | null;
  /** The library's whole message, JSON-safe; kept when STORE_RAW_MESSAGES (and needed to quote or forward). */
  raw: unknown;
}

export interface WaChat {
  jid: string;
  name: string | null;
  unreadCount: number | null;
  /** Unix seconds of the last message, when known. */
  lastMessageAt: number | null;
}

export interface WaContact {
  /** The JID the contact is known under (phone JID or LID). */
  id: string;
  lid: string | null;
  /** Phone JID (…@s.whatsapp.net) when known. */
  phoneJid: string | null;
  name: string | null;
  notify: string | null;
  imgUrl: string | null;
}

export interface LidMapping {
  lid: string;
  /** The phone JID (…@s.whatsapp.net). */
  pn: string;
}

export type WhatsAppEvent =
  | {
      kind: 'history.sync';
      syncType: string;
      progress: number | null;
      isLatest: boolean;
      chats: WaChat[];
      contacts: WaContact[];
      messages: WaMessage[];
      lidMappings: LidMapping[];
    }
  | { kind: 'messages.upsert'; upsertType: 'notify' | 'append'; requestId: string | null; messages: WaMessage[] }
  | {
      kind: 'messages.update';
      source: 'receipt' | 'group-receipt';
      updates: { key: WaMessageKey; status: WaMessageStatus; statusAt: number; participant: string | null; error: { code: number; reason: string } | null }[];
    }
  | { kind: 'messages.edit'; edits: { key: WaMessageKey; type: string; text: string | null; editedAt: number }[] }
  | { kind: 'messages.delete'; scope: 'message'; deletes: { key: WaMessageKey; deletedAt: number }[] }
  | { kind: 'messages.delete'; scope: 'chat'; chatJid: string; deletedAt: number }
  | {
      kind: 'messages.reaction';
      reactions: { key: WaMessageKey; actorJid: string; fromMe: boolean; emoji: string | null; reactedAt: number; removed: boolean }[];
    }
  | { kind: 'contacts.upsert'; contacts: WaContact[] }
  | { kind: 'chats.upsert'; chats: WaChat[] }
  | {
      kind: 'presence.update';
      chatJid: string;
      updates: { jid: string; presence: 'available' | 'unavailable' | 'composing' | 'recording' | 'paused'; lastSeen: number | null }[];
    }
  | { kind: 'lid.mapping'; mappings: LidMapping[] };

/** A message of ours as the store has it, for quoting, forwarding, editing, deleting and reacting. */
export interface StoredMessageRef {
  key: WaMessageKey;
  type: string;
  text: string | null;
  timestamp: number;
  raw: unknown;
}

/**
 * A stored file to send (an upload of POST /media). The worker opens its bytes from storage and
 * hands them to the connection as a stream beside the command (see WhatsAppConnection.execute).
 */
export interface OutboundMedia {
  kind: WaMedia['kind'];
  /** The stored content type, e.g. image/jpeg, audio/ogg; codecs=opus. Stickers are image/webp. */
  mime: string;
  /** Shown for documents. */
  fileName: string | null;
  /** Where the bytes are in media storage. */
  storageKey: string;
  /** Send as a voice note (push-to-talk): audio that is Ogg/Opus. */
  ptt: boolean;
  size: number | null;
  width: number | null;
  height: number | null;
  duration: number | null;
}

/** What the worker asks a connection to do. Each carries the API's requestId. */
export type WhatsAppCommand =
  | {
      kind: 'send';
      requestId: string;
      to: string;
      /** The text, or with media its caption (null: none). */
      text: string | null;
      quoted: StoredMessageRef | null;
      forward: StoredMessageRef | null;
      /** A file to send; `text` is then its caption. Absent or null: a text message. */
      media?: OutboundMedia | null;
    }
  | { kind: 'edit'; requestId: string; target: StoredMessageRef; text: string }
  | { kind: 'delete'; requestId: string; target: StoredMessageRef }
  | { kind: 'react'; requestId: string; target: StoredMessageRef; emoji: string | null }
  | { kind: 'read'; requestId: string; keys: WaMessageKey[] };

export interface WhatsAppCommandResult {
  /** The message the command created (send), as WhatsApp will know it. */
  message: WaMessage | null;
}
