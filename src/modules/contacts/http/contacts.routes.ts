import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import { PageQuery, pageSchema, problemResponse } from '../../chats/index.js';
import { listContacts } from '../application/list-contacts.query.js';
import type { ContactReader } from '../application/ports.js';

export const ContactSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    notify: z.string().nullable(),
    phone: z.string().nullable(),
    lid: z.string().nullable(),
    imgUrl: z.string().nullable(),
  })
  .openapi('Contact');

export function contactsRoutes(deps: { reader: ContactReader; requireAuth: MiddlewareHandler<AppEnv> }) {
  const router = createRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/contacts',
      tags: ['contacts'],
      security: [{ bearer: [] }],
      middleware: [deps.requireAuth] as const,
      summary: "The contacts of the tenant's session, by id",
      request: { query: PageQuery },
      responses: {
        200: { description: 'A page of contacts (empty without a session)', content: { 'application/json': { schema: pageSchema(ContactSchema, 'ContactPage') } } },
        400: problemResponse('Invalid limit or cursor'),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid('query');
      return c.json(await listContacts(deps.reader, { tenantId: c.get('auth').tenantId, limit, cursor }), 200);
    },
  );
  return router;
}
