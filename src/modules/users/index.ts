/**
 * The users module's public surface. The auth module builds on it (it reads users and shares the
 * password hasher and one-time tokens); nothing here imports from auth.
 */
export type { User } from './domain/user.js';
export { isEmailVerified } from './domain/user.js';
export { normaliseEmail } from './domain/email.js';
export { passwordPolicyViolation } from './domain/password-policy.js';
export type { OneTimeTokenPurpose } from './domain/one-time-token.js';
export type { OneTimeTokenRepository, PasswordHasher, UserRepository } from './application/ports.js';
export { OneTimeTokens, tokenExpired, tokenInvalid } from './application/one-time-tokens.js';
export { toUserView, type UserView } from './application/user-view.js';
export { fieldError, throwIfInvalid } from './application/input-errors.js';
export { escapeHtml } from './application/verification-email.js';
export type { SignUpInput } from './application/sign-up.use-case.js';
export {
  ACCEPTED,
  AcceptedSchema,
  EmailSchema,
  NewPasswordSchema,
  PasswordSchema,
  ProblemSchema,
  problemResponse,
  UserSchema,
} from './http/schemas.js';
export { createUsersModule, type CommandHooks, type UsersModuleDeps } from './users.module.js';
