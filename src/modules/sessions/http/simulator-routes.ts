import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../../platform/db/db.js';
import type { StreamBus } from '../../../events/bus/stream-bus.js';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import { DomainError, notFound } from '../../../shared/errors.js';
import { findSession } from '../adapters/session-repository.js';
import { SIMULATOR_CONTROL_STREAM, type SimulatorAction } from '../adapters/simulator/simulator-driver.js';
import { normalisePhone } from '../domain/session.js';
import { problemResponse, SessionIdParams } from './session-schemas.js';

/**
 * The phone side of the simulator driver, mounted only when WA_DRIVER=simulator: scan the QR,
 * drop the connection, and see what the session sent. Same bearer auth and tenant checks as the API.
 */
export function simulatorRoutes(deps: { db: Db; bus: StreamBus; requireAuth: MiddlewareHandler<AppEnv> }) {
  const router = createRouter();
  router.use('/simulator/*', deps.requireAuth);
  const security = [{ bearer: [] }];

  const sessionOf = async (tenantId: string, sessionId: string) => {
    const row = await findSession(deps.db, tenantId, sessionId);
    if (!row) throw notFound('session');
    return row;
  };
  const send = (action: SimulatorAction) => deps.bus.append(SIMULATOR_CONTROL_STREAM, [{ data: JSON.stringify(action) }]);

  router.openapi(
    createRoute({
      method: 'post',
      path: '/simulator/sessions/{id}/scan',
      tags: ['simulator'],
      security,
      summary: 'The phone scans the QR (or types the pairing code): the session links and connects',
      request: {
        params: SessionIdParams,
        body: { required: true, content: { 'application/json': { schema: z.object({ phone: z.string().openapi({ example: '51999999999' }) }).strict() } } },
      },
      responses: {
        202: { description: 'Scanned', content: { 'application/json': { schema: z.object({ sessionId: z.string(), phone: z.string() }) } } },
        404: problemResponse('No such session'),
        409: problemResponse('The session is not showing a QR or pairing code'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const phone = normalisePhone(c.req.valid('json').phone);
      if (!phone) throw new DomainError('invalid', 'invalid_phone_number', 'phone must be 7 to 15 digits');
      const row = await sessionOf(c.get('auth').tenantId, id);
      if (row.status !== 'qr' && row.status !== 'pairing') {
        throw new DomainError('conflict', 'session_not_linking', `The session is ${row.status}, not waiting for a scan`);
      }
      await send({ action: 'scan', sessionId: id, phone });
      return c.json({ sessionId: id, phone }, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/simulator/sessions/{id}/disconnect',
      tags: ['simulator'],
      security,
      summary: 'WhatsApp drops the connection: connection_lost (the worker reconnects), logged_out, connection_replaced',
      request: {
        params: SessionIdParams,
        body: {
          required: true,
          content: { 'application/json': { schema: z.object({ reason: z.enum(['connection_lost', 'logged_out', 'connection_replaced']) }).strict() } },
        },
      },
      responses: {
        202: { description: 'Dropped', content: { 'application/json': { schema: z.object({ sessionId: z.string(), reason: z.string() }) } } },
        404: problemResponse('No such session'),
        409: problemResponse('The session is not connected'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { reason } = c.req.valid('json');
      const row = await sessionOf(c.get('auth').tenantId, id);
      if (row.status !== 'connected') throw new DomainError('conflict', 'session_not_connected', `The session is ${row.status}`);
      await send({ action: 'disconnect', sessionId: id, reason });
      return c.json({ sessionId: id, reason }, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/simulator/sessions/{id}/sent',
      tags: ['simulator'],
      security,
      summary: 'Everything the session did towards WhatsApp, in order, as the phone side saw it',
      request: { params: SessionIdParams },
      responses: {
        200: {
          description: 'In order',
          content: { 'application/json': { schema: z.object({ items: z.array(z.object({ kind: z.string(), data: z.record(z.string(), z.unknown()), at: z.string() })) }) } },
        },
        404: problemResponse('No such session'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { tenantId } = c.get('auth');
      await sessionOf(tenantId, id);
      const rows = await deps.db.query<{ kind: string; data: Record<string, unknown>; created_at: Date }>(
        `select kind, data, created_at from simulator_sent where tenant_id = $1 and session_id = $2 order by id`,
        [tenantId, id],
      );
      return c.json({ items: rows.map((r) => ({ kind: r.kind, data: r.data, at: new Date(r.created_at).toISOString() })) }, 200);
    },
  );
  return router;
}
