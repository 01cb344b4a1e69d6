import WebSocket from 'ws';
import type { TestWahub } from './wahub.js';

export interface WsEvent {
  type: string;
  sessionId: string | null;
  eventId: string;
  occurredOn: string;
  payload: Record<string, any>;
}

/** A WebSocket client that records every event and lets a test wait for the next one it expects. */
export interface TestSocket {
  ws: WebSocket;
  events: WsEvent[];
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first recorded event (from `fromIndex`) matching, waiting up to timeoutMs. */
  next(match: string | ((e: WsEvent) => boolean), options?: { timeoutMs?: number; fromIndex?: number }): Promise<WsEvent>;
  close(): void;
}

export function connectWs(baseUrl: string, query: Record<string, string>, headers: Record<string, string> = {}): TestSocket {
  const url = new URL('/ws/sessions', baseUrl.replace(/^http/, 'ws'));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ws = new WebSocket(url, { headers });
  const events: WsEvent[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    events.push(JSON.parse(String(data)) as WsEvent);
    for (const w of waiters) w();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
  opened.catch(() => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => {
      resolve({ code, reason: String(reason) });
      for (const w of waiters) w();
    });
  });
  let cursor = 0;
  return {
    ws,
    events,
    opened,
    closed,
    next(match, options = {}) {
      const predicate = typeof match === 'string' ? (e: WsEvent) => e.type === match : match;
      const timeoutMs = options.timeoutMs ?? 15_000;
      return new Promise((resolve, reject) => {
        const check = () => {
          const start = options.fromIndex ?? cursor;
          for (let i = start; i < events.length; i++) {
            if (predicate(events[i]!)) {
              if (options.fromIndex === undefined) cursor = i + 1;
              cleanup();
              resolve(events[i]!);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${typeof match === 'string' ? match : 'a matching event'}; got: ${events.map((e) => e.type).join(', ')}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        if (!check()) waiters.add(check);
      });
    },
    close() {
      ws.close();
    },
  };
}

let counter = 0;

/** Signs a user up, marks the email verified (as the emailed link would) and logs in. */
export async function signUpAndLogin(wahub: TestWahub, label = 'user'): Promise<{ accessToken: string; userId: string; tenantId: string; email: string }> {
  const email = `${label}-${Date.now()}-${counter++}@example.com`;
  const password = 'correct horse battery staple';
  const signUp = await wahub.request('POST', '/users', { body: { email, password, name: label } });
  if (signUp.status !== 201) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
  const user = (await signUp.json()) as { id: string; tenantId: string };
  await wahub.resources.db.query(`update users set email_verified_at = now() where id = $1`, [user.id]);
  const login = await wahub.request('POST', '/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { accessToken, userId: user.id, tenantId: user.tenantId, email };
}

/** Polls until fn returns a truthy value, or fails after timeoutMs. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
