import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import type { MessagingUseCases } from '../application/messaging-use-cases.js';
import { problemResponse, SessionIdParams } from './session-schemas.js';

const Jid = z.string().min(3).max(128).openapi({ description: 'A WhatsApp JID (URL-encoded), a LID, or bare phone digits', example: '51999999999@s.whatsapp.net' });
const MessageId = z.string().min(1).max(128);
const JidParams = z.object({ jid: Jid.openapi({ param: { name: 'jid', in: 'path' } }) });
const MessageParams = JidParams.extend({ messageId: MessageId.openapi({ param: { name: 'messageId', in: 'path' } }) });

const SendBody = z
  .object({
    content: z.string().max(65_536).optional().openapi({ description: 'Text; with replyToMessageId a reply; with mediaId the caption' }),
    replyToMessageId: MessageId.optional(),
    forwardMessageId: MessageId.optional().openapi({ description: 'Forward this stored message (alone)' }),
    mediaId: z
      .string()
      .uuid()
      .optional()
      .openapi({ description: 'Send this upload of POST /media (image, video, audio: Ogg/Opus as a voice note, document, sticker: WebP); content is its caption (images, videos, documents)' }),
  })
  .strict();
const Accepted = z.object({ requestId: z.string().uuid() }).openapi('CommandAccepted');

const acceptedResponses = {
  202: { description: 'Queued; the outcome arrives on the WebSocket with this requestId (or as session.command.failed)', content: { 'application/json': { schema: Accepted } } },
  400: problemResponse('Invalid input'),
  403: problemResponse('Not your message'),
  404: problemResponse('No such session, chat or message'),
  409: problemResponse('The session is not connected, or the message cannot be changed'),
};

/** Sending and acting on messages: every route queues a command for the session worker. */
export function messagingRoutes(deps: { messaging: MessagingUseCases; requireAuth: MiddlewareHandler<AppEnv> }) {
  const router = createRouter();
  const security = [{ bearer: [] }];
  router.use('/chats/*', deps.requireAuth);
  router.use('/sessions/*', deps.requireAuth);
  const { messaging } = deps;

  router.openapi(
    createRoute({
      method: 'post',
      path: '/chats/{jid}/messages',
      tags: ['messages'],
      security,
      summary: 'Send a text, a reply (replyToMessageId), a forward (forwardMessageId) or media (mediaId, content as caption)',
      request: { params: JidParams, body: { required: true, content: { 'application/json': { schema: SendBody } } } },
      responses: acceptedResponses,
    }),
    async (c) => {
      const { jid } = c.req.valid('param');
      return c.json(await messaging.send({ tenantId: c.get('auth').tenantId, to: jid, ...c.req.valid('json') }), 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/sessions/{id}/messages',
      tags: ['messages'],
      security,
      summary: 'Send from a session: the same as POST /chats/{jid}/messages with `to` in the body',
      request: { params: SessionIdParams, body: { required: true, content: { 'application/json': { schema: SendBody.extend({ to: Jid }).strict() } } } },
      responses: acceptedResponses,
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json(await messaging.send({ tenantId: c.get('auth').tenantId, sessionId: id, ...c.req.valid('json') }), 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/chats/{jid}/read',
      tags: ['messages'],
      security,
      summary: 'Mark messages as read (read receipts to the sender)',
      request: {
        params: JidParams,
        body: { required: true, content: { 'application/json': { schema: z.object({ messageIds: z.array(MessageId).min(1).max(500) }).strict() } } },
      },
      responses: acceptedResponses,
    }),
    async (c) => {
      const { jid } = c.req.valid('param');
      return c.json(await messaging.read({ tenantId: c.get('auth').tenantId, chat: jid, messageIds: c.req.valid('json').messageIds }), 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/chats/{jid}/messages/{messageId}',
      tags: ['messages'],
      security,
      summary: 'Edit one of your text messages',
      request: {
        params: MessageParams,
        body: { required: true, content: { 'application/json': { schema: z.object({ content: z.string().min(1).max(65_536) }).strict() } } },
      },
      responses: acceptedResponses,
    }),
    async (c) => {
      const { jid, messageId } = c.req.valid('param');
      return c.json(await messaging.edit({ tenantId: c.get('auth').tenantId, chat: jid, messageId, content: c.req.valid('json').content }), 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/chats/{jid}/messages/{messageId}',
      tags: ['messages'],
      security,
      summary: 'Delete one of your messages for everyone',
      request: { params: MessageParams },
      responses: acceptedResponses,
    }),
    async (c) => {
      const { jid, messageId } = c.req.valid('param');
      return c.json(await messaging.delete({ tenantId: c.get('auth').tenantId, chat: jid, messageId }), 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/chats/{jid}/messages/{messageId}/reactions',
      tags: ['messages'],
      security,
      summary: 'React with an emoji, or withdraw your reaction with {"emoji": null}',
      request: {
        params: MessageParams,
        body: { required: true, content: { 'application/json': { schema: z.object({ emoji: z.string().min(1).max(32).nullable() }).strict() } } },
      },
      responses: acceptedResponses,
    }),
    async (c) => {
      const { jid, messageId } = c.req.valid('param');
      return c.json(await messaging.react({ tenantId: c.get('auth').tenantId, chat: jid, messageId, emoji: c.req.valid('json').emoji }), 202);
    },
  );
  return router;
}
