import { z } from '@hono/zod-openapi';
import { SESSION_STATUSES } from '../domain/session.js';

export const SessionSchema = z
  .object({
    id: z.string().uuid(),
    tenantId: z.string().uuid(),
    status: z.enum(SESSION_STATUSES),
    phone: z.string().nullable(),
    qr: z.string().nullable(),
    qrExpiresAt: z.string().nullable(),
    connectedAt: z.string().nullable(),
    disconnectedAt: z.string().nullable(),
    disconnectedReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Session');

export const StartSessionBody = z
  .object({
    phoneNumber: z
      .string()
      .max(32)
      .optional()
      .openapi({ description: 'Pair with a code typed on this phone instead of scanning a QR (digits, E.164 without +)', example: '51999999999' }),
  })
  .strict();

export const SessionIdParams = z.object({ id: z.string().uuid().openapi({ param: { name: 'id', in: 'path' } }) });

export const SessionWithRequest = z.object({ session: SessionSchema, requestId: z.string().uuid() }).openapi('SessionCommandAccepted');

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string(), code: z.string() }) } },
});
