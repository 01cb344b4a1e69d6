import { DomainError } from '../../../shared/errors.js';

// One body for an unknown email and a wrong password: the answer must not tell them apart.
export const invalidCredentials = () => new DomainError('unauthorized', 'invalid_credentials', 'The email address or the password is wrong');

export const emailNotVerified = () =>
  new DomainError('forbidden', 'email_not_verified', 'Confirm your email address first (POST /auth/resend-verification sends a new link)');

export const refreshTokenInvalid = () =>
  new DomainError('unauthorized', 'refresh_token_invalid', 'The refresh token is missing, expired or revoked; log in again');

export const refreshTokenReused = () =>
  new DomainError('unauthorized', 'refresh_token_reused', 'This refresh token was already used: the sessions of this login are revoked; log in again');

export const unauthorized = (detail: string) => new DomainError('unauthorized', 'unauthorized', detail);
