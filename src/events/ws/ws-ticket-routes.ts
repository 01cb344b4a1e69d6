import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../../platform/http/app.js';
import { DomainError } from '../../shared/errors.js';
import type { WsIdentity } from './ws-hub.js';
import type { TicketStore } from './ws-tickets.js';

const TICKET_TTL_SECONDS = 60;

/** POST /ws/ticket: a single-use ticket for `?ticket=`, so no access token travels in a URL. */
export function wsTicketRoutes(deps: { tickets: TicketStore; verifyAccessToken: (token: string) => Promise<WsIdentity> }) {
  const router = createRouter();
  router.openapi(
    createRoute({
      method: 'post',
      path: '/ws/ticket',
      tags: ['realtime'],
      security: [{ bearer: [] }],
      summary: 'A single-use WebSocket ticket valid for 60 s: connect with /ws/sessions?ticket=<ticket>',
      responses: {
        201: {
          description: 'Issued',
          content: { 'application/json': { schema: z.object({ ticket: z.string(), expiresIn: z.number().int() }) } },
        },
        401: { description: 'Missing or invalid bearer token' },
      },
    }),
    async (c) => {
      const header = c.req.header('authorization') ?? '';
      const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
      let identity: WsIdentity;
      try {
        if (!token) throw new Error('no token');
        identity = await deps.verifyAccessToken(token);
      } catch {
        throw new DomainError('unauthorized', 'unauthorized', 'A valid bearer access token is required');
      }
      const ticket = await deps.tickets.issue(
        { userId: identity.userId, tenantId: identity.tenantId, tokenVersion: identity.tokenVersion, expiresAt: identity.expiresAt.toISOString() },
        TICKET_TTL_SECONDS,
      );
      return c.json({ ticket, expiresIn: TICKET_TTL_SECONDS }, 201);
    },
  );
  return router;
}
