import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import {
  expectProblem,
  linkIn,
  login,
  mailFilesTo,
  PASSWORD,
  signUp,
  sleep,
  uniqueEmail,
  waitForMail,
  withoutInstance,
  type UserBody,
} from '../auth/auth-helpers.js';

const APP = 'https://app.wahub.test';

describe.each(MODES)('email verification (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode, { APP_PUBLIC_URL: APP });
  });
  afterAll(async () => wahub?.stop());

  const verify = (userId: string, token: unknown) => wahub.request('POST', `/users/${userId}/verify`, { body: { token } });

  async function signUpAndReadLink(name?: string): Promise<{ user: UserBody; email: string; link: URL; eml: string }> {
    const email = uniqueEmail('verify');
    const user = await signUp(wahub, { email, name });
    const eml = await waitForMail(wahub, email);
    return { user, email, link: linkIn(eml, 'verify-email'), eml };
  }

  it('emails a verification link: a .eml file under DATA_DIR/mail, and the link works', async () => {
    const { user, email, link, eml } = await signUpAndReadLink('Grace');
    expect(eml).toMatch(new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}$`, 'm'));
    expect(eml).toMatch(/^Subject: Confirm your email address$/m);
    expect(eml).toMatch(/^From: wahub <no-reply@localhost>$/m);
    expect(eml).toContain('Hello Grace,');
    expect(link.origin + link.pathname).toBe(`${APP}/verify-email`);
    expect(link.searchParams.get('userId')).toBe(user.id);
    const token = link.searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url

    // Only its hash is stored; and neither the outbox row nor the stream entry carries it in clear.
    const rows = await wahub.resources.db.query<{ token_hash: string }>(
      `select token_hash from one_time_tokens where user_id = $1 and purpose = 'email_verification'`,
      [user.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    const outbox = await wahub.resources.db.query<{ message: unknown; stream: string }>(`select message, stream from outbox where type = 'mail.requested'`);
    expect(outbox.length).toBeGreaterThan(0);
    expect(outbox.every((r) => r.stream === 'mail')).toBe(true);
    expect(JSON.stringify(outbox)).not.toContain(token);
    const entries = await wahub.resources.bus.range('mail', '0-0', 1000);
    expect(entries.length).toBeGreaterThan(0);
    expect(JSON.stringify(entries)).not.toContain(token);

    const res = await verify(user.id, token);
    expect(res.status).toBe(200);
    const verified = (await res.json()) as UserBody;
    expect(verified).toMatchObject({ id: user.id, emailVerified: true });
    expect(Date.parse(verified.emailVerifiedAt!)).not.toBeNaN();
    const session = await login(wahub, email);
    expect(session.body.user.emailVerified).toBe(true);
  });

  it('refuses to log in before the email is verified: 403 email_not_verified', async () => {
    const email = uniqueEmail();
    await signUp(wahub, { email });
    const res = await wahub.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
    await expectProblem(res, 403, 'email_not_verified');
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('a verification token works once', async () => {
    const { user, link } = await signUpAndReadLink();
    const token = link.searchParams.get('token')!;
    expect((await verify(user.id, token)).status).toBe(200);
    await expectProblem(await verify(user.id, token), 400, 'token_invalid');
  });

  it('an expired token is refused with token_expired and verifies nothing', async () => {
    const { user, email, link } = await signUpAndReadLink();
    await wahub.resources.db.query(`update one_time_tokens set expires_at = now() - interval '1 second' where user_id = $1`, [user.id]);
    await expectProblem(await verify(user.id, link.searchParams.get('token')), 400, 'token_expired');
    await expectProblem(await wahub.request('POST', '/auth/login', { body: { email, password: PASSWORD } }), 403, 'email_not_verified');
  });

  it('a token works only with its own user id; everything else is the same token_invalid', async () => {
    const a = await signUpAndReadLink();
    const b = await signUpAndReadLink(); // another tenant
    const tokenA = a.link.searchParams.get('token')!;
    const answers = [
      await expectProblem(await verify(b.user.id, tokenA), 400, 'token_invalid'), // right token, other tenant's user
      await expectProblem(await verify(b.user.id, 'x'.repeat(43)), 400, 'token_invalid'), // other tenant's user, wrong token
      await expectProblem(await verify('00000000-0000-4000-8000-000000000000', tokenA), 400, 'token_invalid'), // no such user
      await expectProblem(await verify(a.user.id, 'not-a-token'), 400, 'token_invalid'),
    ];
    for (const answer of answers) expect(withoutInstance(answer)).toEqual(withoutInstance(answers[0]!));
    expect(JSON.stringify(answers)).not.toContain(b.user.id);
    expect(JSON.stringify(answers)).not.toContain(b.email);
    // Neither user got verified by any of that, and A's token still works for A.
    const rows = await wahub.resources.db.query<{ n: number }>(
      'select count(*)::int as n from users where id = any($1::uuid[]) and email_verified_at is not null',
      [[a.user.id, b.user.id]],
    );
    expect(rows[0]!.n).toBe(0);
    expect((await verify(a.user.id, tokenA)).status).toBe(200);
  });

  it('validates the request', async () => {
    const { user } = await signUpAndReadLink();
    const missing = await expectProblem(await wahub.request('POST', `/users/${user.id}/verify`, { body: {} }), 400, 'validation_failed');
    expect(missing.errors?.map((e) => e.path)).toEqual(['token']);
    const badId = await expectProblem(await verify('not-a-uuid', 'x'), 400, 'validation_failed');
    expect(badId.errors?.map((e) => e.path)).toEqual(['id']);
    await expectProblem(
      await wahub.request('POST', `/users/${user.id}/verify`, { body: '{"token":', headers: { 'content-type': 'application/json' } }),
      400,
      'malformed_request',
    );
  });

  describe('POST /auth/resend-verification', () => {
    const resend = (email: unknown) => wahub.request('POST', '/auth/resend-verification', { body: { email } });

    it('answers 202 with the same body for unverified, verified and unknown addresses', async () => {
      const unverified = await signUpAndReadLink();
      const verified = await signUpAndReadLink();
      expect((await verify(verified.user.id, verified.link.searchParams.get('token'))).status).toBe(200);
      const unknown = uniqueEmail('nobody');

      const answers = await Promise.all(
        [unverified.email, verified.email, unknown, `  ${unverified.email.toUpperCase()} `].map(async (email) => {
          const res = await resend(email);
          return { status: res.status, contentType: res.headers.get('content-type'), body: await res.json() };
        }),
      );
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0]).toEqual({ status: 202, contentType: 'application/json', body: { status: 'accepted', message: expect.any(String) } });

      // Only the unverified account gets new emails (two requests: two emails).
      await waitForMail(wahub, unverified.email, { nth: 3 });
      await sleep(300);
      expect(await mailFilesTo(wahub, verified.email)).toHaveLength(1);
      expect(await mailFilesTo(wahub, unknown)).toHaveLength(0);
    });

    it('a new link supersedes the earlier ones', async () => {
      const { user, email, link } = await signUpAndReadLink();
      expect((await resend(email)).status).toBe(202);
      const newer = linkIn(await waitForMail(wahub, email, { nth: 2 }), 'verify-email');
      expect(newer.searchParams.get('token')).not.toBe(link.searchParams.get('token'));
      await expectProblem(await verify(user.id, link.searchParams.get('token')), 400, 'token_invalid');
      expect((await verify(user.id, newer.searchParams.get('token'))).status).toBe(200);
    });

    it('validates the body', async () => {
      const body = await expectProblem(await wahub.request('POST', '/auth/resend-verification', { body: {} }), 400, 'validation_failed');
      expect(body.errors?.map((e) => e.path)).toEqual(['email']);
    });
  });
});
