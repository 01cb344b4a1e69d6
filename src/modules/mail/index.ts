/** The mail module's public surface: what other modules and the composition root may use. */
export type { Mailer, OutgoingMail } from './application/ports.js';
export { MailQueue, MAIL_REQUESTED, type MailRequestedPayload } from './application/mail-queue.js';
export { MailSealer } from './application/mail-sealer.js';
export { MAILER_GROUP } from './application/deliver-mail.consumer.js';
export { createMailModule } from './mail.module.js';
