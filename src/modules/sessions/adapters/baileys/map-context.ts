import type { WhatsAppEvent } from '../../domain/whatsapp-events.js';
import type { Me } from './message-key.js';

/** What the pure mappers need besides the event itself. */
export interface MapContext {
  /** Our own account (actor of our reactions, author of our messages). */
  me: Me;
  /** Unix seconds now, for what WhatsApp gives no time. */
  now: number;
}

export type EditEntry = Extract<WhatsAppEvent, { kind: 'messages.edit' }>['edits'][number];
export type DeleteEntry = Extract<WhatsAppEvent, { kind: 'messages.delete'; scope: 'message' }>['deletes'][number];
export type ReactionEntry = Extract<WhatsAppEvent, { kind: 'messages.reaction' }>['reactions'][number];
export type StatusEntry = Extract<WhatsAppEvent, { kind: 'messages.update' }>['updates'][number];

/** Edits, deletes, reactions and statuses found in a batch, in the order found. */
export interface MessageEffects {
  edits: EditEntry[];
  deletes: DeleteEntry[];
  reactions: ReactionEntry[];
  /** 1:1 statuses (Baileys' messages.update form). */
  statuses: StatusEntry[];
  /** Group receipts (Baileys' message-receipt.update form, or userReceipt merged into a message). */
  receipts: StatusEntry[];
}

export const noEffects = (): MessageEffects => ({ edits: [], deletes: [], reactions: [], statuses: [], receipts: [] });

/** The effects as events, in a fixed order: edits, deletes, reactions, statuses, receipts. Empty lists give no event. */
export function effectEvents(effects: MessageEffects): WhatsAppEvent[] {
  const out: WhatsAppEvent[] = [];
  if (effects.edits.length) out.push({ kind: 'messages.edit', edits: effects.edits });
  if (effects.deletes.length) out.push({ kind: 'messages.delete', scope: 'message', deletes: effects.deletes });
  if (effects.reactions.length) out.push({ kind: 'messages.reaction', reactions: effects.reactions });
  if (effects.statuses.length) out.push({ kind: 'messages.update', source: 'receipt', updates: effects.statuses });
  if (effects.receipts.length) out.push({ kind: 'messages.update', source: 'group-receipt', updates: effects.receipts });
  return out;
}
