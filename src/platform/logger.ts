import { pino, type Logger } from 'pino';

export type { Logger };

/** Field paths that can carry secrets; pino replaces their values before anything is written. */
const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'ticket',
  '*.ticket',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'cookie',
  '*.cookie',
  'secret',
  '*.secret',
];

const SECRET_QUERY_PARAMS = /([?&](?:accessToken|access_token|token|ticket)=)[^&#\s]*/gi;

/** Removes token-bearing query parameters from a URL or path before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[REDACTED]');
}

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'wahub', ...base },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
