import type { Queryable } from '../../../platform/db/db.js';
import type { UserRepository } from '../../users/index.js';
import { isTokenVersionCurrent } from '../domain/access-token.js';
import { unauthorized } from './auth-errors.js';
import type { AccessTokenCodec } from './ports.js';

export interface VerifiedAccessToken {
  userId: string;
  tenantId: string;
  tokenVersion: number;
  expiresAt: Date;
}

/**
 * The one check behind every authenticated request and WebSocket: signature and expiry, then the
 * user's current token version (one primary-key lookup), so logout-all and a password reset take
 * effect at once. Throws DomainError `unauthorized`.
 */
export class AccessTokenVerifier {
  constructor(private readonly deps: { db: Queryable; users: Pick<UserRepository, 'findTokenState'>; accessTokens: AccessTokenCodec }) {}

  async verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
    let claims: Awaited<ReturnType<AccessTokenCodec['verify']>>;
    try {
      claims = await this.deps.accessTokens.verify(token);
    } catch {
      throw unauthorized('The access token is invalid or expired');
    }
    const state = await this.deps.users.findTokenState(this.deps.db, claims.userId);
    if (!state || state.tenantId !== claims.tenantId || !isTokenVersionCurrent(claims, state.tokenVersion)) {
      throw unauthorized('The access token has been revoked');
    }
    return { userId: claims.userId, tenantId: claims.tenantId, tokenVersion: claims.tokenVersion, expiresAt: claims.expiresAt };
  }
}
