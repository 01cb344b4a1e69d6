import { WAMessageStubType, type BaileysEventMap } from 'baileys';

/**
 * Baileys reports what we send back to us (emitOwnEvents, on by default): the sent message as a
 * messages.upsert 'append', and what processMessage derives from it (an edit's or a revoke's
 * messages.update, a reaction's messages.reaction). The driver reports each command's result
 * itself, once, with its requestId; these echoes are dropped. Receipts and errors for the sent
 * message are no echoes and pass.
 */

/** The token an edit we send leaves in RecentIds: its echo names only the target. */
export const editToken = (targetId: string): string => `edit:${targetId}`;

/** The ids of the messages we sent lately, oldest dropped first. */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 1_000) {}

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.max) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  has(id: string | null | undefined): boolean {
    return !!id && this.ids.has(id);
  }

  delete(id: string): void {
    this.ids.delete(id);
  }

  get size(): number {
    return this.ids.size;
  }
}

/** The events without the echoes of our own sends (a shallow copy; Baileys' objects are not touched). */
export function withoutEchoes(events: Partial<BaileysEventMap>, sent: RecentIds): Partial<BaileysEventMap> {
  if (sent.size === 0) return events;
  const out: Partial<BaileysEventMap> = { ...events };

  const upsert = events['messages.upsert'];
  if (upsert) {
    const messages = upsert.messages.filter((m) => !(m.key?.fromMe && sent.has(m.key.id)));
    if (messages.length === 0) delete out['messages.upsert'];
    else if (messages.length !== upsert.messages.length) out['messages.upsert'] = { ...upsert, messages };
  }

  const updates = events['messages.update'];
  if (updates) {
    const kept = updates.filter(({ key, update }) => {
      // A revoke we sent: Baileys repeats it on the target with the revoke's own key in update.key.
      if (update?.messageStubType === WAMessageStubType.REVOKE && update.key?.fromMe && sent.has(update.key.id)) return false;
      // An edit we sent: repeated on the target (`{ ...ourKey, id: target }`). An edit of the same
      // message from our phone is not lost: its protocol message (another id) still says it.
      if (update?.message?.editedMessage && key?.fromMe && key.id && sent.has(editToken(key.id))) return false;
      return true;
    });
    if (kept.length === 0) delete out['messages.update'];
    else if (kept.length !== updates.length) out['messages.update'] = kept;
  }

  const reactions = events['messages.reaction'];
  if (reactions) {
    // A reaction we sent: reaction.key is the reaction message's own key.
    const kept = reactions.filter(({ reaction }) => !(reaction?.key?.fromMe && sent.has(reaction.key.id)));
    if (kept.length === 0) delete out['messages.reaction'];
    else if (kept.length !== reactions.length) out['messages.reaction'] = kept;
  }
  return out;
}
