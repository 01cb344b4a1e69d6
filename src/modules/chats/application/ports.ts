import type { ChatView, MessageView } from './views.js';

export interface ChatScope {
  tenantId: string;
  sessionId: string;
}

/** The read side of the messaging store. Pages are asked for with limit + 1 to know whether more follow. */
export interface ChatReader {
  /** The tenant's session that is not deleted, if any: the scope of every read. */
  liveSessionId(tenantId: string): Promise<string | undefined>;
  /** The canonical form of a JID of this session (a LID whose phone is known becomes the phone JID). */
  canonicalJid(scope: ChatScope, jid: string): Promise<string>;
  /** Most recent activity first, after (lastMessageAt, jid) of the previous page. */
  listChats(scope: ChatScope, page: { limit: number; after: { at: number; jid: string } | null }): Promise<ChatView[]>;
  /** Newest first, after (timestamp, id) of the previous page, with reactions and quoted summaries. */
  listMessages(scope: ChatScope, chatJid: string, page: { limit: number; after: { timestamp: number; id: string } | null }): Promise<MessageView[]>;
}
