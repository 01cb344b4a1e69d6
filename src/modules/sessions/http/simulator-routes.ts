import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../../platform/db/db.js';
import type { StreamBus } from '../../../events/bus/stream-bus.js';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import { DomainError, notFound } from '../../../shared/errors.js';
import { findSession } from '../adapters/session-repository.js';
import { SIMULATOR_CONTROL_STREAM, type SimulatorAction } from '../adapters/simulator/simulator-driver.js';
import { newMessageId, nowSeconds, toJid } from '../adapters/simulator/simulated-phone.js';
import type { WaMessageKey } from '../domain/whatsapp-events.js';
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

  const jidOrPhone = z.string().min(3).max(128).openapi({ description: 'A JID or a phone number', example: '51999999999' });
  const connected = async (tenantId: string, sessionId: string) => {
    const row = await sessionOf(tenantId, sessionId);
    if (row.status !== 'connected') throw new DomainError('conflict', 'session_not_connected', `The session is ${row.status}`);
    return row;
  };
  /** Keys of stored messages of the session, so the phone can act on them (receipts, edits, reactions). */
  const keysOf = async (tenantId: string, sessionId: string, messageIds: string[]): Promise<(WaMessageKey & { type: string })[]> => {
    const rows = await deps.db.query<{ message_id: string; chat_jid: string; from_me: boolean; participant: string | null; type: string }>(
      `select message_id, chat_jid, from_me, participant, type from session_messages
       where tenant_id = $1 and session_id = $2 and message_id = any($3::text[]) and timestamp is not null`,
      [tenantId, sessionId, messageIds],
    );
    const missing = messageIds.filter((id) => !rows.some((r) => r.message_id === id));
    if (missing.length > 0) throw new DomainError('not_found', 'message_not_found', `Unknown message id(s): ${missing.join(', ')}`);
    return rows.map((r) => ({ id: r.message_id, remoteJid: r.chat_jid, fromMe: r.from_me, participant: r.participant, remoteJidAlt: null, participantAlt: null, type: r.type }));
  };
  const accepted = z.object({ ids: z.array(z.string()) });
  const phoneRoute = <S extends z.ZodTypeAny>(path: string, summary: string, body: S) =>
    createRoute({
      method: 'post',
      path: `/simulator/sessions/{id}/${path}`,
      tags: ['simulator'],
      security,
      summary,
      request: { params: SessionIdParams, body: { required: true, content: { 'application/json': { schema: body } } } },
      responses: {
        202: { description: 'Done by the phone; answers with the ids it created or touched', content: { 'application/json': { schema: accepted } } },
        404: problemResponse('No such session or message'),
        409: problemResponse('The session is not connected'),
      },
    });

  router.openapi(
    phoneRoute(
      'messages',
      'A contact sends a message (in a group when `group` is a group JID and `participant` the sender)',
      z
        .object({
          from: jidOrPhone,
          text: z.string().max(65_536),
          id: z.string().min(1).max(128).optional(),
          quotedMessageId: z.string().max(128).optional(),
          group: z.string().regex(/@g\.us$/, 'must be a group JID (…@g.us)').optional(),
          participant: jidOrPhone.optional(),
          timestamp: z.number().int().positive().optional(),
          pushName: z.string().max(256).optional(),
        })
        .strict(),
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await connected(c.get('auth').tenantId, id);
      const messageId = body.id ?? newMessageId();
      await send({
        action: 'message',
        sessionId: id,
        id: messageId,
        from: toJid(body.group ? (body.participant ?? body.from) : body.from),
        text: body.text,
        quotedMessageId: body.quotedMessageId ?? null,
        group: body.group ?? null,
        timestamp: body.timestamp ?? nowSeconds(),
        pushName: body.pushName ?? null,
      });
      return c.json({ ids: [messageId] }, 202);
    },
  );

  router.openapi(
    phoneRoute(
      'receipts',
      'The contact received, read or played messages (ours)',
      z.object({ messageIds: z.array(z.string().min(1)).min(1).max(1000), status: z.enum(['delivered', 'read', 'played']) }).strict(),
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const { messageIds, status } = c.req.valid('json');
      const { tenantId } = c.get('auth');
      await connected(tenantId, id);
      const keys = await keysOf(tenantId, id, messageIds);
      await send({ action: 'receipts', sessionId: id, keys: keys.map(({ type: _type, ...key }) => key), status, at: nowSeconds() });
      return c.json({ ids: messageIds }, 202);
    },
  );

  router.openapi(
    phoneRoute('edits', 'The sender edits a message', z.object({ messageId: z.string().min(1), text: z.string().max(65_536) }).strict()),
    async (c) => {
      const { id } = c.req.valid('param');
      const { messageId, text } = c.req.valid('json');
      const { tenantId } = c.get('auth');
      await connected(tenantId, id);
      const [{ type, ...key }] = (await keysOf(tenantId, id, [messageId])) as [WaMessageKey & { type: string }];
      await send({ action: 'edit', sessionId: id, key, type, text, at: nowSeconds() });
      return c.json({ ids: [messageId] }, 202);
    },
  );

  router.openapi(
    phoneRoute(
      'deletes',
      'The sender deletes a message for everyone, or the chat is cleared ({chatJid, scope: "chat"})',
      z.union([z.object({ messageId: z.string().min(1) }).strict(), z.object({ chatJid: jidOrPhone, scope: z.literal('chat') }).strict()]),
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const { tenantId } = c.get('auth');
      await connected(tenantId, id);
      if ('chatJid' in body) {
        await send({ action: 'clear-chat', sessionId: id, chatJid: toJid(body.chatJid), at: nowSeconds() });
        return c.json({ ids: [] }, 202);
      }
      const [{ type: _type, ...key }] = (await keysOf(tenantId, id, [body.messageId])) as [WaMessageKey & { type: string }];
      await send({ action: 'delete', sessionId: id, key, at: nowSeconds() });
      return c.json({ ids: [body.messageId] }, 202);
    },
  );

  router.openapi(
    phoneRoute(
      'reactions',
      'A contact reacts to a message (emoji null withdraws the reaction)',
      z.object({ messageId: z.string().min(1), from: jidOrPhone, emoji: z.string().min(1).max(32).nullable() }).strict(),
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const { messageId, from, emoji } = c.req.valid('json');
      const { tenantId } = c.get('auth');
      await connected(tenantId, id);
      const [{ type: _type, ...key }] = (await keysOf(tenantId, id, [messageId])) as [WaMessageKey & { type: string }];
      await send({ action: 'reaction', sessionId: id, key, actorJid: toJid(from), emoji, at: nowSeconds() });
      return c.json({ ids: [messageId] }, 202);
    },
  );

  router.openapi(
    phoneRoute(
      'presence',
      'A contact is typing, recording, online, offline or paused',
      z
        .object({
          jid: jidOrPhone,
          presence: z.enum(['available', 'unavailable', 'composing', 'recording', 'paused']),
          lastSeen: z.number().int().positive().nullable().optional(),
        })
        .strict(),
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await connected(c.get('auth').tenantId, id);
      const jid = toJid(body.jid);
      await send({ action: 'presence', sessionId: id, jid, presence: body.presence, lastSeen: body.lastSeen ?? null });
      return c.json({ ids: [jid] }, 202);
    },
  );

  router.openapi(
    phoneRoute(
      'contacts',
      'The address book syncs contacts',
      z
        .object({
          contacts: z
            .array(z.object({ id: jidOrPhone, name: z.string().max(256).optional(), notify: z.string().max(256).optional(), lid: z.string().regex(/@lid$/).optional() }).strict())
            .min(1)
            .max(5000),
        })
        .strict(),
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const { contacts } = c.req.valid('json');
      await connected(c.get('auth').tenantId, id);
      const mapped = contacts.map((contact) => {
        const jid = toJid(contact.id);
        return {
          id: jid,
          lid: contact.lid ?? (jid.endsWith('@lid') ? jid : null),
          phoneJid: jid.endsWith('@s.whatsapp.net') ? jid : null,
          name: contact.name ?? null,
          notify: contact.notify ?? null,
          imgUrl: null,
        };
      });
      await send({ action: 'contacts', sessionId: id, contacts: mapped });
      return c.json({ ids: mapped.map((m) => m.id) }, 202);
    },
  );

  router.openapi(
    phoneRoute(
      'history',
      'History sync in batches like WhatsApp’s (large enough for benchmarks)',
      z
        .object({
          chats: z.number().int().min(1).max(100_000),
          messagesPerChat: z.number().int().min(0).max(100_000),
          batchSize: z.number().int().min(1).max(50_000).optional(),
          syncType: z.enum(['INITIAL_BOOTSTRAP', 'RECENT', 'FULL', 'PUSH_NAME', 'ON_DEMAND']).optional(),
        })
        .strict()
        .refine((b) => b.chats * b.messagesPerChat <= 1_000_000, 'at most 1,000,000 messages per request'),
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await connected(c.get('auth').tenantId, id);
      const idPrefix = `H${newMessageId().slice(4, 12)}`;
      await send({
        action: 'history',
        sessionId: id,
        chats: body.chats,
        messagesPerChat: body.messagesPerChat,
        batchSize: body.batchSize ?? 1000,
        syncType: body.syncType ?? 'RECENT',
        idPrefix,
      });
      return c.json({ ids: [idPrefix] }, 202);
    },
  );

  router.openapi(
    phoneRoute('lid-mapping', 'WhatsApp reveals that a LID and a phone number are one person', z.object({ phone: jidOrPhone, lid: z.string().regex(/^\d+@lid$/, 'must be a LID (digits@lid)') }).strict()),
    async (c) => {
      const { id } = c.req.valid('param');
      const { phone, lid } = c.req.valid('json');
      await connected(c.get('auth').tenantId, id);
      await send({ action: 'lid-mapping', sessionId: id, mapping: { lid, pn: toJid(phone) } });
      return c.json({ ids: [lid] }, 202);
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
