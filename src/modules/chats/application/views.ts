import type { WaMessageStatus } from '../../sessions/domain/whatsapp-events.js';

/** What GET /chats and GET /chats/:jid/messages answer, item by item. Times are Unix seconds, as in events. */

export interface LastMessageView {
  id: string;
  text: string | null;
  type: string | null;
  timestamp: number;
  fromMe: boolean;
}

export interface ChatView {
  jid: string;
  /** Digits of the phone number, when known. */
  phone: string | null;
  lid: string | null;
  name: string | null;
  unreadCount: number;
  lastMessage: LastMessageView | null;
  lastMessageAt: number | null;
}

export interface ReactionView {
  emoji: string;
  count: number;
  actors: string[];
}

export interface MediaView {
  kind: string;
  url: string | null;
  mime: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  duration: number | null;
  /** Why there is no url: too_large, download_failed, not_downloadable. */
  reason?: string;
}

export interface QuotedView {
  id: string;
  text: string | null;
  type: string | null;
  fromMe: boolean;
}

export interface MessageView {
  id: string;
  chatJid: string;
  fromMe: boolean;
  participant: string | null;
  timestamp: number;
  type: string | null;
  text: string | null;
  status: WaMessageStatus | null;
  editedAt: number | null;
  deletedAt: number | null;
  quotedMessageId: string | null;
  quoted: QuotedView | null;
  reactions: ReactionView[];
  media: MediaView | null;
  pushName: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
