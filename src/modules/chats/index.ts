/**
 * The chats module's public surface: the messaging projection (event handlers of the
 * `projections` group), the read API, and the small repository the command side uses.
 * Identity rules (phone JID ⇄ LID) and keyset cursors are shared with the contacts module.
 */
export { createChatsModule, type ChatsModuleDeps } from './chats.module.js';
export {
  messagingProjectionHandlers,
  PROJECTIONS_GROUP,
  type ChatsUpsertPayload,
  type LidMappingPayload,
} from './adapters/messaging-projection.js';
export { resolveChatJid, findMessageRef, findMessageRefs, findMessageRefInAnyChat, type MessageRef } from './adapters/message-refs.js';
export { liveSessionId } from './adapters/sql-chat-reader.js';
export { normaliseJid, parseJidInput, isLid, isPhoneJid, phoneOf } from './domain/jid.js';
export { decodeCursor, encodeCursor, pageOf } from './domain/cursor.js';
export { PageQuery, pageSchema, problemResponse, DEFAULT_PAGE, MAX_PAGE } from './http/schemas.js';
export type { ChatView, MessageView, Page } from './application/views.js';
