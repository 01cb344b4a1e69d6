import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { connectWs, eventually, signUpAndLogin, type TestSocket } from '../support/clients.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(MODES)('session lifecycle over HTTP and WebSocket with the simulator (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode, { WA_DRIVER: 'simulator', WORKER_SHARDS: '4' });
  });
  afterAll(async () => wahub?.stop());

  it('creates, shows a QR, connects on scan, stops, resumes without a QR, and deletes', async () => {
    const user = await signUpAndLogin(wahub, 'ada');
    const ws = connectWs(wahub.url, { accessToken: user.accessToken });
    try {
      const snapshot = await ws.next('session.snapshot');
      expect(snapshot).toEqual({
        type: 'session.snapshot',
        sessionId: null,
        eventId: expect.stringMatching(UUID),
        occurredOn: expect.stringMatching(ISO),
        payload: { tenantId: user.tenantId, session: null },
      });
      expect(await (await wahub.request('GET', '/sessions', { token: user.accessToken })).json()).toBeNull();

      const created = await wahub.request('POST', '/sessions', { token: user.accessToken });
      expect(created.status).toBe(201);
      const { session, requestId } = (await created.json()) as { session: Record<string, any>; requestId: string };
      expect(session).toMatchObject({ tenantId: user.tenantId, status: 'starting', phone: null, qr: null });
      expect(requestId).toMatch(UUID);

      const createdEvent = await ws.next('session.created');
      expect(createdEvent).toEqual({
        type: 'session.created',
        sessionId: session.id,
        eventId: expect.stringMatching(UUID),
        occurredOn: expect.stringMatching(ISO),
        payload: { tenantId: user.tenantId, id: session.id, status: 'starting', createdAt: session.createdAt },
      });
      const qr = await ws.next('session.qr.updated');
      expect(qr.sessionId).toBe(session.id);
      expect(qr.payload).toEqual({ tenantId: user.tenantId, qr: expect.stringMatching(/^2@[^,]+,[^,]+,[^,]+,[^,]+$/), expiresAt: expect.stringMatching(ISO) });
      expect(new Date(qr.payload.expiresAt).getTime()).toBeGreaterThan(Date.now());

      // A second POST while it runs is a conflict.
      expect((await wahub.request('POST', '/sessions', { token: user.accessToken })).status).toBe(409);

      const scan = await wahub.request('POST', `/simulator/sessions/${session.id}/scan`, { token: user.accessToken, body: { phone: '51999999999' } });
      expect(scan.status).toBe(202);
      const connected = await ws.next('session.status.connected');
      expect(connected.payload).toEqual({ tenantId: user.tenantId, phone: '51999999999', connectedAt: expect.stringMatching(ISO) });

      const current = (await (await wahub.request('GET', '/sessions', { token: user.accessToken })).json()) as Record<string, any>;
      expect(current).toMatchObject({ id: session.id, status: 'connected', phone: '51999999999', qr: null, qrExpiresAt: null });

      const stop = await wahub.request('POST', `/sessions/${session.id}/stop`, { token: user.accessToken });
      expect(stop.status).toBe(202);
      const stopped = await ws.next('session.status.disconnected');
      expect(stopped.payload).toEqual({ tenantId: user.tenantId, reason: 'stopped', disconnectedAt: expect.stringMatching(ISO) });
      await eventually(async () => ((await (await wahub.request('GET', '/sessions', { token: user.accessToken })).json()) as any)?.status === 'stopped');

      const mark = ws.events.length;
      const restart = await wahub.request('POST', '/sessions', { token: user.accessToken });
      expect(restart.status).toBe(200);
      expect(((await restart.json()) as any).session.id).toBe(session.id);
      await ws.next('session.status.connected');
      expect(ws.events.slice(mark).map((e) => e.type)).not.toContain('session.qr.updated');

      const removed = await wahub.request('DELETE', `/sessions/${session.id}`, { token: user.accessToken });
      expect(removed.status).toBe(202);
      const deleted = await ws.next((e) => e.type === 'session.status.disconnected' && e.payload.reason === 'deleted');
      expect(deleted.sessionId).toBe(session.id);
      expect(await (await wahub.request('GET', '/sessions', { token: user.accessToken })).json()).toBeNull();
      // The login is gone: the simulator's linked device was wiped.
      await eventually(async () => (await wahub.resources.db.query(`select 1 from simulator_devices where session_id = $1`, [session.id])).length === 0);

      // A new session may be created at once, and it needs a new QR.
      const again = await wahub.request('POST', '/sessions', { token: user.accessToken });
      expect(again.status).toBe(201);
      await ws.next('session.qr.updated');
    } finally {
      ws.close();
    }
  });

  it('pairs by phone number with a pairing code, and a new connection gets the full snapshot', async () => {
    const user = await signUpAndLogin(wahub, 'pairing');
    const ws = connectWs(wahub.url, { accessToken: user.accessToken });
    try {
      await ws.next('session.snapshot');
      expect((await wahub.request('POST', '/sessions', { token: user.accessToken, body: { phoneNumber: 'abc' } })).status).toBe(400);
      const res = await wahub.request('POST', '/sessions', { token: user.accessToken, body: { phoneNumber: '+51 999 888 777' } });
      expect(res.status).toBe(201);
      const { session } = (await res.json()) as { session: { id: string } };
      const code = await ws.next('session.pairing.code');
      expect(code.payload).toEqual({ tenantId: user.tenantId, code: expect.stringMatching(/^[A-Z0-9]{8}$/), expiresAt: expect.stringMatching(ISO) });
      expect(ws.events.some((e) => e.type === 'session.qr.updated')).toBe(false);
      await wahub.request('POST', `/simulator/sessions/${session.id}/scan`, { token: user.accessToken, body: { phone: '51999888777' } });
      await ws.next('session.status.connected');

      const again = connectWs(wahub.url, { accessToken: user.accessToken });
      const snapshot = await again.next('session.snapshot');
      expect(snapshot.sessionId).toBe(session.id);
      expect(snapshot.payload).toEqual({
        tenantId: user.tenantId,
        session: {
          id: session.id,
          tenantId: user.tenantId,
          status: 'connected',
          phone: '51999888777',
          qr: null,
          qrExpiresAt: null,
          connectedAt: expect.stringMatching(ISO),
          disconnectedAt: null,
          disconnectedReason: null,
          createdAt: expect.stringMatching(ISO),
          updatedAt: expect.stringMatching(ISO),
        },
      });
      again.close();
    } finally {
      ws.close();
    }
  });

  it('reconnects after connection_lost, ends on logged_out, and reports connection_replaced', async () => {
    const user = await signUpAndLogin(wahub, 'grace');
    const ws = connectWs(wahub.url, { accessToken: user.accessToken });
    try {
      await ws.next('session.snapshot');
      const { session } = (await (await wahub.request('POST', '/sessions', { token: user.accessToken })).json()) as { session: { id: string } };
      await ws.next('session.qr.updated');
      await wahub.request('POST', `/simulator/sessions/${session.id}/scan`, { token: user.accessToken, body: { phone: '51888888888' } });
      await ws.next('session.status.connected');

      await wahub.request('POST', `/simulator/sessions/${session.id}/disconnect`, { token: user.accessToken, body: { reason: 'connection_lost' } });
      expect((await ws.next('session.status.disconnected')).payload.reason).toBe('connection_lost');
      await ws.next('session.status.connected', { timeoutMs: 20_000 });

      await wahub.request('POST', `/simulator/sessions/${session.id}/disconnect`, { token: user.accessToken, body: { reason: 'connection_replaced' } });
      expect((await ws.next('session.status.disconnected')).payload.reason).toBe('connection_replaced');
      await eventually(async () => ((await (await wahub.request('GET', '/sessions', { token: user.accessToken })).json()) as any).status === 'disconnected');

      // Start again: the login was kept, so it connects without a QR; then WhatsApp logs it out.
      expect((await wahub.request('POST', '/sessions', { token: user.accessToken })).status).toBe(200);
      await ws.next('session.status.connected');
      await wahub.request('POST', `/simulator/sessions/${session.id}/disconnect`, { token: user.accessToken, body: { reason: 'logged_out' } });
      expect((await ws.next('session.status.disconnected')).payload.reason).toBe('logged_out');
      await eventually(async () => (await wahub.resources.db.query(`select 1 from simulator_devices where session_id = $1`, [session.id])).length === 0);
      const after = (await (await wahub.request('GET', '/sessions', { token: user.accessToken })).json()) as Record<string, any>;
      expect(after).toMatchObject({ status: 'disconnected', disconnectedReason: 'logged_out' });

      // Logged out: a new start needs a new QR.
      expect((await wahub.request('POST', '/sessions', { token: user.accessToken })).status).toBe(200);
      await ws.next('session.qr.updated');
    } finally {
      ws.close();
    }
  });
});

describe('QR timeout (embedded)', () => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub('embedded', { WA_DRIVER: 'simulator', SIMULATOR_QR_TTL_MS: '300' });
  });
  afterAll(async () => wahub?.stop());

  it('announces each QR once and stops with qr_timeout when the refs run out', async () => {
    const user = await signUpAndLogin(wahub, 'timeout');
    const ws = connectWs(wahub.url, { accessToken: user.accessToken });
    try {
      await ws.next('session.snapshot');
      await wahub.request('POST', '/sessions', { token: user.accessToken });
      const ended = await ws.next('session.status.disconnected', { timeoutMs: 20_000 });
      expect(ended.payload.reason).toBe('qr_timeout');
      const qrs = ws.events.filter((e) => e.type === 'session.qr.updated').map((e) => e.payload.qr);
      expect(qrs.length).toBe(6);
      expect(new Set(qrs).size).toBe(6);
    } finally {
      ws.close();
    }
  });
});
