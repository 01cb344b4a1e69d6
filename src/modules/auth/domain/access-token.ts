/** What an access token asserts, once its signature and expiry are checked. */
export interface AccessTokenClaims {
  userId: string;
  tenantId: string;
  /** The user's token_version when it was issued; a later bump revokes it. */
  tokenVersion: number;
}

/** An access token still counts only while the user's token version is the one it carries. */
export const isTokenVersionCurrent = (claims: Pick<AccessTokenClaims, 'tokenVersion'>, current: number): boolean =>
  claims.tokenVersion === current;
