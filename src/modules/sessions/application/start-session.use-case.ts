import type { CommandContext } from '../../../events/command-bus.js';
import { isUniqueViolation } from '../../../platform/db/db.js';
import { newId } from '../../../platform/ids.js';
import { DomainError } from '../../../shared/errors.js';
import { findLiveSession, insertSession, toPrimitives, updateSession } from '../adapters/session-repository.js';
import { isRunning, SESSION_COMMANDS, type SessionPrimitives } from '../domain/session.js';
import { sessionCommand, sessionEvent } from './session-messages.js';

export interface StartSessionInput {
  tenantId: string;
  /** Pair by phone number (digits) instead of a QR. */
  pairingPhone: string | null;
  shards: number;
  now: Date;
}

export interface StartSessionResult {
  session: SessionPrimitives;
  created: boolean;
  requestId: string;
}

/**
 * Creates the tenant's session, or starts its stopped/disconnected one again (the stored login is
 * kept, so WhatsApp usually accepts it without a new QR). A running session is a conflict.
 */
export async function startSession(input: StartSessionInput, { tx, emit }: CommandContext): Promise<StartSessionResult> {
  const existing = await findLiveSession(tx, input.tenantId, { lock: true });
  if (existing && isRunning(existing.status)) {
    throw new DomainError('conflict', 'session_already_running', `The session is already ${existing.status}`, { sessionId: existing.id });
  }
  const start = (sessionId: string) =>
    sessionCommand(SESSION_COMMANDS.start, sessionId, input.shards, { tenantId: input.tenantId, pairingPhone: input.pairingPhone });

  if (existing) {
    const row = await updateSession(
      tx,
      existing.id,
      { status: 'starting', pairing_phone: input.pairingPhone, qr: null, qr_expires_at: null, disconnected_reason: null },
      input.now,
    );
    const command = start(existing.id);
    emit(command);
    return { session: toPrimitives(row!), created: false, requestId: command.event.eventId };
  }

  let row;
  try {
    row = await insertSession(tx, { id: newId(), tenantId: input.tenantId, status: 'starting', pairingPhone: input.pairingPhone, now: input.now });
  } catch (error) {
    // Two concurrent creations: the partial unique index lets one win.
    if (isUniqueViolation(error)) throw new DomainError('conflict', 'session_already_running', 'The tenant already has a session');
    throw error;
  }
  const session = toPrimitives(row);
  const command = start(session.id);
  emit(
    sessionEvent('session.created', session.id, { tenantId: session.tenantId, id: session.id, status: session.status, createdAt: session.createdAt }, input.now),
    command,
  );
  return { session, created: true, requestId: command.event.eventId };
}
