/** One email, fully composed. text is what every client shows; html is the optional rich version. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** Sends (or, without SMTP, stores) one email; a throw means it was not sent and will be retried. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}
