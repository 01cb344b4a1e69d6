import type { Redis } from 'ioredis';
import { randomToken, sha256 } from '../../platform/crypto.js';

export interface TicketClaims {
  userId: string;
  tenantId: string;
  tokenVersion: number;
  /** When the access token the ticket was made from expires: the socket closes then. */
  expiresAt: string;
}

/** Single-use WebSocket tickets: the safer alternative to an access token in the query string. */
export interface TicketStore {
  issue(claims: TicketClaims, ttlSeconds: number): Promise<string>;
  /** Returns the claims once; a second redemption, or one after the TTL, gets null. */
  redeem(ticket: string): Promise<TicketClaims | null>;
}

export class RedisTicketStore implements TicketStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async issue(claims: TicketClaims, ttlSeconds: number): Promise<string> {
    const ticket = randomToken();
    await this.redis.set(`${this.prefix}ws-ticket:${sha256(ticket)}`, JSON.stringify(claims), 'EX', ttlSeconds);
    return ticket;
  }

  async redeem(ticket: string): Promise<TicketClaims | null> {
    const raw = (await this.redis.call('GETDEL', `${this.prefix}ws-ticket:${sha256(ticket)}`)) as string | null;
    return raw ? (JSON.parse(raw) as TicketClaims) : null;
  }
}

export class MemoryTicketStore implements TicketStore {
  private readonly tickets = new Map<string, { claims: TicketClaims; expiresAt: number }>();

  async issue(claims: TicketClaims, ttlSeconds: number): Promise<string> {
    const now = Date.now();
    for (const [key, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(key);
    const ticket = randomToken();
    this.tickets.set(sha256(ticket), { claims, expiresAt: now + ttlSeconds * 1000 });
    return ticket;
  }

  async redeem(ticket: string): Promise<TicketClaims | null> {
    const key = sha256(ticket);
    const found = this.tickets.get(key);
    this.tickets.delete(key);
    return found && found.expiresAt > Date.now() ? found.claims : null;
  }
}
