import { isJidGroup, type proto, type WAMessage, type WAMessageKey } from 'baileys';
import type { WaMessageKey } from '../../domain/whatsapp-events.js';
import type { EditEntry, MapContext, ReactionEntry, StatusEntry } from './map-context.js';
import { contentTypeOf, textOf, unwrapContent } from './message-content.js';
import { authorOf, isMe, normalizeJid, numberOf, secondsOfMs, toWaKey } from './message-key.js';
import { sendErrorOf, statusOf } from './message-summary.js';

/**
 * Single edits, deletes, reactions and statuses, whichever Baileys form they came in. Pure.
 */

/**
 * The message an edit or a revoke targets. Baileys keeps the protocol message's own key with the
 * target's id (process-message.js: `{ ...message.key, id: protocolMsg.key.id }`): the protocol key
 * is in the sender's perspective. A group admin deleting someone else's message names that author
 * in the protocol key's participant.
 */
export function protocolTarget(message: WAMessage, target: proto.IMessageKey, ctx: MapContext): WaMessageKey {
  const key = toWaKey({ ...message.key, id: target.id ?? '' });
  const author = normalizeJid(target.participant);
  if (author && isJidGroup(key.remoteJid) && author !== key.participant && author !== key.participantAlt) {
    return { ...key, participant: author, participantAlt: null, fromMe: isMe(author, ctx.me) };
  }
  return key;
}

/** A MESSAGE_EDIT protocol message: the target gets the new content's text. */
export function protocolEdit(message: WAMessage, protocol: proto.Message.IProtocolMessage, ctx: MapContext): EditEntry {
  const content = unwrapContent(protocol.editedMessage);
  return {
    key: protocolTarget(message, protocol.key ?? {}, ctx),
    type: contentTypeOf(content) ?? 'unknown',
    text: textOf(content),
    // The same time Baileys gives the messages.update that follows (timestampMs, else the message's).
    editedAt: secondsOfMs(protocol.timestampMs) ?? numberOf(message.messageTimestamp) ?? ctx.now,
  };
}

/**
 * A reaction on `target`; `reaction.key` is the reacting message's key (its author is the actor).
 * An empty text withdraws the actor's reaction.
 */
export function reactionEntry(target: WaMessageKey, reaction: proto.IReaction, ctx: MapContext, fallbackAt: number): ReactionEntry | null {
  const reactor = reaction.key as WAMessageKey | null | undefined;
  if (!reactor || !target.id) return null;
  const emoji = reaction.text ? reaction.text : null;
  return {
    key: target,
    actorJid: authorOf(reactor, ctx.me),
    fromMe: reactor.fromMe === true,
    emoji,
    reactedAt: secondsOfMs(reaction.senderTimestampMs) ?? fallbackAt,
    removed: emoji === null,
  };
}

/** The target of a reactionMessage inside an upsert; it shares the chat (and its other address form) with the reaction. */
export function reactionTarget(message: WAMessage, target: proto.IMessageKey): WaMessageKey {
  const key = toWaKey(target);
  const outer = toWaKey(message.key);
  if (key.remoteJid === outer.remoteJid && !key.remoteJidAlt) key.remoteJidAlt = outer.remoteJidAlt;
  return key;
}

/** A 1:1 status (messages.update `{ status }`); ERROR carries the server's code in messageStubParameters. */
export function statusEntry(key: WAMessageKey, update: Partial<WAMessage>, ctx: MapContext): StatusEntry | null {
  const status = statusOf(update.status);
  if (!status) return null;
  return {
    key: toWaKey(key),
    status,
    // Receipts come with the receipt's time as messageTimestamp (messages-recv.js handleReceipt).
    statusAt: numberOf(update.messageTimestamp) || ctx.now,
    participant: null,
    error: status === 'failed' ? sendErrorOf(update.messageStubParameters) : null,
  };
}

const RECEIPT_FIELDS = [
  ['receiptTimestamp', 'delivered'],
  ['readTimestamp', 'read'],
  ['playedTimestamp', 'played'],
] as const;

/** A group member's receipt: one status per timestamp it carries, with the member as participant. */
export function receiptEntries(key: WAMessageKey, receipt: proto.IUserReceipt): StatusEntry[] {
  const participant = normalizeJid(receipt.userJid);
  const target = toWaKey(key);
  // Baileys puts the receipt's sender in key.participant; our own message has no other author.
  if (target.fromMe) {
    target.participant = null;
    target.participantAlt = null;
  }
  const out: StatusEntry[] = [];
  for (const [field, status] of RECEIPT_FIELDS) {
    const at = numberOf(receipt[field]);
    if (at) out.push({ key: target, status, statusAt: at, participant, error: null });
  }
  return out;
}
