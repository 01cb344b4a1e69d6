import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import {
  createVerifiedUser,
  decodeJwt,
  expectProblem,
  login,
  me,
  refresh,
  refreshCookieOf,
  setCookieHeader,
  waitFor,
  type SessionBody,
  type UserBody,
} from './auth-helpers.js';

describe.each(MODES)('refresh, logout and logout-all (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode);
  });
  afterAll(async () => wahub?.stop());

  async function refreshOk(cookie: string): Promise<{ body: SessionBody; cookie: string; res: Response }> {
    const res = await refresh(wahub, cookie);
    expect(res.status, await res.clone().text()).toBe(200);
    const next = refreshCookieOf(res);
    expect(next).toBeDefined();
    return { body: (await res.json()) as SessionBody, cookie: next!, res };
  }

  describe('POST /auth/refresh', () => {
    it('rotates: a new access token (same shape as login) and a new refresh cookie; the old one stops working', async () => {
      const { user, email } = await createVerifiedUser(wahub);
      const first = await login(wahub, email);
      const second = await refreshOk(first.cookie);
      expect(second.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, user: first.body.user });
      expect(second.cookie).not.toBe(first.cookie);
      expect(second.body.accessToken).not.toBe(first.body.accessToken);
      expect(decodeJwt(second.body.accessToken)).toMatchObject({ sub: user.id, tid: user.tenantId, ver: 0, typ: 'access' });
      expect(setCookieHeader(second.res)).toMatch(/Path=\/auth; HttpOnly; .*SameSite=Strict/);
      expect(second.res.headers.get('cache-control')).toBe('no-store');
      expect(((await (await me(wahub, second.body.accessToken)).json()) as UserBody).id).toBe(user.id);

      const third = await refreshOk(second.cookie);
      await refreshOk(third.cookie);
      const families = await wahub.resources.db.query<{ n: number }>('select count(distinct family_id)::int as n from refresh_tokens where user_id = $1', [user.id]);
      expect(families[0]!.n).toBe(1);
    });

    it('a rotated token presented again is reuse: 401, and the whole family is revoked (the newest token too)', async () => {
      const { email } = await createVerifiedUser(wahub);
      const first = await login(wahub, email);
      const other = await login(wahub, email); // another device: another family
      const second = await refreshOk(first.cookie);

      const reuse = await refresh(wahub, first.cookie);
      await expectProblem(reuse, 401, 'refresh_token_reused');
      expect(setCookieHeader(reuse)).toMatch(/^refresh_token=; Max-Age=0; Path=\/auth/);
      // The thief's or the owner's newest token: both dead now.
      await expectProblem(await refresh(wahub, second.cookie), 401, 'refresh_token_invalid');
      await expectProblem(await refresh(wahub, first.cookie), 401, 'refresh_token_invalid');
      // Other logins of the user are untouched.
      await refreshOk(other.cookie);
    });

    it('refuses a missing, unknown or expired refresh token and clears the cookie', async () => {
      const missing = await refresh(wahub, undefined);
      await expectProblem(missing, 401, 'refresh_token_invalid');
      expect(setCookieHeader(missing)).toMatch(/^refresh_token=; Max-Age=0/);
      await expectProblem(await refresh(wahub, 'refresh_token=not-a-token'), 401, 'refresh_token_invalid');

      const { user, email } = await createVerifiedUser(wahub);
      const session = await login(wahub, email);
      await wahub.resources.db.query(`update refresh_tokens set expires_at = now() - interval '1 second' where user_id = $1`, [user.id]);
      await expectProblem(await refresh(wahub, session.cookie), 401, 'refresh_token_invalid');
    });

    it('ignores the access token: only the cookie counts', async () => {
      const { email } = await createVerifiedUser(wahub);
      const session = await login(wahub, email);
      await expectProblem(await wahub.request('POST', '/auth/refresh', { token: session.body.accessToken }), 401, 'refresh_token_invalid');
    });
  });

  describe('POST /auth/logout', () => {
    it('revokes the refresh token of the cookie and clears the cookie: 204', async () => {
      const { email } = await createVerifiedUser(wahub);
      const session = await login(wahub, email);
      const kept = await login(wahub, email);
      const res = await wahub.request('POST', '/auth/logout', { headers: { cookie: session.cookie } });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      expect(setCookieHeader(res)).toMatch(/^refresh_token=; Max-Age=0; Path=\/auth; HttpOnly; .*SameSite=Strict/);
      await expectProblem(await refresh(wahub, session.cookie), 401, 'refresh_token_invalid');
      await refreshOk(kept.cookie); // only this session ended
    });

    it('also revokes a session whose token was rotated since', async () => {
      const { email } = await createVerifiedUser(wahub);
      const session = await login(wahub, email);
      const rotated = await refreshOk(session.cookie);
      expect((await wahub.request('POST', '/auth/logout', { headers: { cookie: rotated.cookie } })).status).toBe(204);
      await expectProblem(await refresh(wahub, rotated.cookie), 401, 'refresh_token_invalid');
    });

    it('answers 204 without a cookie or with an unknown one', async () => {
      expect((await wahub.request('POST', '/auth/logout')).status).toBe(204);
      expect((await wahub.request('POST', '/auth/logout', { headers: { cookie: 'refresh_token=whatever' } })).status).toBe(204);
    });
  });

  describe('POST /auth/logout-all', () => {
    it('revokes every refresh token and every access token issued before, and tells the WebSocket hub', async () => {
      const { user, email } = await createVerifiedUser(wahub);
      const laptop = await login(wahub, email);
      const phone = await login(wahub, email);
      const phoneRotated = await refreshOk(phone.cookie);
      const bystander = await createVerifiedUser(wahub);
      const bystanderSession = await login(wahub, bystander.email);

      const res = await wahub.request('POST', '/auth/logout-all', { token: laptop.body.accessToken });
      expect(res.status).toBe(204);
      expect(setCookieHeader(res)).toMatch(/^refresh_token=; Max-Age=0/);

      for (const token of [laptop.body.accessToken, phone.body.accessToken, phoneRotated.body.accessToken]) {
        const denied = await me(wahub, token);
        await expectProblem(denied, 401, 'unauthorized');
        expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      }
      for (const cookie of [laptop.cookie, phoneRotated.cookie]) await expectProblem(await refresh(wahub, cookie), 401, 'refresh_token_invalid');
      const [row] = await wahub.resources.db.query<{ token_version: number }>('select token_version from users where id = $1', [user.id]);
      expect(row!.token_version).toBe(1);

      // Logging in again works, with tokens of the new version; other users are untouched.
      const again = await login(wahub, email);
      expect(decodeJwt(again.body.accessToken).ver).toBe(1);
      expect((await me(wahub, again.body.accessToken)).status).toBe(200);
      expect((await me(wahub, bystanderSession.body.accessToken)).status).toBe(200);

      // user.tokens.revoked on the auth-events stream, through the outbox.
      const event = await waitFor('user.tokens.revoked on auth-events', async () => {
        const entries = await wahub.resources.bus.range('auth-events', '0-0', 100);
        return entries
          .map((e) => JSON.parse(e.fields.data!) as { type: string; sessionId: null; eventId: string; occurredOn: string; payload: Record<string, unknown> })
          .find((e) => e.payload.userId === user.id);
      });
      expect(event).toEqual({
        type: 'user.tokens.revoked',
        sessionId: null,
        eventId: expect.any(String),
        occurredOn: expect.any(String),
        payload: { tenantId: user.tenantId, userId: user.id, tokenVersion: 1 },
      });
    });

    it('needs a valid bearer token', async () => {
      const res = await wahub.request('POST', '/auth/logout-all');
      await expectProblem(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectProblem(await wahub.request('POST', '/auth/logout-all', { token: 'garbage' }), 401, 'unauthorized');
    });
  });
});
