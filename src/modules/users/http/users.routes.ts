import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createRouter, type App, type AppEnv } from '../../../platform/http/app.js';
import type { GetCurrentUserQuery } from '../application/get-current-user.query.js';
import type { ResendVerificationInput } from '../application/resend-verification.use-case.js';
import type { SignUpUseCase } from '../application/sign-up.use-case.js';
import type { UserView } from '../application/user-view.js';
import type { VerifyEmailInput } from '../application/verify-email.use-case.js';
import { ACCEPTED, AcceptedSchema, EmailSchema, NameSchema, NewEmailSchema, NewPasswordSchema, problemResponse, UserSchema } from './schemas.js';

export interface UsersRoutesDeps {
  signUp: SignUpUseCase;
  verifyEmail: (input: VerifyEmailInput) => Promise<UserView>;
  resendVerification: (input: ResendVerificationInput) => Promise<void>;
  getCurrentUser: GetCurrentUserQuery;
  requireAuth: MiddlewareHandler<AppEnv>;
}

const json = <T>(schema: T) => ({ 'application/json': { schema } });

const signUpRoute = createRoute({
  method: 'post',
  path: '/users',
  tags: ['users'],
  summary: 'Sign up: creates a tenant and its owner, and emails a verification link',
  request: {
    body: {
      required: true,
      content: json(z.object({ email: NewEmailSchema, password: NewPasswordSchema, name: NameSchema.nullish() }).openapi('SignUp')),
    },
  },
  responses: {
    201: { description: 'The new user (not verified yet)', content: json(UserSchema) },
    400: problemResponse('Invalid body'),
    409: problemResponse('The email address is taken (`email_taken`)'),
    413: problemResponse('Body too large'),
  },
});

const verifyRoute = createRoute({
  method: 'post',
  path: '/users/{id}/verify',
  tags: ['users'],
  summary: 'Confirms the email address with the token of the verification link',
  request: {
    params: z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) }),
    body: { required: true, content: json(z.object({ token: z.string().min(1).max(512) }).openapi('VerifyEmail')) },
  },
  responses: {
    200: { description: 'The user, now verified', content: json(UserSchema) },
    400: problemResponse('Invalid body, or a token that is unknown, used or of another user (`token_invalid`), or expired (`token_expired`)'),
  },
});

const meRoute = createRoute({
  method: 'get',
  path: '/users/me',
  tags: ['users'],
  summary: 'The authenticated user',
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'The user the access token belongs to', content: json(UserSchema) },
    401: problemResponse('Missing, invalid, expired or revoked access token (`unauthorized`)'),
  },
});

// Under /auth because it is part of the sign-in flow; it lives here because users own verification.
const resendRoute = createRoute({
  method: 'post',
  path: '/auth/resend-verification',
  tags: ['auth'],
  summary: 'Sends a new verification link; answers the same whether or not the address has an account',
  request: { body: { required: true, content: json(z.object({ email: EmailSchema }).openapi('ResendVerification')) } },
  responses: {
    202: { description: 'Accepted (always, for any address)', content: json(AcceptedSchema) },
    400: problemResponse('Invalid body'),
  },
});

export function usersRoutes(deps: UsersRoutesDeps): App {
  const router = createRouter();

  router.openapi(signUpRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(await deps.signUp.execute(body), 201);
  });

  router.openapi(verifyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { token } = c.req.valid('json');
    return c.json(await deps.verifyEmail({ userId: id, token }), 200);
  });

  router.openapi({ ...meRoute, middleware: [deps.requireAuth] as const }, async (c) => {
    return c.json(await deps.getCurrentUser.execute(c.var.auth), 200);
  });

  router.openapi(resendRoute, async (c) => {
    await deps.resendVerification(c.req.valid('json'));
    return c.json(ACCEPTED, 202);
  });

  return router;
}
