import { createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { createRouter, type App, type AppEnv } from '../../../platform/http/app.js';
import { ACCEPTED, AcceptedSchema, EmailSchema, NewPasswordSchema, PasswordSchema, problemResponse, UserSchema } from '../../users/index.js';
import type { ConfirmPasswordResetUseCase } from '../application/confirm-password-reset.use-case.js';
import type { LoginUseCase } from '../application/login.use-case.js';
import type { RefreshSessionUseCase } from '../application/refresh-session.use-case.js';
import type { AuthSession } from '../application/session-tokens.js';
import { clearRefreshCookie, readRefreshCookie, REFRESH_COOKIE, setRefreshCookie, type RefreshCookieOptions } from './refresh-cookie.js';

export interface AuthRoutesDeps {
  login: LoginUseCase;
  refresh: RefreshSessionUseCase;
  logout: (input: { refreshToken?: string }) => Promise<void>;
  logoutAll: (input: { userId: string; tenantId: string }) => Promise<void>;
  requestPasswordReset: (input: { email: string }) => Promise<void>;
  confirmPasswordReset: ConfirmPasswordResetUseCase;
  requireAuth: MiddlewareHandler<AppEnv>;
  cookie: RefreshCookieOptions;
}

const json = <T>(schema: T) => ({ 'application/json': { schema } });

const SessionSchema = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().openapi({ description: 'Seconds the access token lives' }),
    user: UserSchema,
  })
  .openapi('Session');

const setsRefreshCookie = {
  'Set-Cookie': {
    description: `\`${REFRESH_COOKIE}\`: the refresh token (HttpOnly, SameSite=Strict, Path=/auth, Secure unless COOKIE_SECURE=false)`,
    schema: { type: 'string' as const },
  },
};

const loginRoute = createRoute({
  method: 'post',
  path: '/auth/login',
  tags: ['auth'],
  summary: 'Logs in: an access token in the body, a refresh token in a cookie',
  request: { body: { required: true, content: json(z.object({ email: EmailSchema, password: PasswordSchema }).openapi('Login')) } },
  responses: {
    200: { description: 'Logged in', headers: setsRefreshCookie, content: json(SessionSchema) },
    400: problemResponse('Invalid body'),
    401: problemResponse('Wrong email or password (`invalid_credentials`; the same for an unknown email)'),
    403: problemResponse('The email address is not verified yet (`email_not_verified`)'),
    429: problemResponse('Too many failed logins for this account or address (`rate_limited`; see Retry-After)'),
  },
});

const refreshRoute = createRoute({
  method: 'post',
  path: '/auth/refresh',
  tags: ['auth'],
  summary: 'Rotates the refresh token of the cookie and issues a new access token',
  description: 'Presenting a refresh token that was already rotated revokes its whole family (reuse detection).',
  responses: {
    200: { description: 'A new access token; the cookie holds a new refresh token', headers: setsRefreshCookie, content: json(SessionSchema) },
    401: problemResponse('Missing, expired or revoked refresh token (`refresh_token_invalid`), or reuse (`refresh_token_reused`)'),
  },
});

const logoutRoute = createRoute({
  method: 'post',
  path: '/auth/logout',
  tags: ['auth'],
  summary: 'Revokes the refresh token of the cookie and clears the cookie',
  responses: { 204: { description: 'Logged out (also when there was nothing to revoke)' } },
});

const logoutAllRoute = createRoute({
  method: 'post',
  path: '/auth/logout-all',
  tags: ['auth'],
  summary: 'Revokes every refresh token of the user and every access token issued so far',
  security: [{ bearer: [] }],
  responses: {
    204: { description: 'Logged out everywhere' },
    401: problemResponse('Missing, invalid, expired or revoked access token (`unauthorized`)'),
  },
});

const passwordResetRoute = createRoute({
  method: 'post',
  path: '/auth/password-reset',
  tags: ['auth'],
  summary: 'Emails a password reset link; answers the same whether or not the address has an account',
  request: { body: { required: true, content: json(z.object({ email: EmailSchema }).openapi('PasswordReset')) } },
  responses: {
    202: { description: 'Accepted (always, for any address)', content: json(AcceptedSchema) },
    400: problemResponse('Invalid body'),
  },
});

const confirmRoute = createRoute({
  method: 'post',
  path: '/auth/password-reset/confirm',
  tags: ['auth'],
  summary: 'Sets a new password with the token of the reset link; logs the user out everywhere',
  request: {
    body: {
      required: true,
      content: json(z.object({ token: z.string().min(1).max(512), password: NewPasswordSchema }).openapi('PasswordResetConfirm')),
    },
  },
  responses: {
    204: { description: 'Password changed; every session of the user is revoked' },
    400: problemResponse('Invalid body, or a token that is unknown or used (`token_invalid`) or expired (`token_expired`)'),
  },
});

export function authRoutes(deps: AuthRoutesDeps): App {
  const router = createRouter();

  const session = (c: Context, s: AuthSession) => {
    setRefreshCookie(c, s.refreshToken, s.refreshExpiresAt, deps.cookie);
    c.header('Cache-Control', 'no-store');
    return { accessToken: s.accessToken, tokenType: 'Bearer' as const, expiresIn: s.expiresIn, user: s.user };
  };

  router.openapi(loginRoute, async (c) => {
    const { email, password } = c.req.valid('json');
    const s = await deps.login.execute({ email, password, clientIp: c.var.clientIp });
    return c.json(session(c, s), 200);
  });

  router.openapi(refreshRoute, async (c) => {
    try {
      return c.json(session(c, await deps.refresh.execute(readRefreshCookie(c))), 200);
    } catch (error) {
      clearRefreshCookie(c, deps.cookie); // a dead refresh token is of no use to the client
      throw error;
    }
  });

  router.openapi(logoutRoute, async (c) => {
    await deps.logout({ refreshToken: readRefreshCookie(c) });
    clearRefreshCookie(c, deps.cookie);
    return c.body(null, 204);
  });

  router.openapi({ ...logoutAllRoute, middleware: [deps.requireAuth] as const }, async (c) => {
    await deps.logoutAll(c.var.auth);
    clearRefreshCookie(c, deps.cookie);
    return c.body(null, 204);
  });

  router.openapi(passwordResetRoute, async (c) => {
    await deps.requestPasswordReset(c.req.valid('json'));
    return c.json(ACCEPTED, 202);
  });

  router.openapi(confirmRoute, async (c) => {
    await deps.confirmPasswordReset.execute(c.req.valid('json'));
    return c.body(null, 204);
  });

  return router;
}
