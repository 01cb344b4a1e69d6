/**
 * The auth module's public surface. Other modules guard routes with `requireAuth(verifier)` (or the
 * instance the composition root built) and the WebSocket hub checks tokens with `verifyAccessToken`.
 */
export { requireAuth } from './http/require-auth.middleware.js';
export { AccessTokenVerifier, type VerifiedAccessToken } from './application/verify-access-token.query.js';
export { USER_TOKENS_REVOKED, type UserTokensRevokedPayload } from './application/auth-events.js';
export type { AccessTokenClaims } from './domain/access-token.js';
export type { AccessTokenCodec, RateLimiter, RefreshTokenRepository } from './application/ports.js';
export { REFRESH_COOKIE } from './http/refresh-cookie.js';
export { createAuthModule, type AuthModule, type AuthModuleDeps } from './auth.module.js';
