import { DomainError } from '../../../shared/errors.js';

export interface FieldError {
  path: string;
  message: string;
}

/**
 * The use cases re-check what the HTTP schemas check, because the CLI calls them too; the error has
 * the shape of the HTTP validation problem (400 `validation_failed` with `errors`).
 */
export function throwIfInvalid(errors: (FieldError | undefined)[]): void {
  const found = errors.filter((e): e is FieldError => e !== undefined);
  if (found.length === 0) return;
  throw new DomainError('invalid', 'validation_failed', `Invalid input: ${found.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
    errors: found,
  });
}

export const fieldError = (path: string, message: string | undefined): FieldError | undefined =>
  message === undefined ? undefined : { path, message };
