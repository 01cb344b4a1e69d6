import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from '../support/services.js';
import { startTestWahub, type TestWahub } from '../support/wahub.js';
import { mailFilesTo, PASSWORD, signUp, uniqueEmail, waitFor } from '../auth/auth-helpers.js';

interface SmtpMessage {
  from: string;
  to: string[];
  data: string;
}

/** Just enough SMTP to receive messages; the first `failTimes` messages are refused with 451. */
async function fakeSmtp(options: { failTimes?: number } = {}): Promise<{ url: string; messages: SmtpMessage[]; refused: number; close(): Promise<void> }> {
  const state = { messages: [] as SmtpMessage[], refused: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let current: SmtpMessage = { from: '', to: [], data: '' };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    const handle = (line: string) => {
      if (inData) {
        if (line !== '.') {
          current.data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          return;
        }
        inData = false;
        if (state.refused < (options.failTimes ?? 0)) {
          state.refused += 1;
          reply('451 4.3.0 try again later');
        } else {
          state.messages.push(current);
          reply('250 2.0.0 queued');
        }
        current = { from: '', to: [], data: '' };
        return;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') reply('250-fake.smtp.test\r\n250 8BITMIME');
      else if (verb === 'HELO') reply('250 fake.smtp.test');
      else if (verb === 'MAIL') (current.from = line, reply('250 2.1.0 ok'));
      else if (verb === 'RCPT') (current.to.push(line), reply('250 2.1.5 ok'));
      else if (verb === 'DATA') (inData = true, reply('354 go ahead'));
      else if (verb === 'QUIT') socket.end('221 bye\r\n');
      else if (verb === 'RSET' || verb === 'NOOP') reply('250 ok');
      else reply('502 5.5.2 not implemented');
    };
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        handle(line);
      }
    });
    reply('220 fake.smtp.test ESMTP');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages: state.messages,
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const decodeQuotedPrintable = (text: string) =>
  text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

describe.each(MODES)('sending email (%s)', (mode) => {
  describe('with SMTP_URL', () => {
    let smtp: Awaited<ReturnType<typeof fakeSmtp>>;
    let wahub: TestWahub;
    beforeAll(async () => {
      smtp = await fakeSmtp({ failTimes: 1 });
      wahub = await startTestWahub(mode, { SMTP_URL: smtp.url, MAIL_FROM: 'wahub <no-reply@wahub.test>', STREAM_CLAIM_IDLE_MS: '200' });
    });
    afterAll(async () => {
      await wahub?.stop();
      await smtp?.close();
    });

    it('sends through the SMTP server from MAIL_FROM, retrying a refused send, off the request path', async () => {
      const email = uniqueEmail('smtp');
      const started = Date.now();
      const user = await signUp(wahub, { email, password: PASSWORD });
      expect(Date.now() - started).toBeLessThan(5000);

      const message = await waitFor('the message at the SMTP server', async () => smtp.messages.find((m) => m.data.includes(email)));
      expect(smtp.refused).toBe(1); // the first attempt was refused, the entry stayed pending and came back
      expect(message.from).toContain('no-reply@wahub.test');
      expect(message.to).toEqual([expect.stringContaining(email)]);
      expect(message.data).toMatch(/^Subject: Confirm your email address$/m);
      const body = decodeQuotedPrintable(message.data);
      expect(body).toContain(`/verify-email?userId=${user.id}&token=`);
      expect(smtp.messages.filter((m) => m.data.includes(email))).toHaveLength(1);
      // Nothing is written to DATA_DIR/mail when SMTP is configured.
      expect(await mailFilesTo(wahub, email)).toHaveLength(0);
      const rows = await wahub.resources.db.query(`select 1 from processed_events where consumer = 'mailer'`);
      expect(rows.length).toBeGreaterThan(0);
    });
  });

  describe('when the SMTP server stays unreachable', () => {
    let wahub: TestWahub;
    beforeAll(async () => {
      wahub = await startTestWahub(mode, {
        SMTP_URL: `smtp://127.0.0.1:${await closedPort()}`,
        STREAM_CLAIM_IDLE_MS: '100',
        STREAM_MAX_DELIVERIES: '2',
      });
    });
    afterAll(async () => wahub?.stop());

    it('sign-up still succeeds, and the email ends in the dead-letter stream after the last try', async () => {
      const email = uniqueEmail('undeliverable');
      await signUp(wahub, { email, password: PASSWORD });
      const { bus } = wahub.resources;
      const dead = await waitFor('a dead-lettered mail', async () => {
        const entries = await bus.range('mail:dead-letter', '0-0', 100);
        return entries.find((e) => e.fields.data?.includes(email) || e.fields.type === 'mail.requested');
      });
      expect(dead.fields.type).toBe('mail.requested');
      await waitFor('no pending mail', async () => (await bus.groupStats('mail', 'mailer')).pending === 0);
    });
  });
});
