import { Hono } from 'hono';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokenVerifier, requireAuth } from '../../src/modules/auth/index.js';
import { DomainError } from '../../src/shared/errors.js';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { createVerifiedUser, expectProblem, login, me, type UserBody } from './auth-helpers.js';

describe.each(MODES)('the access-token guard (%s)', (mode) => {
  let wahub: TestWahub;
  let alice: { user: UserBody; token: string };
  let bob: { user: UserBody; token: string };

  beforeAll(async () => {
    wahub = await startTestWahub(mode);
    for (const who of ['alice', 'bob'] as const) {
      const { user, email } = await createVerifiedUser(wahub, { name: who });
      const session = await login(wahub, email);
      if (who === 'alice') alice = { user, token: session.body.accessToken };
      else bob = { user, token: session.body.accessToken };
    }
  });
  afterAll(async () => wahub?.stop());

  async function forge(claims: JWTPayload, options: { secret?: string; alg?: string; expiresIn?: number } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ typ: 'access', ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresIn ?? 900))
      .sign(new TextEncoder().encode(options.secret ?? wahub.resources.jwtSecret));
  }

  async function expectRejected(authorization: string | undefined, invalidToken = true): Promise<void> {
    const res = await wahub.request('GET', '/users/me', { headers: authorization === undefined ? {} : { authorization } });
    const body = await expectProblem(res, 401, 'unauthorized');
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm="wahub"/);
    expect(challenge.includes('error="invalid_token"')).toBe(invalidToken);
    expect(JSON.stringify(body)).not.toContain(alice.user.email);
  }

  it('accepts a valid bearer token, the scheme in any case', async () => {
    expect((await me(wahub, alice.token)).status).toBe(200);
    const res = await wahub.request('GET', '/users/me', { headers: { authorization: `bearer ${alice.token}` } });
    expect(((await res.json()) as UserBody).id).toBe(alice.user.id);
  });

  it('refuses a missing header or another scheme', async () => {
    await expectRejected(undefined, false);
    await expectRejected('', false);
    await expectRejected(`Basic ${Buffer.from('a:b').toString('base64')}`, false);
    await expectRejected(alice.token, false);
    await expectRejected('Bearer', false);
  });

  it('refuses tokens that are not ours: garbage, another secret, alg none, tampered claims', async () => {
    const claims = { sub: alice.user.id, tid: alice.user.tenantId, ver: 0 };
    await expectRejected('Bearer not.a.jwt');
    await expectRejected(`Bearer ${await forge(claims, { secret: 'another-secret-that-is-long-enough-0123456789' })}`);
    const [header, payload] = alice.token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    await expectRejected(`Bearer ${none}`);
    const tampered = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    tampered.sub = bob.user.id;
    tampered.tid = bob.user.tenantId;
    await expectRejected(`Bearer ${header}.${Buffer.from(JSON.stringify(tampered)).toString('base64url')}.${alice.token.split('.')[2]}`);
  });

  it('refuses expired tokens and tokens of another type', async () => {
    const claims = { sub: alice.user.id, tid: alice.user.tenantId, ver: 0 };
    await expectRejected(`Bearer ${await forge(claims, { expiresIn: -5 })}`);
    await expectRejected(`Bearer ${await forge({ ...claims, typ: 'refresh' })}`);
    await expectRejected(`Bearer ${await forge({ ...claims, typ: undefined })}`);
    await expectRejected(`Bearer ${await forge({ ...claims, ver: '0' })}`);
    // The control: the same claims, well signed and current, pass.
    expect((await wahub.request('GET', '/users/me', { headers: { authorization: `Bearer ${await forge(claims)}` } })).status).toBe(200);
  });

  it('takes the tenant from verified claims only, and checks it against the user', async () => {
    // Even correctly signed, a token that pairs Alice with Bob's tenant is refused.
    await expectRejected(`Bearer ${await forge({ sub: alice.user.id, tid: bob.user.tenantId, ver: 0 })}`);
    // A token of a user that does not exist is refused.
    await expectRejected(`Bearer ${await forge({ sub: '00000000-0000-4000-8000-000000000000', tid: alice.user.tenantId, ver: 0 })}`);
    // A token of an older version is refused.
    await expectRejected(`Bearer ${await forge({ sub: alice.user.id, tid: alice.user.tenantId, ver: -1 })}`);
  });

  it('a user of tenant A never reads anything of tenant B', async () => {
    const seen = (await (await me(wahub, alice.token)).json()) as UserBody;
    expect(seen.tenantId).toBe(alice.user.tenantId);
    expect(JSON.stringify(seen)).not.toContain(bob.user.id);
    expect(JSON.stringify(seen)).not.toContain(bob.user.tenantId);
    expect((await wahub.request('GET', `/users/${bob.user.id}`, { token: alice.token })).status).toBe(404);
    await expectProblem(
      await wahub.request('POST', `/users/${bob.user.id}/verify`, { token: alice.token, body: { token: 'guess' } }),
      400,
      'token_invalid',
    );
  });

  it('exports requireAuth(verifier) and verifyAccessToken for other modules', async () => {
    const verifier = new AccessTokenVerifier({
      db: wahub.resources.db,
      users: { findTokenState: async (_q, id) => (id === alice.user.id ? { tenantId: alice.user.tenantId, tokenVersion: 0 } : undefined) },
      accessTokens: {
        ttlSeconds: 900,
        sign: async () => ({ token: 'unused', expiresAt: new Date() }),
        verify: async (token) => {
          if (token !== 'good') throw new Error('bad token');
          return { userId: alice.user.id, tenantId: alice.user.tenantId, tokenVersion: 0, expiresAt: new Date(Date.now() + 60_000) };
        },
      },
    });
    await expect(verifier.verifyAccessToken('good')).resolves.toMatchObject({ userId: alice.user.id, tenantId: alice.user.tenantId, tokenVersion: 0 });
    await expect(verifier.verifyAccessToken('bad')).rejects.toSatisfy((e) => e instanceof DomainError && e.kind === 'unauthorized');

    const app = new Hono<{ Variables: { auth: { userId: string; tenantId: string } } }>();
    app.onError((e, c) => c.json({ code: (e as DomainError).code }, 401));
    app.get('/x', requireAuth(verifier), (c) => c.json(c.var.auth));
    expect(await (await app.request('/x', { headers: { authorization: 'Bearer good' } })).json()).toEqual({
      userId: alice.user.id,
      tenantId: alice.user.tenantId,
    });
    const denied = await app.request('/x', { headers: { authorization: 'Bearer bad' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});
