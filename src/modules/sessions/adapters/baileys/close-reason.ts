import { DisconnectReason } from 'baileys';
import type { CloseReason, ConnectionClose } from '../../domain/whatsapp-driver.js';

/** Baileys ends the QR phase with this message when WhatsApp's refs ran out (Socket/socket.js, genPairQR). */
export const QR_REFS_ENDED = 'QR refs attempts ended';

/** HTTP-like code WhatsApp answers when it no longer accepts our client version. */
export const VERSION_OUTDATED = 405;

export interface CloseContext {
  /** The creds belong to a linked device (see isLoggedIn). */
  loggedIn: boolean;
  /** This connection showed (or received, in pairing-code mode) at least one QR. */
  qrPhaseStarted: boolean;
}

/** The status code of the error `connection.update` carries in `lastDisconnect` (a Boom, usually). */
export function statusCodeOf(error: unknown): number | null {
  const code = (error as { output?: { statusCode?: unknown } } | null | undefined)?.output?.statusCode;
  return typeof code === 'number' && Number.isFinite(code) ? code : null;
}

/** Maps why Baileys closed a connection to wahub's CloseReason. */
export function describeClose(error: unknown, context: CloseContext): ConnectionClose {
  const statusCode = statusCodeOf(error);
  const message = error instanceof Error ? error.message : null;
  return { reason: closeReasonOf(statusCode, message, context), statusCode, message };
}

export function closeReasonOf(statusCode: number | null, message: string | null, context: CloseContext): CloseReason {
  switch (statusCode) {
    case DisconnectReason.restartRequired: // 515
      return 'restart_required';
    case DisconnectReason.loggedOut: // 401
    case DisconnectReason.forbidden: // 403
    case DisconnectReason.multideviceMismatch: // 411
      return 'logged_out';
    case DisconnectReason.connectionReplaced: // 440
      return 'connection_replaced';
    case VERSION_OUTDATED:
      return 'version_outdated';
    case DisconnectReason.timedOut: // 408, also DisconnectReason.connectionLost
      if (message === QR_REFS_ENDED) return 'qr_timeout';
      // Baileys also reports a network timeout (ETIMEDOUT, ENOTFOUND ...) as 408: before any QR it
      // is a failed connection, not a QR nobody scanned.
      return !context.loggedIn && context.qrPhaseStarted ? 'qr_timeout' : 'connection_lost';
    case DisconnectReason.connectionClosed: // 428
      return 'connection_lost';
    case DisconnectReason.badSession: // 500
      return 'bad_session';
    case DisconnectReason.unavailableService: // 503
      return 'unavailable';
    default:
      // Other 5xx are server trouble too (the port: "503 and 500-class server trouble").
      if (statusCode !== null && statusCode > 500 && statusCode < 600) return 'unavailable';
      return 'connection_lost';
  }
}
