import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { getConnInfo } from '@hono/node-server/conninfo';
import { DomainError } from '../../shared/errors.js';
import type { Logger } from '../logger.js';
import { redactUrl } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { problem, sendProblem, STATUS_BY_KIND } from './problem.js';

export interface AuthContext {
  userId: string;
  tenantId: string;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    clientIp: string;
    auth: AuthContext;
  };
};

export type App = OpenAPIHono<AppEnv>;

export interface HttpOptions {
  logger: Logger;
  metrics: Metrics | undefined;
  corsOrigins: string[];
  bodyLimitBytes: number;
  /** Routes that stream their body and enforce their own limit (POST /media): BODY_LIMIT_BYTES skips them. */
  bodyLimitExempt?: { method: string; path: string }[];
  trustProxyHops: number;
}

/** Validation failures as 400 problem documents listing each invalid field. */
export function createRouter(): App {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const errors = result.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(body)',
        message: issue.message,
      }));
      return sendProblem(
        c,
        problem(400, 'validation_failed', `Invalid ${result.target}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
          errors,
        }),
      );
    },
  });
}

function clientIp(c: Context, trustProxyHops: number): string {
  let socketIp = 'unknown';
  try {
    socketIp = getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // Not served by @hono/node-server (app.request in tests): no socket to read.
  }
  if (trustProxyHops === 0) return socketIp;
  // Only the hops we trust may have appended to X-Forwarded-For: count from the right.
  const forwarded = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return forwarded[forwarded.length - trustProxyHops] ?? forwarded[0] ?? socketIp;
}

export function createHttpApp(options: HttpOptions): App {
  const app = createRouter();
  const { logger, metrics } = options;

  app.use('*', requestId({ headerName: 'X-Request-Id' }));
  app.use('*', async (c, next) => {
    c.set('clientIp', clientIp(c, options.trustProxyHops));
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    const route = c.req.routePath || 'unmatched';
    const status = c.res.status;
    metrics?.httpRequests.inc({ method: c.req.method, route, status });
    metrics?.httpDuration.observe({ method: c.req.method, route, status }, ms / 1000);
    logger[status >= 500 ? 'error' : 'info'](
      { requestId: c.get('requestId'), method: c.req.method, path: redactUrl(c.req.path), route, status, ms: Math.round(ms * 10) / 10 },
      'request',
    );
  });
  if (options.corsOrigins.length > 0) {
    app.use(
      '*',
      cors({
        origin: (origin) => (options.corsOrigins.includes('*') || options.corsOrigins.includes(origin) ? origin : null),
        credentials: true,
        allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
        exposeHeaders: ['X-Request-Id', 'Retry-After'],
        maxAge: 600,
      }) as MiddlewareHandler,
    );
  }
  const limitBody = bodyLimit({
    maxSize: options.bodyLimitBytes,
    onError: (c) => sendProblem(c, problem(413, 'body_too_large', `The body exceeds ${options.bodyLimitBytes} bytes`)),
  });
  const exempt = options.bodyLimitExempt ?? [];
  app.use('*', (c, next) =>
    exempt.some((e) => e.method === c.req.method && e.path === c.req.path.replace(/\/+$/, '')) ? next() : limitBody(c, next),
  );

  app.notFound((c) => sendProblem(c, problem(404, 'route_not_found', `No route for ${c.req.method} ${redactUrl(c.req.path)}`)));
  app.onError((error, c) => {
    if (error instanceof DomainError) {
      const status = STATUS_BY_KIND[error.kind];
      const headers: Record<string, string> = {};
      if (typeof error.details.retryAfterSeconds === 'number') headers['Retry-After'] = String(error.details.retryAfterSeconds);
      return sendProblem(c, problem(status, error.code, error.message, error.details), headers);
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      const code = status === 400 ? 'malformed_request' : `http_${status}`;
      return sendProblem(c, problem(status, code, error.message || 'Request rejected'));
    }
    logger.error({ err: error, requestId: c.get('requestId'), path: redactUrl(c.req.path) }, 'unhandled error');
    return sendProblem(c, problem(500, 'internal_error', 'Something went wrong on our side; the request id identifies it in our logs'));
  });
  return app;
}
