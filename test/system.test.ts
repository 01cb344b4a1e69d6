import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from './support/services.js';
import { startTestWahub, type TestWahub } from './support/wahub.js';

describe.each(MODES)('system endpoints (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode, { METRICS_ENABLED: 'true' });
  });
  afterAll(async () => wahub?.stop());

  it('answers liveness and readiness with every dependency', async () => {
    expect(await (await wahub.request('GET', '/health')).json()).toEqual({ status: 'ok' });
    const ready = await wahub.request('GET', '/ready');
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, string> };
    expect(body.checks).toEqual(mode === 'real' ? { postgres: 'ok', redis: 'ok' } : { postgres: 'ok' });
  });

  it('serves the OpenAPI document', async () => {
    const doc = (await (await wahub.request('GET', '/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/health');
  });

  it('answers unknown routes with a problem document', async () => {
    const res = await wahub.request('GET', '/nowhere?accessToken=secret');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 404, code: 'route_not_found', title: 'Not Found' });
    expect(String(body.detail)).not.toContain('secret');
  });

  it('exposes Prometheus metrics', async () => {
    await wahub.request('GET', '/health');
    const text = await (await wahub.request('GET', '/metrics')).text();
    expect(text).toMatch(/wahub_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
    expect(text).toContain('wahub_outbox_backlog 0');
    expect(text).toContain('wahub_process_cpu_user_seconds_total');
  });
});
