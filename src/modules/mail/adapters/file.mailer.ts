import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../../../platform/logger.js';
import type { Mailer, OutgoingMail } from '../application/ports.js';

/**
 * Without SMTP (local and embedded use) each email becomes `<dir>/<timestamp>-<to>.eml`, the whole
 * message as a mail client would receive it, and a log line that names the file. The log line
 * never carries the body: it holds single-use links.
 */
export class FileMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(private readonly options: { dir: string; from: string; logger: Logger }) {
    this.transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.transport.sendMail({
      from: this.options.from,
      to: mail.to,
      subject: mail.subject,
      // 8bit parts (nodemailer would pick quoted-printable): a link stays on one line, so people can
      // copy it out of the file and grep finds it.
      text: eightBit('text/plain', mail.text),
      ...(mail.html === undefined ? {} : { html: eightBit('text/html', mail.html) }),
    });
    const message = info.message as Buffer;
    await mkdir(this.options.dir, { recursive: true });
    const file = await writeUnique(this.options.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${safeName(mail.to)}`, message);
    this.options.logger.info({ to: mail.to, subject: mail.subject, file }, 'email written to a file (SMTP_URL is not set)');
  }
}

function eightBit(type: string, content: string): { raw: string } {
  return { raw: `Content-Type: ${type}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n${content}` };
}

function safeName(address: string): string {
  return address.replace(/[^A-Za-z0-9@._+-]/g, '_').slice(0, 120);
}

async function writeUnique(dir: string, base: string, data: Buffer): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const file = path.join(dir, `${base}${attempt === 0 ? '' : `-${attempt}`}.eml`);
    try {
      await writeFile(file, data, { flag: 'wx', mode: 0o600 });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100) throw error;
    }
  }
}
