import { DomainError } from '../../../shared/errors.js';
import { decodeCursor, pageOf } from '../domain/cursor.js';
import { parseJidInput } from '../domain/jid.js';
import type { ChatReader } from './ports.js';
import type { MessageView, Page } from './views.js';

export const invalidJid = (input: string) =>
  new DomainError('invalid', 'invalid_jid', `"${input.slice(0, 80)}" is neither a WhatsApp JID nor a phone number`, { jid: input.slice(0, 80) });

/**
 * GET /chats/:jid/messages: newest first, keyset on (timestamp, id), so messages arriving while a
 * client pages only ever land before its first page. `:jid` may be a phone JID, a LID or phone
 * digits; one person's messages are one chat whichever form is used. A chat we have nothing of
 * (or no session) is an empty list, not a 404: it is a valid place to start a conversation.
 */
export async function listMessages(
  reader: ChatReader,
  input: { tenantId: string; jid: string; limit: number; cursor?: string },
): Promise<Page<MessageView>> {
  const jid = parseJidInput(input.jid);
  if (!jid) throw invalidJid(input.jid);
  const after = input.cursor ? decodeCursor(input.cursor, ['number', 'string'] as const) : null;
  const sessionId = await reader.liveSessionId(input.tenantId);
  if (!sessionId) return { items: [], nextCursor: null };
  const scope = { tenantId: input.tenantId, sessionId };
  const chatJid = await reader.canonicalJid(scope, jid);
  const rows = await reader.listMessages(scope, chatJid, {
    limit: input.limit + 1,
    after: after ? { timestamp: after[0], id: after[1] } : null,
  });
  return pageOf(rows, input.limit, (m) => m, (m) => [m.timestamp, m.id]);
}
