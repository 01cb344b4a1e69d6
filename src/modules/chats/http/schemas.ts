import { z } from '@hono/zod-openapi';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;

/** `?limit&cursor` of every list: limit 1..200 (default 50), cursor as a previous page gave it. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE).openapi({ param: { name: 'limit', in: 'query' }, example: 50 }),
  cursor: z.string().min(1).max(1024).optional().openapi({ param: { name: 'cursor', in: 'query' }, description: 'nextCursor of the previous page' }),
});

export const pageSchema = <T extends z.ZodTypeAny>(item: T, name: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string(), code: z.string() }) } },
});

export const JidParams = z.object({
  jid: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: 'jid', in: 'path' }, description: 'A phone JID, a LID or phone digits (URL-encoded)', example: '51999999999@s.whatsapp.net' }),
});

export const ChatSchema = z
  .object({
    jid: z.string(),
    phone: z.string().nullable(),
    lid: z.string().nullable(),
    name: z.string().nullable(),
    unreadCount: z.number().int(),
    lastMessage: z
      .object({ id: z.string(), text: z.string().nullable(), type: z.string().nullable(), timestamp: z.number().int(), fromMe: z.boolean() })
      .nullable(),
    lastMessageAt: z.number().int().nullable().openapi({ description: 'Unix seconds of the latest activity' }),
  })
  .openapi('Chat');

export const MessageSchema = z
  .object({
    id: z.string(),
    chatJid: z.string(),
    fromMe: z.boolean(),
    participant: z.string().nullable(),
    timestamp: z.number().int().openapi({ description: 'Unix seconds' }),
    type: z.string().nullable(),
    text: z.string().nullable(),
    status: z.enum(['pending', 'sent', 'delivered', 'read', 'played', 'failed']).nullable(),
    editedAt: z.number().int().nullable(),
    deletedAt: z.number().int().nullable(),
    quotedMessageId: z.string().nullable(),
    quoted: z.object({ id: z.string(), text: z.string().nullable(), type: z.string().nullable(), fromMe: z.boolean() }).nullable(),
    reactions: z.array(z.object({ emoji: z.string(), count: z.number().int(), actors: z.array(z.string()) })),
    media: z
      .object({
        kind: z.string(),
        url: z.string().nullable(),
        mime: z.string().nullable(),
        size: z.number().nullable(),
        width: z.number().nullable(),
        height: z.number().nullable(),
        duration: z.number().nullable(),
        reason: z.string().optional().openapi({ description: 'Why url is null: too_large, download_failed, not_downloadable' }),
      })
      .nullable()
      .openapi({ description: 'The stored media, as the seed: null until the media job has finished with it' }),
    pushName: z.string().nullable(),
  })
  .openapi('Message');
