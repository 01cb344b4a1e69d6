import type { Queryable } from '../../../platform/db/db.js';
import type { Logger } from '../../../platform/logger.js';
import type { StreamEntry } from '../../../events/bus/stream-bus.js';
import { fromStreamFields } from '../../../events/envelope.js';
import { MAIL_REQUESTED, type MailRequestedPayload } from './mail-queue.js';
import type { MailSealer } from './mail-sealer.js';
import type { Mailer } from './ports.js';

export const MAILER_GROUP = 'mailer';

export interface DeliverMailDeps {
  db: Queryable;
  mailer: Mailer;
  sealer: MailSealer;
  logger: Logger;
}

/**
 * Handles one `mail` stream entry: sends it, then records its event id. A throw leaves the entry
 * pending, so the stream consumer delivers it again (and dead-letters it after too many tries).
 * The inbox row makes a redelivery after a successful send (the ack was lost) a no-op, short of a
 * crash between the send and the insert.
 */
export function deliverMailHandler(deps: DeliverMailDeps): (entry: StreamEntry) => Promise<void> {
  const { db, mailer, sealer, logger } = deps;
  return async (entry) => {
    const event = fromStreamFields(entry.fields);
    if (event.type !== MAIL_REQUESTED) {
      logger.warn({ type: event.type, entryId: entry.id }, 'ignored an unknown entry on the mail stream');
      return;
    }
    const sent = await db.query('select 1 from processed_events where consumer = $1 and event_id = $2', [MAILER_GROUP, event.eventId]);
    if (sent.length > 0) return;
    const payload = event.payload as unknown as MailRequestedPayload;
    const body = sealer.unseal<{ text: string; html?: string }>(payload.sealed);
    await mailer.send({ to: payload.to, subject: payload.subject, text: body.text, html: body.html });
    await db.query('insert into processed_events (consumer, event_id) values ($1, $2) on conflict do nothing', [
      MAILER_GROUP,
      event.eventId,
    ]);
  };
}
