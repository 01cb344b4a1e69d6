import { sha256 } from '../../../platform/crypto.js';
import { DomainError } from '../../../shared/errors.js';
import type { RateLimiter } from './ports.js';

export interface LoginThrottleOptions {
  maxFailuresPerEmail: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

/**
 * Failed logins counted per account (normalised email, known or not, so the limit reveals nothing)
 * and per client IP, each in a fixed window. A success clears the account's counter only: an IP
 * that guesses across many accounts stays limited.
 */
export class LoginThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly options: LoginThrottleOptions,
  ) {}

  // Hashed: the rate-limit store never holds the addresses themselves.
  private emailKey = (email: string) => `login-failures:email:${sha256(email)}`;
  private ipKey = (ip: string) => `login-failures:ip:${ip}`;

  /** Throws rate_limited (429 with Retry-After) when either counter is at its limit. */
  async assertAllowed(email: string, ip: string): Promise<void> {
    const [byEmail, byIp] = await this.limiter.peek([this.emailKey(email), this.ipKey(ip)]);
    const waits: number[] = [];
    if (byEmail && byEmail.count >= this.options.maxFailuresPerEmail) waits.push(byEmail.resetInSeconds);
    if (byIp && byIp.count >= this.options.maxFailuresPerIp) waits.push(byIp.resetInSeconds);
    if (waits.length === 0) return;
    const retryAfterSeconds = Math.max(1, ...waits);
    throw new DomainError('rate_limited', 'rate_limited', `Too many failed logins; try again in ${retryAfterSeconds} seconds`, {
      retryAfterSeconds,
    });
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    await this.limiter.hit([this.emailKey(email), this.ipKey(ip)], this.options.windowSeconds);
  }

  async clearAccount(email: string): Promise<void> {
    await this.limiter.reset(this.emailKey(email));
  }
}
