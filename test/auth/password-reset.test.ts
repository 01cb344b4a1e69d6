import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import {
  createVerifiedUser,
  expectProblem,
  linkIn,
  login,
  mailFilesTo,
  me,
  PASSWORD,
  refresh,
  signUp,
  sleep,
  uniqueEmail,
  waitFor,
  waitForMail,
} from './auth-helpers.js';

const APP = 'https://app.wahub.test';
const NEW_PASSWORD = 'An0ther-Secure-Passw0rd';
const RESET_SUBJECT = 'Reset your password';

describe.each(MODES)('password reset (%s)', (mode) => {
  let wahub: TestWahub;
  beforeAll(async () => {
    wahub = await startTestWahub(mode, { APP_PUBLIC_URL: APP, RESET_TOKEN_TTL_MINUTES: '15', LOGIN_MAX_FAILURES_PER_EMAIL: '2' });
  });
  afterAll(async () => wahub?.stop());

  const requestReset = (email: unknown) => wahub.request('POST', '/auth/password-reset', { body: { email } });
  const confirm = (token: unknown, password: unknown) => wahub.request('POST', '/auth/password-reset/confirm', { body: { token, password } });

  /** Asks for a reset and returns the token of the nth reset email to that address. */
  async function resetToken(email: string, nth = 1): Promise<string> {
    expect((await requestReset(email)).status).toBe(202);
    const eml = await waitForMail(wahub, email, { nth, subject: RESET_SUBJECT });
    const link = linkIn(eml, 'reset-password');
    expect(link.origin + link.pathname).toBe(`${APP}/reset-password`);
    expect(eml).toContain('expires in 15 minutes');
    return link.searchParams.get('token')!;
  }

  it('answers 202 with the same body for known and unknown addresses; only the known one gets an email', async () => {
    const { email } = await createVerifiedUser(wahub);
    const unknown = uniqueEmail('nobody');
    const answers = await Promise.all(
      [email, unknown, ` ${email.toUpperCase()} `].map(async (address) => {
        const res = await requestReset(address);
        return { status: res.status, contentType: res.headers.get('content-type'), body: await res.json() };
      }),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]).toEqual({ status: 202, contentType: 'application/json', body: { status: 'accepted', message: expect.any(String) } });
    await waitForMail(wahub, email, { nth: 2, subject: RESET_SUBJECT });
    await sleep(300);
    expect(await mailFilesTo(wahub, unknown)).toHaveLength(0);
    expect((await mailFilesTo(wahub, email)).length).toBe(3); // the verification email of the sign-up, and two resets
  });

  it('sets the new password, logs out everywhere, and tells the WebSocket hub', async () => {
    const { user, email } = await createVerifiedUser(wahub);
    const session = await login(wahub, email);
    const token = await resetToken(email);

    const res = await confirm(token, NEW_PASSWORD);
    expect(res.status).toBe(204);

    await expectProblem(await wahub.request('POST', '/auth/login', { body: { email, password: PASSWORD } }), 401, 'invalid_credentials');
    const fresh = await login(wahub, email, NEW_PASSWORD);
    expect((await me(wahub, fresh.body.accessToken)).status).toBe(200);
    await expectProblem(await me(wahub, session.body.accessToken), 401, 'unauthorized');
    await expectProblem(await refresh(wahub, session.cookie), 401, 'refresh_token_invalid');

    const rows = await wahub.resources.db.query<{ used_at: Date | null }>(
      `select used_at from one_time_tokens where user_id = $1 and purpose = 'password_reset'`,
      [user.id],
    );
    expect(rows.every((r) => r.used_at !== null)).toBe(true);

    const event = await waitFor('user.tokens.revoked', async () =>
      (await wahub.resources.bus.range('auth-events', '0-0', 100))
        .map((e) => JSON.parse(e.fields.data!) as { type: string; payload: Record<string, unknown> })
        .find((e) => e.payload.userId === user.id),
    );
    expect(event).toMatchObject({ type: 'user.tokens.revoked', payload: { tenantId: user.tenantId, userId: user.id, tokenVersion: 1 } });
  });

  it('a reset token works once', async () => {
    const { email } = await createVerifiedUser(wahub);
    const token = await resetToken(email);
    expect((await confirm(token, NEW_PASSWORD)).status).toBe(204);
    await expectProblem(await confirm(token, 'yet-another-password-1'), 400, 'token_invalid');
    await login(wahub, email, NEW_PASSWORD);
  });

  it('an expired token is refused with token_expired and changes nothing', async () => {
    const { user, email } = await createVerifiedUser(wahub);
    const token = await resetToken(email);
    await wahub.resources.db.query(`update one_time_tokens set expires_at = now() - interval '1 second' where user_id = $1`, [user.id]);
    await expectProblem(await confirm(token, NEW_PASSWORD), 400, 'token_expired');
    await login(wahub, email, PASSWORD);
  });

  it('a newer link supersedes the earlier one', async () => {
    const { email } = await createVerifiedUser(wahub);
    const older = await resetToken(email, 1);
    const newer = await resetToken(email, 2);
    await expectProblem(await confirm(older, NEW_PASSWORD), 400, 'token_invalid');
    expect((await confirm(newer, NEW_PASSWORD)).status).toBe(204);
  });

  it('refuses unknown tokens and verification tokens alike with token_invalid', async () => {
    await expectProblem(await confirm('x'.repeat(43), NEW_PASSWORD), 400, 'token_invalid');
    const email = uniqueEmail();
    await signUp(wahub, { email });
    const verificationToken = linkIn(await waitForMail(wahub, email), 'verify-email').searchParams.get('token');
    await expectProblem(await confirm(verificationToken, NEW_PASSWORD), 400, 'token_invalid');
  });

  it('applies the password policy without using the token', async () => {
    const { email } = await createVerifiedUser(wahub);
    const token = await resetToken(email);
    const weak = await expectProblem(await confirm(token, 'short'), 400, 'validation_failed');
    expect(weak.errors?.map((e) => e.path)).toEqual(['password']);
    expect((await confirm(token, NEW_PASSWORD)).status).toBe(204);
  });

  it('validates the bodies', async () => {
    const missing = await expectProblem(await wahub.request('POST', '/auth/password-reset/confirm', { body: {} }), 400, 'validation_failed');
    expect(missing.errors?.map((e) => e.path).sort()).toEqual(['password', 'token']);
    const noEmail = await expectProblem(await wahub.request('POST', '/auth/password-reset', { body: { mail: 'a@example.com' } }), 400, 'validation_failed');
    expect(noEmail.errors?.map((e) => e.path)).toEqual(['email']);
    await expectProblem(
      await wahub.request('POST', '/auth/password-reset', { body: '{', headers: { 'content-type': 'application/json' } }),
      400,
      'malformed_request',
    );
  });

  it('verifies the address of an unverified account (the link proved the mailbox)', async () => {
    const email = uniqueEmail();
    await signUp(wahub, { email });
    const token = await resetToken(email);
    expect((await confirm(token, NEW_PASSWORD)).status).toBe(204);
    const session = await login(wahub, email, NEW_PASSWORD);
    expect(session.body.user.emailVerified).toBe(true);
  });

  it('lifts the failed-login limit of the account', async () => {
    const { email } = await createVerifiedUser(wahub);
    for (let i = 0; i < 2; i++) await wahub.request('POST', '/auth/login', { body: { email, password: 'wrong-password-1' } });
    await expectProblem(await wahub.request('POST', '/auth/login', { body: { email, password: PASSWORD } }), 429, 'rate_limited');
    const token = await resetToken(email);
    expect((await confirm(token, NEW_PASSWORD)).status).toBe(204);
    await login(wahub, email, NEW_PASSWORD);
  });
});
