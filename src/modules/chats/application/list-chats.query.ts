import { decodeCursor, pageOf } from '../domain/cursor.js';
import type { ChatReader } from './ports.js';
import type { ChatView, Page } from './views.js';

/** GET /chats: the chats of the tenant's live session, most recent activity first. No session, no chats. */
export async function listChats(reader: ChatReader, input: { tenantId: string; limit: number; cursor?: string }): Promise<Page<ChatView>> {
  const after = input.cursor ? decodeCursor(input.cursor, ['number', 'string'] as const) : null;
  const sessionId = await reader.liveSessionId(input.tenantId);
  if (!sessionId) return { items: [], nextCursor: null };
  const rows = await reader.listChats(
    { tenantId: input.tenantId, sessionId },
    { limit: input.limit + 1, after: after ? { at: after[0], jid: after[1] } : null },
  );
  return pageOf(rows, input.limit, (chat) => chat, (chat) => [chat.lastMessageAt ?? 0, chat.jid]);
}
