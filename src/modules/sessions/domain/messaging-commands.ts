import type { OutboundMedia, StoredMessageRef, WaMessageKey, WhatsAppCommand } from './whatsapp-events.js';
import { SESSION_COMMANDS } from './session.js';

/**
 * Payloads of the messaging commands on `session-commands:{shard}`. The API resolves everything
 * the worker needs (quoted and target messages) when it accepts the request, so the worker never
 * reads the message store.
 */
export type MessagingCommandPayload =
  | {
      tenantId: string;
      to: string;
      /** The text; with media its caption. */
      text: string | null;
      quoted: StoredMessageRef | null;
      forward: StoredMessageRef | null;
      /** A stored upload to send (POST /media), with the id it had there. */
      media?: (OutboundMedia & { mediaId: string }) | null;
    }
  | { tenantId: string; target: StoredMessageRef; text: string }
  | { tenantId: string; target: StoredMessageRef }
  | { tenantId: string; target: StoredMessageRef; emoji: string | null }
  | { tenantId: string; keys: WaMessageKey[] };

export const MESSAGING_COMMANDS: readonly string[] = [
  SESSION_COMMANDS.sendMessage,
  SESSION_COMMANDS.editMessage,
  SESSION_COMMANDS.deleteMessage,
  SESSION_COMMANDS.reactMessage,
  SESSION_COMMANDS.readMessages,
];

/** The driver command for a stream command; its eventId is the requestId. */
export function toDriverCommand(type: string, requestId: string, payload: Record<string, any>): WhatsAppCommand {
  switch (type) {
    case SESSION_COMMANDS.sendMessage:
      return {
        kind: 'send',
        requestId,
        to: payload.to,
        text: payload.text ?? null,
        quoted: payload.quoted ?? null,
        forward: payload.forward ?? null,
        media: payload.media ? outboundMedia(payload.media) : null,
      };
    case SESSION_COMMANDS.editMessage:
      return { kind: 'edit', requestId, target: payload.target, text: payload.text };
    case SESSION_COMMANDS.deleteMessage:
      return { kind: 'delete', requestId, target: payload.target };
    case SESSION_COMMANDS.reactMessage:
      return { kind: 'react', requestId, target: payload.target, emoji: payload.emoji ?? null };
    case SESSION_COMMANDS.readMessages:
      return { kind: 'read', requestId, keys: payload.keys };
    default:
      throw new Error(`not a messaging command: ${type}`);
  }
}

/** The media of a send command as the driver gets it (the upload's id stays with the worker). */
function outboundMedia(media: OutboundMedia & { mediaId?: string }): OutboundMedia {
  const { mediaId: _mediaId, ...rest } = media;
  return rest;
}
