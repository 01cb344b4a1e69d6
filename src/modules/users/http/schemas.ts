import { z } from '@hono/zod-openapi';
import { displayNameViolation, NAME_MAX_LENGTH } from '../domain/display-name.js';
import { EMAIL_MAX_LENGTH } from '../domain/email.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordPolicyViolation } from '../domain/password-policy.js';

/** RFC 9457 problem document, as the platform's error handler writes it. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:wahub:problem:validation_failed' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Stable machine-readable name of the problem' }),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/** A new account's address: trimmed, lowercased, then checked. */
export const NewEmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(EMAIL_MAX_LENGTH)
  .pipe(z.email())
  .openapi({ format: 'email', example: 'ada@example.com' });

/**
 * The address given to log in or to ask for a link: normalised the same way but not format-checked,
 * so an address that a stricter check would refuse today still reaches its account.
 */
export const EmailSchema = z.string().trim().toLowerCase().min(1).max(EMAIL_MAX_LENGTH).openapi({ example: 'ada@example.com' });

export const NewPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH)
  .max(PASSWORD_MAX_LENGTH)
  .superRefine((value, ctx) => {
    const problem = passwordPolicyViolation(value);
    if (problem && value.length >= PASSWORD_MIN_LENGTH && value.length <= PASSWORD_MAX_LENGTH) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ example: 'SuperSecure123!' });

export const PasswordSchema = z.string().min(1).max(PASSWORD_MAX_LENGTH).openapi({ example: 'SuperSecure123!' });

export const NameSchema = z
  .string()
  .trim()
  .max(NAME_MAX_LENGTH)
  .superRefine((value, ctx) => {
    const problem = displayNameViolation(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ example: 'Ada Lovelace' });

export const UserSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    emailVerified: z.boolean(),
    emailVerifiedAt: z.string().nullable().openapi({ format: 'date-time' }),
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('User');

/** The one answer of resend-verification and password-reset, whatever the address. */
export const AcceptedSchema = z
  .object({ status: z.literal('accepted'), message: z.string() })
  .openapi('Accepted');

export const ACCEPTED = {
  status: 'accepted' as const,
  message: 'If this address belongs to an account that needs it, an email is on its way.',
};
