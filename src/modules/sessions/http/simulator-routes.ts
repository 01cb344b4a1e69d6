import { createRoute, z } from '@hono/zod-openapi';
import busboy from 'busboy';
import type { Context, MiddlewareHandler } from 'hono';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Db } from '../../../platform/db/db.js';
import type { StreamBus } from '../../../events/bus/stream-bus.js';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import { DomainError, notFound } from '../../../shared/errors.js';
import { findSession } from '../adapters/session-repository.js';
import { SIMULATOR_CONTROL_STREAM, type SimulatorAction } from '../adapters/simulator/simulator-driver.js';
import { newMessageId, nowSeconds, toJid } from '../adapters/simulator/simulated-phone.js';
import { DEFAULT_FIXTURE, MEDIA_FIXTURES, type SimulatorMediaStash, type StashedFile } from '../adapters/simulator/simulator-media.js';
import type { WaMedia, WaMessageKey } from '../domain/whatsapp-events.js';
import { normalisePhone } from '../domain/session.js';
import { problemResponse, SessionIdParams } from './session-schemas.js';

/**
 * The phone side of the simulator driver, mounted only when WA_DRIVER=simulator: scan the QR,
 * drop the connection, and see what the session sent. Same bearer auth and tenant checks as the API.
 */
export function simulatorRoutes(deps: { db: Db; bus: StreamBus; requireAuth: MiddlewareHandler<AppEnv>; media?: SimulatorMediaStash }) {
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

  if (deps.media) mediaRoutes(deps.media);

  /** The phone sends media: a fixture (JSON) or a file of the caller's (multipart). */
  function mediaRoutes(stash: SimulatorMediaStash) {
    const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const;
    const Metadata = z
      .object({
        mime: z.string().min(1).max(255).nullable(),
        size: z.number().int().nonnegative().nullable(),
        width: z.number().int().positive().nullable(),
        height: z.number().int().positive().nullable(),
        duration: z.number().nonnegative().nullable(),
        fileName: z.string().min(1).max(255).nullable(),
      })
      .partial()
      .strict()
      .openapi({ description: "What WhatsApp's message says of the file, over the fixture's own (null: the phone did not say)" });
    const MediaBody = z
      .object({
        from: jidOrPhone,
        kind: z.enum(MEDIA_KINDS),
        caption: z.string().max(65_536).optional(),
        fixture: z.enum(Object.keys(MEDIA_FIXTURES) as [string, ...string[]]).optional().openapi({ description: 'Default: the kind\'s (photo.jpg, video.mp4, voice.ogg, document.pdf, sticker.webp)' }),
        id: z.string().min(1).max(128).optional(),
        group: z.string().regex(/@g\.us$/, 'must be a group JID (…@g.us)').optional(),
        participant: jidOrPhone.optional(),
        timestamp: z.number().int().positive().optional(),
        pushName: z.string().max(256).optional(),
        ptt: z.boolean().optional().openapi({ description: 'Audio: a voice note (default for the voice.ogg fixture)' }),
        failDownloads: z.number().int().min(0).max(100).optional().openapi({ description: 'The first N downloads of it fail (like an expired link)' }),
        metadata: Metadata.optional(),
      })
      .strict();
    type MediaInput = z.infer<typeof MediaBody>;

    /** Stores the bytes with the phone, then the phone sends the message. */
    const sendMedia = async (sessionId: string, input: MediaInput, messageId: string, stored: StashedFile, defaults: Partial<WaMedia> & { ptt?: boolean }) => {
      const over = input.metadata ?? {};
      const pick = <K extends keyof typeof over>(key: K, fallback: NonNullable<(typeof over)[K]> | null) => (key in over ? (over[key] ?? null) : fallback);
      const media: WaMedia = {
        kind: input.kind,
        mime: pick('mime', defaults.mime ?? null),
        size: pick('size', stored.size),
        width: pick('width', defaults.width ?? null),
        height: pick('height', defaults.height ?? null),
        duration: pick('duration', defaults.duration ?? null),
        fileName: pick('fileName', defaults.fileName ?? null),
      };
      if (input.failDownloads) await stash.failNext(sessionId, messageId, input.failDownloads);
      await send({
        action: 'media',
        sessionId,
        id: messageId,
        from: toJid(input.group ? (input.participant ?? input.from) : input.from),
        group: input.group ?? null,
        caption: input.caption ?? null,
        media,
        ptt: input.ptt ?? defaults.ptt ?? false,
        timestamp: input.timestamp ?? nowSeconds(),
        pushName: input.pushName ?? null,
      });
    };

    // multipart/form-data: fields (kind, from, caption, id, mime, width, height, duration, fileName,
    // ptt, failDownloads), then `file`, streamed to the phone's stash (BODY_LIMIT_BYTES still applies).
    router.post('/simulator/sessions/:id/media', async (c, next) => {
      const contentType = c.req.header('content-type') ?? '';
      if (!/^multipart\/form-data\b/i.test(contentType)) return next();
      const sessionId = c.req.param('id');
      if (!/^[0-9a-f-]{36}$/i.test(sessionId)) throw notFound('session');
      await connected(c.get('auth').tenantId, sessionId);
      const body = requestBody(c);
      if (!body) throw new DomainError('invalid', 'file_required', 'The form has no file: send it in the field `file`');
      let messageId = newMessageId();
      const form = await readForm(body, contentType, (fields, file) => {
        messageId = fields.id || messageId;
        return stash.put(sessionId, messageId, file);
      });
      if (!form.stored) throw new DomainError('invalid', 'file_required', 'The form has no file: send it in the field `file` (after the other fields)');
      const f = form.fields;
      const number = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
      const parsed = MediaBody.safeParse({
        from: f.from,
        kind: f.kind,
        caption: f.caption,
        id: f.id || undefined,
        group: f.group || undefined,
        participant: f.participant || undefined,
        pushName: f.pushName || undefined,
        ptt: f.ptt === undefined ? undefined : f.ptt === 'true',
        failDownloads: number(f.failDownloads),
        metadata: Object.fromEntries(
          (['mime', 'width', 'height', 'duration', 'fileName', 'size'] as const)
            .filter((k) => f[k] !== undefined && f[k] !== '')
            .map((k) => [k, k === 'mime' || k === 'fileName' ? f[k] : Number(f[k])]),
        ),
      });
      if (!parsed.success) {
        throw new DomainError('invalid', 'validation_failed', 'Invalid form fields', {
          errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
      // A file of the caller's: the phone knows only what the form says (and the file's name for a document).
      await sendMedia(sessionId, parsed.data, messageId, form.stored, { fileName: parsed.data.kind === 'document' ? (form.fileName ?? null) : null });
      return c.json({ ids: [messageId] }, 202);
    });

    router.openapi(
      phoneRoute(
        'media',
        'A contact sends an image, video, audio (voice note), document or sticker: a real small fixture file (JSON), or your own file (multipart/form-data with the same fields, then `file`)',
        MediaBody,
      ),
      async (c) => {
        const { id } = c.req.valid('param');
        const input = c.req.valid('json');
        await connected(c.get('auth').tenantId, id);
        const fixture = MEDIA_FIXTURES[input.fixture ?? DEFAULT_FIXTURE[input.kind]]!;
        const messageId = input.id ?? newMessageId();
        const stored = await stash.putFixture(id, messageId, fixture);
        await sendMedia(id, input, messageId, stored, {
          mime: fixture.mime,
          width: fixture.width,
          height: fixture.height,
          duration: fixture.duration,
          fileName: input.kind === 'document' ? fixture.file : null,
          ptt: fixture.ptt,
        });
        return c.json({ ids: [messageId] }, 202);
      },
    );

    router.openapi(
      phoneRoute(
        'media-failures',
        'The next N downloads of a media message fail (WhatsApp answering 410 until the phone uploads it again)',
        z.object({ messageId: z.string().min(1).max(128), count: z.number().int().min(0).max(100) }).strict(),
      ),
      async (c) => {
        const { id } = c.req.valid('param');
        const { messageId, count } = c.req.valid('json');
        await sessionOf(c.get('auth').tenantId, id);
        if (!(await stash.has(id, messageId))) throw new DomainError('not_found', 'message_not_found', `The phone sent no media ${messageId}`);
        await stash.failNext(id, messageId, count);
        return c.json({ ids: [messageId] }, 202);
      },
    );
  }

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

/** The request body as a Node stream: the socket itself under @hono/node-server, else the web body. */
function requestBody(c: Context<AppEnv>): Readable | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && typeof incoming.pipe === 'function' && !incoming.readableDidRead) return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as unknown as WebReadableStream<Uint8Array>) : null;
}

/** A multipart form whose fields come first and whose `file` streams to `store` as it arrives. */
function readForm<T>(
  body: Readable,
  contentType: string,
  store: (fields: Record<string, string>, file: Readable) => Promise<T>,
): Promise<{ fields: Record<string, string>; stored: T | null; fileName: string | null }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 1, fields: 20, fieldSize: 65_536 } });
    } catch (error) {
      reject(new DomainError('invalid', 'malformed_multipart', `Not a multipart/form-data body: ${(error as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let stored: Promise<T> | null = null;
    let fileName: string | null = null;
    const stop = () => {
      body.unpipe(parser);
      body.resume();
    };
    const fail = (error: unknown) => {
      stop();
      reject(new DomainError('invalid', 'malformed_multipart', `Malformed multipart body: ${(error as Error).message}`));
    };
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || stored) {
        stream.resume();
        return;
      }
      fileName = info.filename ?? null;
      stored = store({ ...fields }, stream);
      stored.catch((error) => {
        stream.resume();
        stop();
        reject(error);
      });
    });
    parser.on('error', fail);
    body.on('error', fail);
    parser.on('close', () => {
      if (!stored) return resolve({ fields, stored: null, fileName });
      stored.then((value) => resolve({ fields, stored: value, fileName }), reject);
    });
    body.pipe(parser);
  });
}
