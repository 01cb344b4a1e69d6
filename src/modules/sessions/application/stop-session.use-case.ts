import type { CommandContext } from '../../../events/command-bus.js';
import { DomainError, notFound } from '../../../shared/errors.js';
import { findSession, toPrimitives } from '../adapters/session-repository.js';
import { isRunning, SESSION_COMMANDS, type SessionPrimitives } from '../domain/session.js';
import { sessionCommand } from './session-messages.js';

/** Asks the owning worker to close the socket; the login is kept. The worker reports `stopped`. */
export async function stopSession(
  input: { tenantId: string; sessionId: string; shards: number },
  { tx, emit }: CommandContext,
): Promise<{ session: SessionPrimitives; requestId: string }> {
  const row = await findSession(tx, input.tenantId, input.sessionId, { lock: true });
  if (!row) throw notFound('session');
  if (!isRunning(row.status)) {
    throw new DomainError('conflict', 'session_not_running', `The session is already ${row.status}`);
  }
  const command = sessionCommand(SESSION_COMMANDS.stop, row.id, input.shards, { tenantId: input.tenantId });
  emit(command);
  return { session: toPrimitives(row), requestId: command.event.eventId };
}
