import { escapeHtml, type User } from '../../users/index.js';
import type { OutgoingMail } from '../../mail/index.js';

/** The front end's page; it POSTs the token and the new password to /auth/password-reset/confirm. */
export function passwordResetLink(appPublicUrl: string, token: string): string {
  return `${appPublicUrl}/reset-password?token=${encodeURIComponent(token)}`;
}

export function passwordResetEmail(input: { user: Pick<User, 'email' | 'name'>; link: string; ttlMinutes: number }): OutgoingMail {
  const greeting = input.user.name ? `Hello ${input.user.name},` : 'Hello,';
  const closing = `The link works once and expires in ${input.ttlMinutes} minutes. If you did not ask for it, ignore this email: your password stays as it is.`;
  return {
    to: input.user.email,
    subject: 'Reset your password',
    text: [greeting, '', 'Choose a new wahub password by opening this link:', '', input.link, '', closing, ''].join('\n'),
    html:
      `<p>${escapeHtml(greeting)}</p>` +
      `<p>Choose a new wahub password by opening <a href="${escapeHtml(input.link)}">this link</a>.</p>` +
      `<p>${escapeHtml(closing)}</p>`,
  };
}
