import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import {
  createVerifiedUser,
  decodeJwt,
  expectProblem,
  login,
  me,
  PASSWORD,
  setCookieHeader,
  signUp,
  uniqueEmail,
  withoutInstance,
  type UserBody,
} from './auth-helpers.js';

const MAX_PER_EMAIL = 3;
const MAX_PER_IP = 6;
const WINDOW = 600;

describe.each(MODES)('POST /auth/login (%s)', (mode) => {
  let wahub: TestWahub;
  let ipCounter = 0;
  /** A client address of its own per test (the proxy hop is trusted), so limits never leak across tests. */
  const freshIp = () => ({ 'x-forwarded-for': `203.0.113.${(ipCounter += 1)}` });
  const attempt = (email: string, password: string, ip: Record<string, string>) =>
    wahub.request('POST', '/auth/login', { body: { email, password }, headers: ip });

  beforeAll(async () => {
    wahub = await startTestWahub(mode, {
      LOGIN_MAX_FAILURES_PER_EMAIL: String(MAX_PER_EMAIL),
      LOGIN_MAX_FAILURES_PER_IP: String(MAX_PER_IP),
      LOGIN_FAILURE_WINDOW_SECONDS: String(WINDOW),
      TRUST_PROXY_HOPS: '1',
    });
  });
  afterAll(async () => wahub?.stop());

  it('answers an access token, its type and lifetime, and the user; the refresh token goes in a cookie', async () => {
    const { user, email } = await createVerifiedUser(wahub, { name: 'Ada' });
    const { res, body } = await login(wahub, `  ${email.toUpperCase()}  `, PASSWORD, freshIp());
    expect(body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, user: { ...user, emailVerifiedAt: expect.any(String) } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(JSON.stringify(body)).not.toMatch(/refresh/i);

    const claims = decodeJwt(body.accessToken);
    expect(claims).toMatchObject({ sub: user.id, tid: user.tenantId, ver: 0, typ: 'access' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(JSON.parse(Buffer.from(body.accessToken.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'HS256' });

    const cookie = setCookieHeader(res)!;
    expect(cookie).toMatch(/^refresh_token=[A-Za-z0-9_-]{43};/);
    const attributes = cookie.split(';').slice(1).map((a) => a.trim());
    expect(attributes).toEqual(expect.arrayContaining(['Path=/auth', 'HttpOnly', 'SameSite=Strict', 'Secure']));
    const maxAge = Number(attributes.find((a) => a.startsWith('Max-Age='))!.slice(8));
    expect(Math.abs(maxAge - 30 * 86_400)).toBeLessThanOrEqual(2);

    // Stored as sha256 only.
    const value = cookie.split(';')[0]!.slice('refresh_token='.length);
    const stored = await wahub.resources.db.query<{ token_hash: string }>('select token_hash from refresh_tokens where user_id = $1', [user.id]);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0]!.token_hash).not.toContain(value);

    expect(((await (await me(wahub, body.accessToken)).json()) as UserBody).id).toBe(user.id);
  });

  it('answers a wrong password and an unknown email identically: 401 invalid_credentials', async () => {
    const { email } = await createVerifiedUser(wahub);
    const wrong = await attempt(email, 'wrong-password-123', freshIp());
    const unknown = await attempt(uniqueEmail('nobody'), PASSWORD, freshIp());
    const a = await expectProblem(wrong, 401, 'invalid_credentials');
    const b = await expectProblem(unknown, 401, 'invalid_credentials');
    expect(withoutInstance(a)).toEqual(withoutInstance(b));
    expect([...wrong.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it('checks the password for unverified accounts before saying they are unverified', async () => {
    const email = uniqueEmail();
    await signUp(wahub, { email });
    await expectProblem(await attempt(email, 'wrong-password-123', freshIp()), 401, 'invalid_credentials');
    await expectProblem(await attempt(email, PASSWORD, freshIp()), 403, 'email_not_verified');
  });

  it('validates the body', async () => {
    const missing = await expectProblem(await wahub.request('POST', '/auth/login', { body: { email: 'a@example.com' } }), 400, 'validation_failed');
    expect(missing.errors?.map((e) => e.path)).toEqual(['password']);
    const both = await expectProblem(await wahub.request('POST', '/auth/login', { body: {} }), 400, 'validation_failed');
    expect(both.errors?.map((e) => e.path).sort()).toEqual(['email', 'password']);
    await expectProblem(
      await wahub.request('POST', '/auth/login', { body: '{"email":"a@example.com",,}', headers: { 'content-type': 'application/json' } }),
      400,
      'malformed_request',
    );
  });

  it('rehashes a password stored with outdated parameters on the next login', async () => {
    const { user, email } = await createVerifiedUser(wahub);
    const weak = await hash(PASSWORD, { algorithm: 2 as never, memoryCost: 8192, timeCost: 1, parallelism: 1 });
    await wahub.resources.db.query('update users set password_hash = $2 where id = $1', [user.id, weak]);
    await login(wahub, email, PASSWORD, freshIp());
    const [row] = await wahub.resources.db.query<{ password_hash: string }>('select password_hash from users where id = $1', [user.id]);
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await login(wahub, email, PASSWORD, freshIp());
  });

  describe('failed-login rate limit', () => {
    it(`per account: after ${MAX_PER_EMAIL} failures, 429 with Retry-After, even with the right password`, async () => {
      const { email } = await createVerifiedUser(wahub);
      for (let i = 0; i < MAX_PER_EMAIL; i++) await expectProblem(await attempt(email, 'wrong-password-123', freshIp()), 401, 'invalid_credentials');
      const res = await attempt(` ${email.toUpperCase()}`, PASSWORD, freshIp()); // normalised: the same account
      const body = await expectProblem(res, 429, 'rate_limited');
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW);
      expect(body.retryAfterSeconds).toBe(retryAfter);
    });

    it('limits unknown emails the same way (the limit reveals no account)', async () => {
      const known = (await createVerifiedUser(wahub)).email;
      const unknown = uniqueEmail('nobody');
      const answers: unknown[] = [];
      for (const email of [known, unknown]) {
        for (let i = 0; i < MAX_PER_EMAIL; i++) await attempt(email, 'wrong-password-123', freshIp());
        const res = await attempt(email, 'wrong-password-123', freshIp());
        answers.push({ status: res.status, body: withoutInstance((await res.json()) as never), retry: res.headers.has('retry-after') });
      }
      expect(answers[0]).toEqual(answers[1]);
      expect(answers[0]).toMatchObject({ status: 429, retry: true });
    });

    it('a successful login clears the account counter', async () => {
      const { email } = await createVerifiedUser(wahub);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < MAX_PER_EMAIL - 1; i++) await expectProblem(await attempt(email, 'wrong-password-123', freshIp()), 401, 'invalid_credentials');
        await login(wahub, email, PASSWORD, freshIp());
      }
    });

    it(`per client IP: after ${MAX_PER_IP} failures across accounts, 429 for any account`, async () => {
      const ip = freshIp();
      for (let i = 0; i < MAX_PER_IP; i++) await expectProblem(await attempt(uniqueEmail('spray'), 'wrong-password-123', ip), 401, 'invalid_credentials');
      const { email } = await createVerifiedUser(wahub);
      const res = await attempt(email, PASSWORD, ip);
      await expectProblem(res, 429, 'rate_limited');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      // The same account from another address is fine.
      await login(wahub, email, PASSWORD, freshIp());
    });

    it('keeps its counters in Redis under the key prefix (real) or in memory (embedded), never the address in clear', async () => {
      const email = uniqueEmail('redis');
      await attempt(email, 'wrong-password-123', freshIp());
      const redis = wahub.resources.redis;
      if (mode === 'embedded') {
        expect(redis).toBeUndefined();
        return;
      }
      const keys = await redis!.keys(`${wahub.resources.config.redisKeyPrefix}ratelimit:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.join(' ')).not.toContain(email);
      for (const key of keys) {
        const ttl = await redis!.ttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(WINDOW);
      }
    });
  });
});
