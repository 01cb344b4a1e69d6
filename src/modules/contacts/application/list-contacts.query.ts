import { decodeCursor, pageOf, type Page } from '../../chats/index.js';
import type { ContactReader, ContactView } from './ports.js';

/** GET /contacts: the contacts of the tenant's live session, keyset on id. No session, no contacts. */
export async function listContacts(reader: ContactReader, input: { tenantId: string; limit: number; cursor?: string }): Promise<Page<ContactView>> {
  const after = input.cursor ? decodeCursor(input.cursor, ['string'] as const) : null;
  const sessionId = await reader.liveSessionId(input.tenantId);
  if (!sessionId) return { items: [], nextCursor: null };
  const rows = await reader.listContacts({ tenantId: input.tenantId, sessionId }, { limit: input.limit + 1, afterId: after ? after[0] : null });
  return pageOf(rows, input.limit, (c) => c, (c) => [c.id]);
}
