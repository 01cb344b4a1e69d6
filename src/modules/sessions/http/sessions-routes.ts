import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { CommandBus } from '../../../events/command-bus.js';
import type { Db } from '../../../platform/db/db.js';
import type { Clock } from '../../../platform/clock.js';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import { DomainError } from '../../../shared/errors.js';
import { findLiveSession, toPrimitives } from '../adapters/session-repository.js';
import { normalisePhone } from '../domain/session.js';
import type { deleteSession } from '../application/delete-session.use-case.js';
import type { startSession } from '../application/start-session.use-case.js';
import type { stopSession } from '../application/stop-session.use-case.js';
import { problemResponse, SessionIdParams, SessionSchema, SessionWithRequest, StartSessionBody } from './session-schemas.js';

export type SessionCommands = {
  startSession: typeof startSession;
  stopSession: typeof stopSession;
  deleteSession: typeof deleteSession;
};

export function sessionsRoutes(deps: {
  db: Db;
  commands: CommandBus<SessionCommands>;
  requireAuth: MiddlewareHandler<AppEnv>;
  shards: number;
  clock: Clock;
}) {
  const router = createRouter();
  const security = [{ bearer: [] }];
  router.use('/sessions', deps.requireAuth);
  router.use('/sessions/*', deps.requireAuth);

  router.openapi(
    createRoute({
      method: 'post',
      path: '/sessions',
      tags: ['sessions'],
      security,
      summary: "Start the tenant's WhatsApp session (creates it, or starts a stopped one again)",
      request: { body: { required: false, content: { 'application/json': { schema: StartSessionBody } } } },
      responses: {
        201: { description: 'Created; `session.created` and a QR (or pairing code) follow on the WebSocket', content: { 'application/json': { schema: SessionWithRequest } } },
        200: { description: 'The stopped or disconnected session is starting again', content: { 'application/json': { schema: SessionWithRequest } } },
        409: problemResponse('The session is already running'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json') ?? {};
      let pairingPhone: string | null = null;
      if (body.phoneNumber !== undefined) {
        pairingPhone = normalisePhone(body.phoneNumber);
        if (!pairingPhone) throw new DomainError('invalid', 'invalid_phone_number', 'phoneNumber must be 7 to 15 digits (E.164 without +)');
      }
      const { tenantId } = c.get('auth');
      const result = await deps.commands.execute('startSession', { tenantId, pairingPhone, shards: deps.shards, now: deps.clock.now() });
      return c.json({ session: result.session, requestId: result.requestId }, result.created ? 201 : 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/sessions',
      tags: ['sessions'],
      security,
      summary: "The tenant's session, or null",
      responses: { 200: { description: 'The session or null', content: { 'application/json': { schema: SessionSchema.nullable() } } } },
    }),
    async (c) => {
      const row = await findLiveSession(deps.db, c.get('auth').tenantId);
      return c.json(row ? toPrimitives(row) : null, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/sessions/{id}/stop',
      tags: ['sessions'],
      security,
      summary: 'Close the connection and keep the WhatsApp login (resumable)',
      request: { params: SessionIdParams },
      responses: {
        202: { description: 'The worker is closing the session; `session.status.disconnected` (reason `stopped`) follows', content: { 'application/json': { schema: SessionWithRequest } } },
        404: problemResponse('No such session'),
        409: problemResponse('The session is not running'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await deps.commands.execute('stopSession', { tenantId: c.get('auth').tenantId, sessionId: id, shards: deps.shards });
      return c.json(result, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/sessions/{id}',
      tags: ['sessions'],
      security,
      summary: "Log out of WhatsApp and delete the session, its credentials and its chats, messages, contacts and media",
      request: { params: SessionIdParams },
      responses: {
        202: { description: 'Deleted; the worker logs out', content: { 'application/json': { schema: z.object({ requestId: z.string().uuid() }) } } },
        404: problemResponse('No such session'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await deps.commands.execute('deleteSession', { tenantId: c.get('auth').tenantId, sessionId: id, shards: deps.shards, now: deps.clock.now() });
      return c.json(result, 202);
    },
  );
  return router;
}
