import nodemailer, { type Transporter } from 'nodemailer';
import type { Mailer, OutgoingMail } from '../application/ports.js';

/** Sends through the SMTP server of SMTP_URL (smtp://user:pass@host:587, smtps://... for implicit TLS). */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
  }

  close(): void {
    this.transport.close();
  }
}
