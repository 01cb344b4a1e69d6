import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { createVerifiedUser, expectProblem, login, me, PASSWORD, signUp, uniqueEmail, type UserBody } from '../auth/auth-helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(MODES)('POST /users and GET /users/me (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode, { BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(async () => wahub?.stop());

  it('creates a tenant and its owner, with a normalised email, not verified yet', async () => {
    const email = uniqueEmail('ada');
    const res = await wahub.request('POST', '/users', { body: { email: `  ${email.toUpperCase()} `, password: PASSWORD, name: 'Ada Lovelace' } });
    expect(res.status).toBe(201);
    const user = (await res.json()) as UserBody;
    expect(user).toEqual({
      id: expect.stringMatching(UUID),
      tenantId: expect.stringMatching(UUID),
      email,
      name: 'Ada Lovelace',
      emailVerified: false,
      emailVerifiedAt: null,
      createdAt: expect.any(String),
    });
    expect(Date.parse(user.createdAt)).not.toBeNaN();
    expect(JSON.stringify(user)).not.toMatch(/password|hash|tokenVersion/i);

    const [row] = await wahub.resources.db.query<{ role: string; tenant_name: string; password_hash: string }>(
      `select u.role, t.name as tenant_name, u.password_hash from users u join tenants t on t.id = u.tenant_id where u.id = $1`,
      [user.id],
    );
    expect(row).toMatchObject({ role: 'owner', tenant_name: 'Ada Lovelace' });
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row!.password_hash).not.toContain(PASSWORD);
  });

  it('gives every sign-up its own tenant and accepts a missing or null name', async () => {
    const a = await signUp(wahub, { email: uniqueEmail() });
    const b = await signUp(wahub, { email: uniqueEmail(), name: null });
    expect(a.name).toBeNull();
    expect(b.name).toBeNull();
    expect(a.tenantId).not.toBe(b.tenantId);
  });

  it('refuses a taken email however it is typed, with 409', async () => {
    const email = uniqueEmail('taken');
    await signUp(wahub, { email });
    const res = await wahub.request('POST', '/users', { body: { email: ` ${email.toUpperCase()}`, password: 'another-password-1' } });
    await expectProblem(res, 409, 'email_taken');
    const [{ n }] = (await wahub.resources.db.query<{ n: number }>('select count(*)::int as n from users where email = $1', [email])) as [{ n: number }];
    expect(n).toBe(1);
  });

  it('lists every missing field', async () => {
    const body = await expectProblem(await wahub.request('POST', '/users', { body: {} }), 400, 'validation_failed');
    expect(body.errors!.map((e) => e.path).sort()).toEqual(['email', 'password']);
  });

  it('applies the password policy (10 to 256 characters)', async () => {
    const short = await expectProblem(
      await wahub.request('POST', '/users', { body: { email: uniqueEmail(), password: '123456789' } }),
      400,
      'validation_failed',
    );
    expect(short.errors).toEqual([{ path: 'password', message: expect.stringMatching(/10/) }]);
    const long = await expectProblem(
      await wahub.request('POST', '/users', { body: { email: uniqueEmail(), password: 'x'.repeat(257) } }),
      400,
      'validation_failed',
    );
    expect(long.errors?.[0]?.path).toBe('password');
    // Exactly ten characters is enough.
    await signUp(wahub, { email: uniqueEmail(), password: '0123456789' });
  });

  it('refuses an invalid email and wrong types', async () => {
    for (const email of ['not-an-email', 'a@b', '', 42]) {
      const body = await expectProblem(await wahub.request('POST', '/users', { body: { email, password: PASSWORD } }), 400, 'validation_failed');
      expect(body.errors?.map((e) => e.path)).toContain('email');
    }
    const body = await expectProblem(
      await wahub.request('POST', '/users', { body: { email: uniqueEmail(), password: PASSWORD, name: { first: 'Ada' } } }),
      400,
      'validation_failed',
    );
    expect(body.errors?.map((e) => e.path)).toEqual(['name']);
  });

  it('answers malformed JSON with a 400 problem, never a 500', async () => {
    const res = await wahub.request('POST', '/users', { body: '{"email": "a@example.com", "password": ', headers: { 'content-type': 'application/json' } });
    await expectProblem(res, 400, 'malformed_request');
  });

  it('answers a body that is not JSON with a problem', async () => {
    const res = await wahub.request('POST', '/users', { body: 'email=a@example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect([400, 415]).toContain(res.status);
  });

  it('answers an oversized body with 413', async () => {
    const res = await wahub.request('POST', '/users', { body: { email: uniqueEmail(), password: PASSWORD, name: 'x'.repeat(4096) } });
    await expectProblem(res, 413, 'body_too_large');
  });

  it('stores SQL-looking names as plain text', async () => {
    const name = `'; drop table users; --`;
    const { user, email } = await createVerifiedUser(wahub, { name });
    expect(user.name).toBe(name);
    const session = await login(wahub, email);
    expect(session.body.user.name).toBe(name);
    const rows = await wahub.resources.db.query<{ name: string }>('select name from users where id = $1', [user.id]);
    expect(rows[0]?.name).toBe(name);
    const [{ n }] = (await wahub.resources.db.query<{ n: number }>('select count(*)::int as n from users')) as [{ n: number }];
    expect(n).toBeGreaterThan(1);
  });

  it('keeps unicode names intact: emoji sequences, right-to-left text, combining marks', async () => {
    const names = [
      'Ada 👩🏽‍💻🇵🇪 ❤️',
      '\u200Fمرحبا بالعالم\u200F',
      'שלום עולם',
      'Zoe\u0308 Cafe\u0301', // decomposed: must not be normalised to NFC
      'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗͎',
      '漢字かなカナ',
    ];
    for (const name of names) {
      const { user, email } = await createVerifiedUser(wahub, { name });
      expect(user.name).toBe(name);
      const session = await login(wahub, email);
      const mine = (await (await me(wahub, session.body.accessToken)).json()) as UserBody;
      expect(mine.name).toBe(name);
      expect(Buffer.from(mine.name!, 'utf8').equals(Buffer.from(name, 'utf8'))).toBe(true);
    }
  });

  it('refuses control characters and broken unicode in names', async () => {
    for (const name of ['Ada\u0000', 'Ada\u0007Lovelace', 'Ada\nLovelace', 'bad \ud800 surrogate']) {
      const body = await expectProblem(
        await wahub.request('POST', '/users', { body: { email: uniqueEmail(), password: PASSWORD, name } }),
        400,
        'validation_failed',
      );
      expect(body.errors?.map((e) => e.path)).toEqual(['name']);
    }
  });

  it('GET /users/me shows the user of the token, and only that user', async () => {
    const a = await createVerifiedUser(wahub, { name: 'Tenant A' });
    const b = await createVerifiedUser(wahub, { name: 'Tenant B' });
    const tokenA = (await login(wahub, a.email)).body.accessToken;
    const tokenB = (await login(wahub, b.email)).body.accessToken;
    const meA = (await (await me(wahub, tokenA)).json()) as UserBody;
    const meB = (await (await me(wahub, tokenB)).json()) as UserBody;
    expect(meA).toMatchObject({ id: a.user.id, tenantId: a.user.tenantId, email: a.email, emailVerified: true });
    expect(meB).toMatchObject({ id: b.user.id, tenantId: b.user.tenantId });
    expect(meA.tenantId).not.toBe(meB.tenantId);
    // Nothing in the request can point /users/me at another user.
    const res = await wahub.request('GET', `/users/me?id=${b.user.id}&tenantId=${b.user.tenantId}`, {
      token: tokenA,
      headers: { 'x-tenant-id': b.user.tenantId },
    });
    expect(((await res.json()) as UserBody).id).toBe(a.user.id);
    // There is no route to read another user by id.
    expect((await wahub.request('GET', `/users/${b.user.id}`, { token: tokenA })).status).toBe(404);
  });

  it('GET /users/me needs a bearer token', async () => {
    const res = await wahub.request('GET', '/users/me');
    await expectProblem(res, 401, 'unauthorized');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('documents the routes in /openapi.json, bearer routes marked', async () => {
    const doc = (await (await wahub.request('GET', '/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    for (const path of [
      '/users',
      '/users/{id}/verify',
      '/users/me',
      '/auth/login',
      '/auth/refresh',
      '/auth/logout',
      '/auth/logout-all',
      '/auth/resend-verification',
      '/auth/password-reset',
      '/auth/password-reset/confirm',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/users/me']!.get!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/auth/logout-all']!.post!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/auth/login']!.post!.security).toBeUndefined();
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['User', 'SignUp', 'Session', 'Problem']));
    expect(doc.components.securitySchemes.bearer).toBeDefined();
  });
});
