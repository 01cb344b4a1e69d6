import { createRoute, z } from '@hono/zod-openapi';
import type { Db } from '../db/db.js';
import type { Metrics } from '../metrics.js';
import { createRouter } from './app.js';
import { DomainError } from '../../shared/errors.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/** Liveness, readiness (every dependency answers) and, when enabled, Prometheus metrics. */
export function systemRoutes(deps: { db: Db; checks: ReadinessCheck[]; metrics: Metrics | undefined }) {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['system'],
      summary: 'Liveness: the process answers',
      responses: { 200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  const readySchema = z.object({ status: z.enum(['ready', 'unavailable']), checks: z.record(z.string(), z.enum(['ok', 'failing'])) });
  router.openapi(
    createRoute({
      method: 'get',
      path: '/ready',
      tags: ['system'],
      summary: 'Readiness: Postgres and Redis are reachable',
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: readySchema } } },
        503: { description: 'A dependency is unreachable', content: { 'application/problem+json': { schema: z.any() } } },
      },
    }),
    async (c) => {
      const results = await Promise.all(
        deps.checks.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), 2000);
            return [name, 'ok'] as const;
          } catch {
            return [name, 'failing'] as const;
          }
        }),
      );
      const checks = Object.fromEntries(results);
      if (results.every(([, r]) => r === 'ok')) return c.json({ status: 'ready' as const, checks }, 200);
      throw new DomainError('unavailable', 'not_ready', 'A dependency is unreachable', { checks });
    },
  );

  if (deps.metrics) {
    const registry = deps.metrics.registry;
    router.get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }));
  }
  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
