import { jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../../../platform/clock.js';
import { isUuid, newId } from '../../../platform/ids.js';
import type { AccessTokenCodec } from '../application/ports.js';
import type { AccessTokenClaims } from '../domain/access-token.js';

const TYPE = 'access';

/** HS256 JWTs: sub = user id, tid = tenant id, ver = token version, typ = 'access'. */
export class JoseAccessTokenCodec implements AccessTokenCodec {
  private readonly key: Uint8Array;
  readonly ttlSeconds: number;

  constructor(private readonly options: { secret: string; ttlSeconds: number; clock: Clock }) {
    this.key = new TextEncoder().encode(options.secret);
    this.ttlSeconds = options.ttlSeconds;
  }

  async sign(claims: AccessTokenClaims): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Math.floor(this.options.clock.now().getTime() / 1000);
    const expiresAt = issuedAt + this.ttlSeconds;
    const token = await new SignJWT({ tid: claims.tenantId, ver: claims.tokenVersion, typ: TYPE })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(newId())
      .sign(this.key);
    return { token, expiresAt: new Date(expiresAt * 1000) };
  }

  async verify(token: string): Promise<AccessTokenClaims & { expiresAt: Date }> {
    const { payload } = await jwtVerify(token, this.key, {
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp', 'iat'],
      currentDate: this.options.clock.now(),
    });
    const { sub, tid, ver, typ, exp } = payload;
    // Only tokens of our own shape count, not any JWT that happens to carry our signature.
    if (typ !== TYPE || typeof sub !== 'string' || !isUuid(sub) || typeof tid !== 'string' || !isUuid(tid)) {
      throw new Error('not an access token');
    }
    if (typeof ver !== 'number' || !Number.isInteger(ver) || typeof exp !== 'number') throw new Error('not an access token');
    return { userId: sub, tenantId: tid, tokenVersion: ver, expiresAt: new Date(exp * 1000) };
  }
}
