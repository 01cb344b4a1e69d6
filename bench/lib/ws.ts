import WebSocket from 'ws';
import { epochMs } from './stats.js';

export interface WsEvent {
  type: string;
  sessionId: string | null;
  eventId: string;
  occurredOn: string;
  payload: Record<string, any>;
}

type Listener = (event: WsEvent, receivedAt: number) => void;

/**
 * A WebSocket client of /ws/sessions. Each message is stamped (epochMs) before it is parsed.
 * Events are buffered for `next()` (setup steps) until `clear()`; listeners see every event.
 */
export class WsClient {
  private buffer: WsEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const receivedAt = epochMs();
      const event = JSON.parse(String(data)) as WsEvent;
      for (const l of this.listeners) l(event, receivedAt);
      if (this.buffer.length < 10_000) this.buffer.push(event);
      for (const w of this.waiters) w();
    });
  }

  static async connect(baseUrl: string, accessToken: string): Promise<WsClient> {
    const url = new URL('/ws/sessions', baseUrl.replace(/^http/, 'ws'));
    url.searchParams.set('accessToken', accessToken);
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    return client;
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first buffered event (oldest first) that matches, consumed; waits up to timeoutMs for it. */
  next(match: string | ((e: WsEvent) => boolean), timeoutMs = 15_000): Promise<WsEvent> {
    const predicate = typeof match === 'string' ? (e: WsEvent) => e.type === match : match;
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.buffer.findIndex(predicate);
        if (i < 0) return false;
        const [event] = this.buffer.splice(0, i + 1).slice(-1);
        done();
        resolve(event!);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof match === 'string' ? match : 'an event'} on the WebSocket`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  clear(): void {
    this.buffer = [];
  }

  close(): void {
    this.ws.close();
  }
}
