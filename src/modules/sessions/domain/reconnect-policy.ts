import type { CloseReason } from './whatsapp-driver.js';
import type { DisconnectReason } from './session.js';

export type CloseAction =
  /** Reconnect at once (the 515 right after a scan). */
  | { kind: 'reconnect_now' }
  /** A transient close: report it and reconnect with backoff. */
  | { kind: 'reconnect_later'; reason: DisconnectReason }
  /** Final: the session ends in `disconnected`; wipeAuth when the login is gone. */
  | { kind: 'end'; reason: DisconnectReason; wipeAuth: boolean }
  /** We closed it ourselves: nothing to do. */
  | { kind: 'ignore' };

/** What the worker does when WhatsApp closes a connection (see BAILEYS-NOTES.md, Disconnects). */
export function closeAction(reason: CloseReason): CloseAction {
  switch (reason) {
    case 'restart_required':
      return { kind: 'reconnect_now' };
    case 'connection_lost':
    case 'unavailable':
    case 'bad_session':
      return { kind: 'reconnect_later', reason };
    case 'logged_out':
      return { kind: 'end', reason: 'logged_out', wipeAuth: true };
    case 'connection_replaced':
      // Another client holds this login now; reconnecting would fight it in a loop.
      return { kind: 'end', reason: 'connection_replaced', wipeAuth: false };
    case 'version_outdated':
      return { kind: 'end', reason: 'version_outdated', wipeAuth: false };
    case 'qr_timeout':
      return { kind: 'end', reason: 'qr_timeout', wipeAuth: false };
    case 'closed_by_us':
      return { kind: 'ignore' };
  }
}

/** Exponential backoff with full jitter: 1 s, 2 s, 4 s ... capped at 60 s, each drawn in [0, cap]. */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = 1000, capMs = 60_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.max(250, Math.floor(random() * ceiling));
}
