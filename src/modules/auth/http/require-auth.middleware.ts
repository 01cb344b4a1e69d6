import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../../platform/http/app.js';
import { DomainError } from '../../../shared/errors.js';
import { unauthorized } from '../application/auth-errors.js';
import type { AccessTokenVerifier } from '../application/verify-access-token.query.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Guards a route: `Authorization: Bearer <access token>` must verify (signature, expiry, current
 * token version); then c.var.auth = { userId, tenantId } from the token's claims, the only source
 * of the tenant. Otherwise 401 `unauthorized` with `WWW-Authenticate: Bearer`.
 */
export function requireAuth(verifier: Pick<AccessTokenVerifier, 'verifyAccessToken'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Several routers guard overlapping paths (/chats/*): verify once per request.
    if (c.get('auth')) return next();
    const match = BEARER.exec(c.req.header('authorization') ?? '');
    if (!match?.[1]) {
      // Headers set on the context before the throw are kept on the problem response.
      c.header('WWW-Authenticate', 'Bearer realm="wahub"');
      throw unauthorized('This route needs an access token: Authorization: Bearer <accessToken>');
    }
    try {
      const verified = await verifier.verifyAccessToken(match[1]);
      c.set('auth', { userId: verified.userId, tenantId: verified.tenantId });
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'unauthorized') {
        c.header('WWW-Authenticate', 'Bearer realm="wahub", error="invalid_token"');
      }
      throw error;
    }
    await next();
  };
}
