import type { TestWahub } from './wahub.js';
import { connectWs, signUpAndLogin, type TestSocket } from './clients.js';

export interface ConnectedSession {
  token: string;
  tenantId: string;
  sessionId: string;
  phone: string;
  ws: TestSocket;
  /** A request with this user's token. */
  api(method: string, path: string, body?: unknown): Promise<Response>;
  /** A JSON request that must succeed with `status`; returns the body. */
  ok<T = any>(method: string, path: string, body?: unknown, status?: number): Promise<T>;
}

let phones = 0;

/** Signs up, opens the WebSocket, creates a session and scans it with the simulator: connected. */
export async function connectedSession(wahub: TestWahub, label: string): Promise<ConnectedSession> {
  const user = await signUpAndLogin(wahub, label);
  const ws = connectWs(wahub.url, { accessToken: user.accessToken });
  await ws.next('session.snapshot');
  const api = (method: string, path: string, body?: unknown) => wahub.request(method, path, { token: user.accessToken, body });
  const ok = async (method: string, path: string, body?: unknown, status = 202) => {
    const res = await api(method, path, body);
    const text = await res.text();
    if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const { session } = await ok('POST', '/sessions', undefined, 201);
  await ws.next('session.qr.updated');
  const phone = `5198${String(process.pid % 1000).padStart(3, '0')}${String(phones++).padStart(4, '0')}`;
  await ok('POST', `/simulator/sessions/${session.id}/scan`, { phone });
  await ws.next('session.status.connected');
  return { token: user.accessToken, tenantId: user.tenantId, sessionId: session.id, phone, ws, api, ok };
}
