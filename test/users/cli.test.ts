import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, MODES, tempDir, type TestDatabase } from '../support/services.js';
import { startTestWahub } from '../support/wahub.js';
import { expectProblem, linkIn, login, uniqueEmail, waitForMail, type UserBody } from '../auth/auth-helpers.js';

const JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.each(MODES)('the CLI (%s)', (mode) => {
  let database: TestDatabase | undefined;
  let data: { dir: string; remove(): void };
  /** The configuration the CLI and the server share: the same database, and the same secret. */
  let env: Record<string, string>;

  beforeAll(async () => {
    data = tempDir('wahub-cli-');
    database = mode === 'real' ? await createTestDatabase() : undefined;
    env = { DATA_DIR: data.dir, JWT_SECRET, LOG_LEVEL: 'warn', ...(database ? { DATABASE_URL: database.url } : {}) };
  });
  afterAll(async () => {
    await database?.drop();
    data?.remove();
  });

  function cli(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        'npx',
        ['tsx', 'src/cli.ts', ...args],
        { cwd: process.cwd(), env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  // Each run starts a process that opens the database (the embedded one boots PGlite): slow under load.
  const SLOW = { timeout: 120_000 };

  it('migrate applies the migrations', SLOW, async () => {
    const run = await cli('migrate');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Database is up to date \(\d+ migrations: 001_foundation, 002_session_worker/);
  });

  it('user:create creates a tenant and its owner, prints it as JSON, and the user can log in', SLOW, async () => {
    const email = uniqueEmail('ops');
    const run = await cli('user:create', '--email', ` ${email.toUpperCase()} `, '--password', 'SuperSecure123!', '--name', 'Öps 👷‍♀️', '--verified');
    expect(run.code, run.stderr).toBe(0);
    const user = JSON.parse(run.stdout) as UserBody;
    expect(user).toMatchObject({ email, name: 'Öps 👷‍♀️', emailVerified: true, id: expect.any(String), tenantId: expect.any(String) });
    expect(run.stdout + run.stderr).not.toContain('SuperSecure123!');

    const unverifiedEmail = uniqueEmail('later');
    const unverified = await cli('user:create', '--email', unverifiedEmail, '--password', 'SuperSecure123!');
    expect(unverified.code, unverified.stderr).toBe(0);
    expect((JSON.parse(unverified.stdout) as UserBody).emailVerified).toBe(false);
    expect(unverified.stderr).toContain('verification email is queued');

    // A server on the same database: the CLI's users exist there, and the queued email goes out.
    const wahub = await startTestWahub(mode, mode === 'real' ? { DATABASE_URL: database!.url } : { DATA_DIR: data.dir });
    try {
      const session = await login(wahub, email, 'SuperSecure123!');
      expect(session.body.user).toMatchObject({ id: user.id, tenantId: user.tenantId });
      await expectProblem(
        await wahub.request('POST', '/auth/login', { body: { email: unverifiedEmail, password: 'SuperSecure123!' } }),
        403,
        'email_not_verified',
      );
      const link = linkIn(await waitForMail(wahub, unverifiedEmail), 'verify-email');
      const res = await wahub.request('POST', `/users/${link.searchParams.get('userId')}/verify`, { body: { token: link.searchParams.get('token') } });
      expect(res.status).toBe(200);
      await login(wahub, unverifiedEmail, 'SuperSecure123!');
    } finally {
      await wahub.stop();
    }
  });

  it('user:create refuses a taken email, a weak password and missing options, with exit code 1', SLOW, async () => {
    const email = uniqueEmail('dup');
    expect((await cli('user:create', '--email', email, '--password', 'SuperSecure123!', '--verified')).code).toBe(0);
    const dup = await cli('user:create', '--email', email, '--password', 'SuperSecure123!');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('email_taken');
    expect(dup.stdout).toBe('');

    const weak = await cli('user:create', '--email', uniqueEmail(), '--password', 'short');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/--password: must be at least 10 characters/);

    const missing = await cli('user:create', '--email', uniqueEmail());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('needs --email and --password');

    const unknown = await cli('user:delete');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown command');
  });
});
