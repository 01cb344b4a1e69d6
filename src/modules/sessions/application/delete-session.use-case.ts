import type { CommandContext } from '../../../events/command-bus.js';
import { notFound } from '../../../shared/errors.js';
import { findSession, updateSession } from '../adapters/session-repository.js';
import { SESSION_COMMANDS } from '../domain/session.js';
import { sessionCommand, sessionEvent } from './session-messages.js';

/**
 * Deletes the session: from now on it is gone for the API (a new one may be created at once). The
 * worker logs out of WhatsApp and wipes the stored credentials; the event consumer removes the
 * session's chats, messages, contacts and media rows when it sees `deleted`.
 */
export async function deleteSession(
  input: { tenantId: string; sessionId: string; shards: number; now: Date },
  { tx, emit }: CommandContext,
): Promise<{ requestId: string }> {
  const row = await findSession(tx, input.tenantId, input.sessionId, { lock: true });
  if (!row) throw notFound('session');
  await updateSession(
    tx,
    row.id,
    { status: 'disconnected', disconnected_at: input.now, disconnected_reason: 'deleted', qr: null, qr_expires_at: null, deleted_at: input.now },
    input.now,
  );
  const command = sessionCommand(SESSION_COMMANDS.logout, row.id, input.shards, { tenantId: input.tenantId, deleted: true });
  emit(
    command,
    sessionEvent('session.status.disconnected', row.id, { tenantId: input.tenantId, reason: 'deleted', disconnectedAt: input.now.toISOString() }, input.now),
  );
  return { requestId: command.event.eventId };
}
