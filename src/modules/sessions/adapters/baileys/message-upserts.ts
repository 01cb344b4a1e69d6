import { isJidStatusBroadcast, proto, WAMessageStubType, type WAMessage } from 'baileys';
import type { WaMessage } from '../../domain/whatsapp-events.js';
import { noEffects, type MapContext, type MessageEffects } from './map-context.js';
import { contentTypeOf, unwrapContent } from './message-content.js';
import { protocolEdit, protocolTarget, reactionEntry, reactionTarget, receiptEntries, statusEntry } from './message-effects.js';
import { keyString, numberOf, toWaKey } from './message-key.js';
import { toWaMessage } from './message-summary.js';

/**
 * Splits a list of Baileys messages (messages.upsert, or a history batch) into chat messages and
 * what the rest of them does to other messages. Pure.
 *
 * - A protocolMessage is no chat message: MESSAGE_EDIT edits its target, REVOKE deletes it (the
 *   messages.update Baileys emits next says the same again; consumers are idempotent).
 * - A reactionMessage reacts to its target.
 * - Baileys' event buffer merges later events into a message still in the buffer: status
 *   (`status`), reactions (`reactions`), group receipts (`userReceipt`), an edit (`message` becomes
 *   `{ editedMessage }`) or a revoke (`message: null, messageStubType: REVOKE`). These come out as
 *   their own events besides the message.
 */

const ProtocolType = proto.Message.ProtocolMessage.Type;
const Status = proto.WebMessageInfo.Status;

/** Content types that act on other messages and are no chat messages of their own. */
const NOT_CHAT_MESSAGES = new Set<string>([
  'pollUpdateMessage',
  'encReactionMessage',
  'encEventResponseMessage',
  'keepInChatMessage',
  'pinInChatMessage',
  'senderKeyDistributionMessage',
]);

export interface SplitOptions {
  /**
   * A live upsert: statuses and group receipts merged into a message are reported as updates too.
   * History batches carry them in each message's own status and are not exploded into updates.
   */
  live: boolean;
  /**
   * The REVOKE protocol messages of the same flush (keyString → time). Baileys merges a revoke into a
   * buffered message with `Object.assign(message, { message: null, messageStubType: REVOKE, key:
   * <the revoke's key> })`, so that stub has lost its own id: the revoke itself says which message
   * went, and the stub is dropped.
   */
  revokeKeys: ReadonlyMap<string, number>;
}

export interface SplitMessages {
  messages: WaMessage[];
  effects: MessageEffects;
}

export function splitMessages(list: readonly WAMessage[], ctx: MapContext, options: SplitOptions): SplitMessages {
  const messages: WaMessage[] = [];
  const effects = noEffects();
  for (const message of dedupeByKey(list)) {
    if (isJidStatusBroadcast(message.key.remoteJid ?? '')) continue;
    const content = unwrapContent(message.message);
    const at = numberOf(message.messageTimestamp) ?? ctx.now;

    const protocol = content?.protocolMessage;
    if (protocol) {
      if (!protocol.key?.id) continue;
      if (protocol.type === ProtocolType.REVOKE) effects.deletes.push({ key: protocolTarget(message, protocol.key, ctx), deletedAt: at });
      else if (protocol.type === ProtocolType.MESSAGE_EDIT) effects.edits.push(protocolEdit(message, protocol, ctx));
      // History sync notifications, app state keys, ephemeral settings ...: Baileys' business.
      continue;
    }

    const reaction = content?.reactionMessage;
    if (reaction) {
      if (!reaction.key) continue;
      const entry = reactionEntry(reactionTarget(message, reaction.key), { ...reaction, key: message.key }, ctx, at);
      if (entry) effects.reactions.push(entry);
      continue;
    }

    if (!content) {
      // No content: a revoked message, a placeholder for one that failed to decrypt (CIPHERTEXT,
      // resent later under the same key), or a group/system notification stub.
      if (message.messageStubType === WAMessageStubType.REVOKE && !options.revokeKeys.has(keyString(message.key))) {
        effects.deletes.push({ key: toWaKey(message.key), deletedAt: at });
      }
      continue;
    }

    const type = contentTypeOf(content);
    if (!type || NOT_CHAT_MESSAGES.has(type)) continue;

    const summary = toWaMessage(message, content);
    messages.push(summary);
    if (summary.editedAt !== null) {
      effects.edits.push({ key: summary.key, type: summary.type, text: summary.text, editedAt: summary.editedAt });
    }
    for (const merged of message.reactions ?? []) {
      const entry = reactionEntry(summary.key, merged, ctx, summary.timestamp);
      if (entry) effects.reactions.push(entry);
    }
    if (options.live) {
      const status = mergedStatus(message);
      if (status) {
        const entry = statusEntry(message.key, message, ctx);
        if (entry) effects.statuses.push(entry);
      }
      for (const receipt of message.userReceipt ?? []) effects.receipts.push(...receiptEntries(message.key, receipt));
    }
  }
  return { messages, effects };
}

/** A status a fresh message does not have (PENDING for ours, SERVER_ACK from our other devices): the buffer merged it. */
function mergedStatus(message: WAMessage): boolean {
  const status = message.status;
  return typeof status === 'number' && (status === Status.ERROR || status >= Status.DELIVERY_ACK);
}

/**
 * One message per key (Baileys' own identity: chat, id, direction). A later duplicate wins, except
 * that a message without content never replaces one with content (the REVOKE stub above).
 */
export function dedupeByKey(list: readonly WAMessage[]): WAMessage[] {
  const byKey = new Map<string, WAMessage>();
  for (const message of list) {
    if (!message?.key?.id) continue;
    const id = keyString(message.key);
    const previous = byKey.get(id);
    if (previous?.message && !message.message) continue;
    byKey.set(id, message);
  }
  return [...byKey.values()];
}

/** The REVOKE protocol messages of a list: their keyString → their time (Unix seconds). */
export function revokesOf(list: readonly WAMessage[] | undefined, ctx: MapContext): Map<string, number> {
  const revokes = new Map<string, number>();
  for (const message of list ?? []) {
    const protocol = unwrapContent(message?.message)?.protocolMessage;
    if (protocol?.type === ProtocolType.REVOKE && message.key) revokes.set(keyString(message.key), numberOf(message.messageTimestamp) ?? ctx.now);
  }
  return revokes;
}
