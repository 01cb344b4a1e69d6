import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../platform/db/db.js';
import type { AppEnv } from '../../platform/http/app.js';
import { SqlContactReader } from './adapters/sql-contact-reader.js';
import { contactsRoutes } from './http/contacts.routes.js';

/**
 * GET /contacts. The rows are written by the messaging projection (chats module), which owns
 * identity: a contact is merged with its LID or phone form there.
 */
export function createContactsModule(deps: { db: Db; requireAuth: MiddlewareHandler<AppEnv> }) {
  const reader = new SqlContactReader(deps.db);
  return { router: contactsRoutes({ reader, requireAuth: deps.requireAuth }), reader };
}
