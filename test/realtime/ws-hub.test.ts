import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { connectWs, signUpAndLogin } from '../support/clients.js';
import { JoseAccessTokenCodec } from '../../src/modules/auth/adapters/jose-access-token.codec.js';
import { systemClock } from '../../src/platform/clock.js';

describe.each(MODES)('WebSocket hub (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode, { WA_DRIVER: 'simulator', CORS_ORIGINS: 'https://app.example.com' });
  });
  afterAll(async () => wahub?.stop());

  it('closes with 4401 before any event when the token is missing, invalid or forged', async () => {
    for (const query of <Record<string, string>[]>[{}, { accessToken: 'not-a-jwt' }, { accessToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }, { ticket: 'nope' }]) {
      const ws = connectWs(wahub.url, query);
      const closed = await ws.closed;
      expect(closed.code).toBe(4401);
      expect(ws.events).toEqual([]);
    }
  });

  it('refuses a browser origin outside the allow-list and accepts one inside it', async () => {
    const user = await signUpAndLogin(wahub, 'origin');
    const evil = connectWs(wahub.url, { accessToken: user.accessToken }, { origin: 'https://evil.example.com' });
    await expect(evil.opened).rejects.toThrow(/403/);
    const good = connectWs(wahub.url, { accessToken: user.accessToken }, { origin: 'https://app.example.com' });
    await good.next('session.snapshot');
    good.close();
  });

  it("delivers each tenant's events to that tenant only", async () => {
    const a = await signUpAndLogin(wahub, 'tenant-a');
    const b = await signUpAndLogin(wahub, 'tenant-b');
    const wsA = connectWs(wahub.url, { accessToken: a.accessToken });
    const wsB = connectWs(wahub.url, { accessToken: b.accessToken });
    try {
      await wsA.next('session.snapshot');
      await wsB.next('session.snapshot');
      const sa = (await (await wahub.request('POST', '/sessions', { token: a.accessToken })).json()) as { session: { id: string } };
      await wsA.next('session.qr.updated');
      const sb = (await (await wahub.request('POST', '/sessions', { token: b.accessToken })).json()) as { session: { id: string } };
      await wsB.next('session.qr.updated');
      await wahub.request('POST', `/simulator/sessions/${sa.session.id}/scan`, { token: a.accessToken, body: { phone: '51911111111' } });
      await wsA.next('session.status.connected');
      // B's stream has B's events only, A's has A's only.
      expect(wsB.events.every((e) => e.payload.tenantId === b.tenantId)).toBe(true);
      expect(wsA.events.every((e) => e.payload.tenantId === a.tenantId)).toBe(true);
      expect(wsB.events.some((e) => e.sessionId === sa.session.id)).toBe(false);
      // And B cannot act on A's session: another tenant's id is 404, as if absent.
      expect((await wahub.request('POST', `/sessions/${sa.session.id}/stop`, { token: b.accessToken })).status).toBe(404);
      expect((await wahub.request('DELETE', `/sessions/${sa.session.id}`, { token: b.accessToken })).status).toBe(404);
      expect((await wahub.request('POST', `/simulator/sessions/${sa.session.id}/scan`, { token: b.accessToken, body: { phone: '51900000000' } })).status).toBe(404);
      void sb;
    } finally {
      wsA.close();
      wsB.close();
    }
  });

  it('replays what a client missed after `since`, and says when it cannot', async () => {
    const user = await signUpAndLogin(wahub, 'resume');
    const first = connectWs(wahub.url, { accessToken: user.accessToken });
    await first.next('session.snapshot');
    const { session } = (await (await wahub.request('POST', '/sessions', { token: user.accessToken })).json()) as { session: { id: string } };
    const created = await first.next('session.created');
    await first.next('session.qr.updated');
    first.close();
    await first.closed;

    // Missed while offline: the scan and the connection.
    await wahub.request('POST', `/simulator/sessions/${session.id}/scan`, { token: user.accessToken, body: { phone: '51922222222' } });
    await new Promise((r) => setTimeout(r, 500));

    const second = connectWs(wahub.url, { accessToken: user.accessToken, since: created.eventId });
    const snapshot = await second.next('session.snapshot');
    expect(snapshot.payload.resumed).toBe(true);
    const replayedQr = await second.next('session.qr.updated');
    expect(replayedQr.eventId).not.toBe(created.eventId);
    await second.next('session.status.connected');
    // Nothing before `since` comes again.
    expect(second.events.some((e) => e.eventId === created.eventId)).toBe(false);
    second.close();

    const unknown = connectWs(wahub.url, { accessToken: user.accessToken, since: '00000000-0000-7000-8000-000000000000' });
    expect((await unknown.next('session.snapshot')).payload.resumed).toBe(false);
    unknown.close();
  });

  it('accepts a single-use ticket instead of the token in the URL', async () => {
    const user = await signUpAndLogin(wahub, 'ticket');
    const res = await wahub.request('POST', '/ws/ticket', { token: user.accessToken });
    expect(res.status).toBe(201);
    const { ticket, expiresIn } = (await res.json()) as { ticket: string; expiresIn: number };
    expect(expiresIn).toBe(60);
    const ws = connectWs(wahub.url, { ticket });
    expect((await ws.next('session.snapshot')).payload.tenantId).toBe(user.tenantId);
    ws.close();
    const reused = connectWs(wahub.url, { ticket });
    expect((await reused.closed).code).toBe(4401);
    expect((await wahub.request('POST', '/ws/ticket')).status).toBe(401);
  });

  it('closes the socket with 4401 when its access token expires', async () => {
    const user = await signUpAndLogin(wahub, 'expiry');
    const codec = new JoseAccessTokenCodec({ secret: wahub.resources.jwtSecret, ttlSeconds: 2, clock: systemClock });
    const { token } = await codec.sign({ userId: user.userId, tenantId: user.tenantId, tokenVersion: 0 });
    const ws = connectWs(wahub.url, { accessToken: token });
    await ws.next('session.snapshot');
    const closed = await ws.closed;
    expect(closed.code).toBe(4401);
  });

  it('closes the sockets of a user who logs out everywhere', async () => {
    const user = await signUpAndLogin(wahub, 'logout-all');
    const ws = connectWs(wahub.url, { accessToken: user.accessToken });
    await ws.next('session.snapshot');
    expect((await wahub.request('POST', '/auth/logout-all', { token: user.accessToken })).status).toBeLessThan(300);
    expect((await ws.closed).code).toBe(4401);
  });
});
