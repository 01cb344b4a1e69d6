import { envelope, STREAMS, type EventEnvelope } from '../../../events/envelope.js';
import type { OutboxMessage } from '../../../events/outbox/outbox.js';
import type { MailSealer } from './mail-sealer.js';
import type { OutgoingMail } from './ports.js';

export const MAIL_REQUESTED = 'mail.requested';

export interface MailRequestedPayload {
  tenantId: string;
  to: string;
  subject: string;
  /** { text, html } sealed by MailSealer. */
  sealed: string;
}

export type MailRequested = EventEnvelope<MailRequestedPayload>;

/**
 * Turns an email into an outbox message on the `mail` stream. A use case emits it in the
 * transaction that caused it (ctx.emit), so the email goes out if and only if that commits, and
 * sending happens off the request path, in the mail consumer.
 */
export class MailQueue {
  constructor(private readonly sealer: MailSealer) {}

  message(tenantId: string, mail: OutgoingMail): OutboxMessage {
    const payload: MailRequestedPayload = {
      tenantId,
      to: mail.to,
      subject: mail.subject,
      sealed: this.sealer.seal({ text: mail.text, html: mail.html }),
    };
    return { stream: STREAMS.mail, partitionKey: `mail:${tenantId}`, event: envelope(MAIL_REQUESTED, null, payload) };
  }
}
