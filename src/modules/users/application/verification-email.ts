import type { OutgoingMail } from '../../mail/index.js';

/** The link the front end serves; it POSTs userId and token to /users/:id/verify. */
export function verificationLink(appPublicUrl: string, userId: string, token: string): string {
  return `${appPublicUrl}/verify-email?userId=${encodeURIComponent(userId)}&token=${encodeURIComponent(token)}`;
}

export function verificationEmail(input: { to: string; name: string | null; link: string; ttlHours: number }): OutgoingMail {
  const greeting = input.name ? `Hello ${input.name},` : 'Hello,';
  return {
    to: input.to,
    subject: 'Confirm your email address',
    text: [
      greeting,
      '',
      'Confirm your email address for wahub by opening this link:',
      '',
      input.link,
      '',
      `The link works once and expires in ${input.ttlHours} hours. If you did not sign up, ignore this email.`,
      '',
    ].join('\n'),
    html:
      `<p>${escapeHtml(greeting)}</p>` +
      `<p>Confirm your email address for wahub by opening <a href="${escapeHtml(input.link)}">this link</a>.</p>` +
      `<p>The link works once and expires in ${input.ttlHours} hours. If you did not sign up, ignore this email.</p>`,
  };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
