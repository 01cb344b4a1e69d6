import { randomToken, sha256 } from '../../../platform/crypto.js';
import type { Queryable } from '../../../platform/db/db.js';
import { newId } from '../../../platform/ids.js';
import { toUserView, type User, type UserView } from '../../users/index.js';
import type { AccessTokenCodec, RefreshTokenRepository } from './ports.js';

/** What login and refresh hand back: the HTTP edge puts the refresh token in a cookie. */
export interface AuthSession {
  accessToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: Date;
  user: UserView;
}

export interface IssuedRefreshToken {
  token: string;
  expiresAt: Date;
}

/** A new refresh token of a family (a new family at login, the same one on rotation). */
export async function issueRefreshToken(
  repo: RefreshTokenRepository,
  q: Queryable,
  input: { user: Pick<User, 'id' | 'tenantId'>; familyId: string; now: Date; ttlDays: number },
): Promise<IssuedRefreshToken> {
  const token = randomToken();
  const expiresAt = new Date(input.now.getTime() + input.ttlDays * 86_400_000);
  await repo.insert(q, {
    id: newId(),
    tenantId: input.user.tenantId,
    userId: input.user.id,
    familyId: input.familyId,
    tokenHash: sha256(token),
    expiresAt,
  });
  return { token, expiresAt };
}

export async function openSession(accessTokens: AccessTokenCodec, user: User, refresh: IssuedRefreshToken): Promise<AuthSession> {
  const access = await accessTokens.sign({ userId: user.id, tenantId: user.tenantId, tokenVersion: user.tokenVersion });
  return {
    accessToken: access.token,
    expiresIn: accessTokens.ttlSeconds,
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt,
    user: toUserView(user),
  };
}
