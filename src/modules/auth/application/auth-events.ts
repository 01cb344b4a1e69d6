import { envelope, STREAMS } from '../../../events/envelope.js';
import type { OutboxMessage } from '../../../events/outbox/outbox.js';

export const USER_TOKENS_REVOKED = 'user.tokens.revoked';

export interface UserTokensRevokedPayload {
  tenantId: string;
  userId: string;
  /** The new token version: access tokens carrying an older one are no longer accepted. */
  tokenVersion: number;
}

/** Tells the WebSocket hub to close the user's sockets (their access tokens just stopped counting). */
export function userTokensRevoked(payload: UserTokensRevokedPayload): OutboxMessage {
  return {
    stream: STREAMS.authEvents,
    partitionKey: `user:${payload.userId}`,
    event: envelope(USER_TOKENS_REVOKED, null, payload),
  };
}
