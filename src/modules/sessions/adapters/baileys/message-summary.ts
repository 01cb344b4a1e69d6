import { BufferJSON, proto, type WAMessage } from 'baileys';
import type { WaMessage, WaMessageStatus } from '../../domain/whatsapp-events.js';
import { contentTypeOf, mediaOf, quotedIdOf, textOf, unwrapContent } from './message-content.js';
import { numberOf, toWaKey } from './message-key.js';

/** One Baileys WAMessage as wahub's WaMessage. Pure. */

const Status = proto.WebMessageInfo.Status;

const STATUS_NAMES: Record<number, WaMessageStatus> = {
  [Status.ERROR]: 'failed',
  [Status.PENDING]: 'pending',
  [Status.SERVER_ACK]: 'sent',
  [Status.DELIVERY_ACK]: 'delivered',
  [Status.READ]: 'read',
  [Status.PLAYED]: 'played',
};

/** proto.WebMessageInfo.Status (a number, or its name once through JSON) as wahub's status. */
export function statusOf(status: proto.WebMessageInfo.Status | string | null | undefined): WaMessageStatus | null {
  if (status === null || status === undefined) return null;
  const n = typeof status === 'string' ? Status[status as keyof typeof Status] : status;
  return typeof n === 'number' ? (STATUS_NAMES[n] ?? null) : null;
}

/** Known server error codes of a NACKed send (Baileys' SERVER_ERROR_CODES and NACK_REASONS). */
const ERROR_REASONS: Record<number, string> = {
  463: 'reach_out_time_lock', // 1:1 message without privacy token: account restricted; never retry
  479: 'stanza_rejected', // smax-invalid: stale device session or bad addressing
};

/** `messageStubParameters` of an ERROR status ([code, text?]) as {code, reason}. */
export function sendErrorOf(parameters: unknown): { code: number; reason: string } {
  const list = Array.isArray(parameters) ? parameters : [];
  const code = Number(list[0]);
  if (!Number.isFinite(code)) return { code: 0, reason: 'send_failed' };
  return { code, reason: ERROR_REASONS[code] ?? `server_error_${code}` };
}

/** The WAMessage as plain JSON (Buffers as BufferJSON, protobuf objects through their toJSON). */
export function toRaw(message: WAMessage): unknown {
  return JSON.parse(JSON.stringify(message, BufferJSON.replacer));
}

/** A Baileys message as wahub's summary. `content` is the unwrapped content when the caller has it. */
export function toWaMessage(message: WAMessage, content: proto.IMessage | undefined = unwrapContent(message.message)): WaMessage {
  const timestamp = numberOf(message.messageTimestamp) ?? 0;
  return {
    key: toWaKey(message.key),
    timestamp,
    type: contentTypeOf(content) ?? 'unknown',
    text: textOf(content),
    quotedMessageId: quotedIdOf(content),
    pushName: message.pushName || null,
    status: statusOf(message.status),
    // Baileys' buffer merges an edit into the upsert as { editedMessage: { message } } with the
    // edit's time as messageTimestamp (process-message.js, MESSAGE_EDIT).
    editedAt: isMergedEdit(message) ? timestamp : null,
    deletedAt: null,
    media: mediaOf(content),
    raw: toRaw(message),
  };
}

/** The message's content was replaced by an edit (not an edit protocol message itself). */
export function isMergedEdit(message: WAMessage): boolean {
  const inner = message.message?.editedMessage?.message;
  return !!inner && !unwrapContent(inner)?.protocolMessage;
}
