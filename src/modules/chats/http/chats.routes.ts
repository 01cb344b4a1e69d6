import { createRoute } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import { listChats } from '../application/list-chats.query.js';
import { listMessages } from '../application/list-messages.query.js';
import type { ChatReader } from '../application/ports.js';
import { ChatSchema, JidParams, MessageSchema, PageQuery, pageSchema, problemResponse } from './schemas.js';

/** The read side of chats. Auth is per route, so it does not wrap other modules' /chats routes. */
export function chatsRoutes(deps: { reader: ChatReader; requireAuth: MiddlewareHandler<AppEnv> }) {
  const router = createRouter();
  const security = [{ bearer: [] }];

  router.openapi(
    createRoute({
      method: 'get',
      path: '/chats',
      tags: ['chats'],
      security,
      middleware: [deps.requireAuth] as const,
      summary: "The chats of the tenant's session, most recent activity first",
      request: { query: PageQuery },
      responses: {
        200: { description: 'A page of chats (empty without a session)', content: { 'application/json': { schema: pageSchema(ChatSchema, 'ChatPage') } } },
        400: problemResponse('Invalid limit or cursor'),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid('query');
      return c.json(await listChats(deps.reader, { tenantId: c.get('auth').tenantId, limit, cursor }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/chats/{jid}/messages',
      tags: ['chats'],
      security,
      middleware: [deps.requireAuth] as const,
      summary: 'Messages of a chat, newest first, with reactions, quoted summaries, status, edits, deletes and media',
      request: { params: JidParams, query: PageQuery },
      responses: {
        200: {
          description: 'A page of messages; an unknown chat is an empty page',
          content: { 'application/json': { schema: pageSchema(MessageSchema, 'MessagePage') } },
        },
        400: problemResponse('Invalid jid, limit or cursor'),
      },
    }),
    async (c) => {
      const { jid } = c.req.valid('param');
      const { limit, cursor } = c.req.valid('query');
      return c.json(await listMessages(deps.reader, { tenantId: c.get('auth').tenantId, jid, limit, cursor }), 200);
    },
  );
  return router;
}
