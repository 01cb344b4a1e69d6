import { DisconnectReason } from 'baileys';
import { WhatsAppCommandError } from '../../domain/whatsapp-driver.js';
import { statusCodeOf } from './close-reason.js';

/**
 * Why a socket call failed, in wahub's words. Baileys throws Booms: connection trouble carries a
 * DisconnectReason as status code ('Connection Closed' 428, 'Timed Out' 408); an error WhatsApp
 * answered to a query carries its code in `data` with the default status 500
 * (WABinary/generic-utils.js assertNodeErrorFree); bad content is 400.
 */
export function toCommandError(error: unknown): WhatsAppCommandError {
  if (error instanceof WhatsAppCommandError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const status = statusCodeOf(error);
  if (status === null) return new WhatsAppCommandError('internal_error', message, false);
  const data = (error as { data?: unknown }).data;
  const fromServer = typeof data === 'number' && Number.isFinite(data);
  const [reason, retryable] = fromServer ? reasonOf(data, message) : CONNECTION_STATUS.has(status) ? ['not_connected', true] : reasonOf(status, message);
  return new WhatsAppCommandError(reason, message, retryable);
}

/** Statuses the socket closes with: the command never reached WhatsApp, a later connection may run it. */
const CONNECTION_STATUS = new Set<number>([
  DisconnectReason.connectionClosed, // 428
  DisconnectReason.connectionReplaced, // 440
  DisconnectReason.loggedOut, // 401
  DisconnectReason.multideviceMismatch, // 411
  DisconnectReason.restartRequired, // 515
]);

function reasonOf(code: number, message: string): [string, boolean] {
  if (code === 429 || message === 'rate-overlimit') return ['rate_limited', true];
  switch (code) {
    case DisconnectReason.timedOut: // 408
      return ['timeout', true];
    case 400:
    case 406:
      return ['invalid_command', false];
    case 401:
    case 403:
      return ['not_authorized', false];
    case 404:
      return ['not_found', false];
    case 463:
      return ['reach_out_time_lock', false];
    default:
      return code >= 500 ? ['server_error', true] : ['failed', false];
  }
}
