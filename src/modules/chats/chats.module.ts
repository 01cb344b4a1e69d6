import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../platform/db/db.js';
import type { AppEnv } from '../../platform/http/app.js';
import { SqlChatReader } from './adapters/sql-chat-reader.js';
import { chatsRoutes } from './http/chats.routes.js';

export interface ChatsModuleDeps {
  db: Db;
  requireAuth: MiddlewareHandler<AppEnv>;
}

/** GET /chats and GET /chats/:jid/messages over the projection's tables. */
export function createChatsModule(deps: ChatsModuleDeps) {
  const reader = new SqlChatReader(deps.db);
  return { router: chatsRoutes({ reader, requireAuth: deps.requireAuth }), reader };
}
