import type { StoredMessageRef, WaMedia } from '../domain/whatsapp-events.js';

export interface StoredMessage extends StoredMessageRef {
  fromMe: boolean;
  deleted: boolean;
}

/** What the messaging use cases need from the message store (the chats module implements it). */
export interface MessageLookup {
  /** The canonical chat JID for a phone JID, a LID or bare phone digits. */
  resolveChatJid(tenantId: string, sessionId: string, jidOrPhone: string): Promise<string>;
  /** A stored message of the session: in one chat, or in any chat when chatJid is null. */
  findMessage(tenantId: string, sessionId: string, chatJid: string | null, messageId: string): Promise<StoredMessage | undefined>;
  /** Several messages of one chat in one query; unknown ids are simply absent. */
  findMessages(tenantId: string, sessionId: string, chatJid: string, messageIds: string[]): Promise<StoredMessage[]>;
}

/** A file uploaded with POST /media, as a send needs it. */
export interface UploadedMedia {
  id: string;
  kind: WaMedia['kind'];
  /** The storage key of its bytes. */
  storageKey: string;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
  duration: number | null;
  fileName: string;
}

/** The tenant's uploads (the media module implements it): undefined for an unknown id or another tenant's. */
export type FindUpload = (tenantId: string, mediaId: string) => Promise<UploadedMedia | undefined>;
