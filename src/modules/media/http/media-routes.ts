import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Db } from '../../../platform/db/db.js';
import type { Logger } from '../../../platform/logger.js';
import { createRouter, type AppEnv } from '../../../platform/http/app.js';
import { DomainError } from '../../../shared/errors.js';
import { MEDIA_KINDS, tenantMediaPrefix, type MediaKind, type MediaStorage } from '../domain/media.js';
import { LOCAL_FILES_PATH, type LocalMediaStorage } from '../adapters/local-media-storage.js';
import { mediaTooLarge } from '../application/media-intake.js';
import { uploadMedia } from '../application/upload-media.use-case.js';
import { multipartParts } from './multipart.js';

/** Room for the form's boundaries, part headers and small fields around the file. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

export const MediaSchema = z
  .object({
    id: z.string().uuid(),
    kind: z.enum(MEDIA_KINDS),
    url: z.string().openapi({ description: 'S3/R2: the public-bucket URL. Local disk: GET /media/files/<key> on this API (bearer, same tenant only).' }),
    mime: z.string().openapi({ example: 'image/jpeg', description: 'Detected from the bytes, never taken from the client' }),
    size: z.number().int(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    duration: z.number().nullable().openapi({ description: 'Seconds (audio, video)' }),
  })
  .openapi('MediaUpload');

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string(), code: z.string() }) } },
});

const notFoundFile = () => new DomainError('not_found', 'media_file_not_found', 'media file not found');

export interface MediaRoutesDeps {
  db: Db;
  storage: MediaStorage;
  /** Set when files are on local disk: GET /media/files/* serves them. */
  local: LocalMediaStorage | undefined;
  limits: Record<MediaKind, number>;
  requireAuth: MiddlewareHandler<AppEnv>;
  logger: Logger;
}

/** The request body as a Node stream: the socket itself under @hono/node-server, else the web body. */
function requestBody(c: Context<AppEnv>): Readable | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && typeof incoming.pipe === 'function' && !incoming.readableDidRead) return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as unknown as WebReadableStream<Uint8Array>) : null;
}

const INLINE = /^(image|video|audio)\//;

/** A web stream that reads the file only as the client takes it (backpressure), closing it when cancelled. */
function pullStream(node: Readable): ReadableStream<Uint8Array> {
  const chunks = node[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}

export function mediaRoutes(deps: MediaRoutesDeps) {
  const router = createRouter();
  const security = [{ bearer: [] }];
  router.use('/media', deps.requireAuth);
  router.use('/media/*', deps.requireAuth);
  const largest = Math.max(...MEDIA_KINDS.map((k) => deps.limits[k]));

  // Documented here, routed with router.post: an OpenAPI form body would be parsed whole by the
  // validator, and this route must stream.
  router.openAPIRegistry.registerPath({
    method: 'post',
    path: '/media',
    tags: ['media'],
    security,
    summary: 'Upload a file to send later with POST /chats/{jid}/messages {mediaId}',
    description:
      'multipart/form-data with `kind` (image, video, audio, document, sticker), optional `sessionId` and `file`. ' +
      'The type is read from the bytes (image: JPEG/PNG/WebP; video: MP4/3GP; audio: Ogg/Opus, MPEG, MP4/M4A, AAC, AMR; sticker: WebP; document: anything). ' +
      `Limits per kind (bytes): ${MEDIA_KINDS.map((k) => `${k} ${deps.limits[k]}`).join(', ')}. Send \`kind\` before \`file\` to be refused before the upload is stored.`,
    request: {
      body: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: z.object({
              kind: z.enum(MEDIA_KINDS),
              sessionId: z.string().uuid().optional(),
              file: z.string().openapi({ type: 'string', format: 'binary' }),
            }),
          },
        },
      },
    },
    responses: {
      201: { description: 'Stored', content: { 'application/json': { schema: MediaSchema } } },
      400: problem('`file_required`, `media_type_mismatch` (the bytes are not of that kind), `validation_failed` (kind), `file_empty`, `malformed_multipart`'),
      404: problem('`session_not_found`'),
      413: problem('`media_too_large`: the file passes the limit of its kind'),
    },
  });

  router.post('/media', async (c) => {
    const contentType = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data\b/i.test(contentType)) {
      throw new DomainError('invalid', 'multipart_required', 'Send the file as multipart/form-data with the fields kind and file');
    }
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > largest + MULTIPART_OVERHEAD_BYTES) throw mediaTooLarge(largest);
    const body = requestBody(c);
    if (!body) throw new DomainError('invalid', 'file_required', 'The form has no file: send it in the field `file`');
    const parts = multipartParts(body, contentType, { fields: 8, fieldSize: 1024, parts: 12 });
    const upload = await uploadMedia(deps, c.get('auth').tenantId, parts);
    const { id, kind, url, mime, size, width, height, duration } = upload;
    return c.json({ id, kind, url, mime, size, width, height, duration }, 201);
  });

  if (deps.local) {
    const local = deps.local;
    router.openAPIRegistry.registerPath({
      method: 'get',
      path: `${LOCAL_FILES_PATH}/{key}`,
      tags: ['media'],
      security,
      summary: "A media file stored on local disk (only to a user of the file's tenant)",
      request: { params: z.object({ key: z.string().openapi({ param: { name: 'key', in: 'path' }, description: 'tenants/<tenantId>/…' }) }) },
      responses: {
        200: { description: 'The file, with its content type and length', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
        404: problem('No such file, or another tenant’s'),
      },
    });
    router.get(`${LOCAL_FILES_PATH}/*`, async (c) => {
      const raw = new URL(c.req.url).pathname.slice(LOCAL_FILES_PATH.length + 1);
      let key: string;
      try {
        key = raw.split('/').map(decodeURIComponent).join('/');
      } catch {
        throw notFoundFile();
      }
      // Keys carry their tenant: another tenant's file is absent, as any other tenant's row.
      if (!key.startsWith(tenantMediaPrefix(c.get('auth').tenantId))) throw notFoundFile();
      let file;
      try {
        file = await local.open(key);
      } catch (error) {
        if (error instanceof DomainError && error.code === 'invalid_media_key') throw notFoundFile();
        throw error;
      }
      const name = key.slice(key.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._-]+/g, '_');
      return new Response(pullStream(file.stream), {
        status: 200,
        headers: {
          'Content-Type': file.contentType,
          'Content-Length': String(file.size),
          'Cache-Control': 'private, max-age=86400',
          'X-Content-Type-Options': 'nosniff',
          // Uploaded content is never run as a page of this origin.
          'Content-Security-Policy': "default-src 'none'; sandbox",
          'Content-Disposition': `${INLINE.test(file.contentType) ? 'inline' : 'attachment'}; filename="${name}"`,
        },
      });
    });
  }
  return router;
}
