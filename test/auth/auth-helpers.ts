import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import type { TestWahub } from '../support/wahub.js';

export const PASSWORD = 'SuperSecure123!';

let counter = 0;
/** A fresh address per call, so tests of one file never collide. */
export const uniqueEmail = (label = 'user'): string => `${label}-${Date.now().toString(36)}-${(counter += 1)}@example.com`;

export interface UserBody {
  id: string;
  tenantId: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  emailVerifiedAt: string | null;
  createdAt: string;
}

export interface SessionBody {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: UserBody;
}

export type ProblemBody = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: { path: string; message: string }[];
  [key: string]: unknown;
};

export async function signUp(wahub: TestWahub, body: { email: string; password?: string; name?: string | null }): Promise<UserBody> {
  const res = await wahub.request('POST', '/users', { body: { password: PASSWORD, ...body } });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as UserBody;
}

/** Signs up and marks the email verified straight in the database (the email flow has tests of its own). */
export async function createVerifiedUser(
  wahub: TestWahub,
  options: { email?: string; password?: string; name?: string } = {},
): Promise<{ user: UserBody; email: string; password: string }> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? PASSWORD;
  const user = await signUp(wahub, { email, password, name: options.name });
  await wahub.resources.db.query('update users set email_verified_at = now() where id = $1', [user.id]);
  return { user: { ...user, emailVerified: true }, email, password };
}

export interface LoginResult {
  res: Response;
  body: SessionBody;
  /** `refresh_token=<value>`, ready for a Cookie header. */
  cookie: string;
}

export async function login(wahub: TestWahub, email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<LoginResult> {
  const res = await wahub.request('POST', '/auth/login', { body: { email, password }, headers });
  expect(res.status, await res.clone().text()).toBe(200);
  const cookie = refreshCookieOf(res);
  expect(cookie).toBeDefined();
  return { res, body: (await res.json()) as SessionBody, cookie: cookie! };
}

/** The `refresh_token=<value>` pair a response sets (undefined when it sets none, or clears it). */
export function refreshCookieOf(res: Response): string | undefined {
  const header = res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='));
  const pair = header?.split(';')[0];
  return pair && pair !== 'refresh_token=' ? pair : undefined;
}

export function setCookieHeader(res: Response): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith('refresh_token='));
}

export async function refresh(wahub: TestWahub, cookie: string | undefined): Promise<Response> {
  return wahub.request('POST', '/auth/refresh', { headers: cookie ? { cookie } : {} });
}

export async function me(wahub: TestWahub, token: string): Promise<Response> {
  return wahub.request('GET', '/users/me', { token });
}

export async function expectProblem(res: Response, status: number, code: string): Promise<ProblemBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = JSON.parse(text) as ProblemBody;
  expect(body).toMatchObject({ status, code, type: `urn:wahub:problem:${code}` });
  expect(text).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  return body;
}

/** A problem document without the per-request `instance`, to compare two answers. */
export const withoutInstance = ({ instance: _instance, ...rest }: ProblemBody): Omit<ProblemBody, 'instance'> => rest;

export function decodeJwt(token: string): Record<string, unknown> {
  const [, payload] = token.split('.');
  return JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

// --- Email, as the file mailer writes it (no SMTP_URL): <DATA_DIR>/mail/<timestamp>-<to>.eml ---

export function mailDir(wahub: TestWahub): string {
  return path.join(wahub.resources.config.dataDir, 'mail');
}

export async function mailFilesTo(wahub: TestWahub, to: string): Promise<string[]> {
  let files: string[];
  try {
    files = await readdir(mailDir(wahub));
  } catch {
    return [];
  }
  return files.filter((f) => f.endsWith(`-${to}.eml`) || f.includes(`-${to}-`)).sort();
}

export interface MailQuery {
  /** 1-based: the nth email (with this subject, when given) to the address. */
  nth?: number;
  subject?: string;
  timeoutMs?: number;
}

/** Waits for an email to `to` and returns the whole .eml text. */
export async function waitForMail(wahub: TestWahub, to: string, query: MailQuery = {}): Promise<string> {
  const { nth = 1, subject, timeoutMs = 10_000 } = query;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await Promise.all((await mailFilesTo(wahub, to)).map((f) => readFile(path.join(mailDir(wahub), f), 'utf8')));
    const matching = subject === undefined ? mails : mails.filter((m) => m.includes(`\nSubject: ${subject}\n`));
    if (matching.length >= nth) return matching[nth - 1]!;
    if (Date.now() > deadline) throw new Error(`no email #${nth} to ${to}${subject ? ` about "${subject}"` : ''} within ${timeoutMs} ms (found ${matching.length})`);
    await sleep(50);
  }
}

/** The first link of this kind in an email (the text part comes first). */
export function linkIn(eml: string, page: 'verify-email' | 'reset-password'): URL {
  const match = new RegExp(`https?://[^\\s"<>]*/${page}\\?[^\\s"<>]+`).exec(eml);
  if (!match) throw new Error(`no ${page} link in:\n${eml}`);
  return new URL(match[0]);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
