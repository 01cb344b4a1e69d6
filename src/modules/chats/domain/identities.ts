import { isLid, isPhoneJid, normaliseJid } from './jid.js';

export interface LidPn {
  lid: string;
  pn: string;
}

/**
 * The LID ⇄ phone mappings known for some JIDs of one session, and the canonical form they give:
 * the phone JID when a LID's number is known, else the JID as we have it. One person is then one
 * chat and one contact whichever form a message uses.
 */
export class Identities {
  private readonly pnByLid = new Map<string, string>();
  private readonly lidByPn = new Map<string, string>();

  constructor(mappings: Iterable<LidPn> = []) {
    for (const m of mappings) this.add(m);
  }

  add(mapping: LidPn): void {
    const oldPn = this.pnByLid.get(mapping.lid);
    if (oldPn !== undefined) this.lidByPn.delete(oldPn);
    const oldLid = this.lidByPn.get(mapping.pn);
    if (oldLid !== undefined) this.pnByLid.delete(oldLid);
    this.pnByLid.set(mapping.lid, mapping.pn);
    this.lidByPn.set(mapping.pn, mapping.lid);
  }

  pnOf(lid: string): string | undefined {
    return this.pnByLid.get(lid);
  }

  lidOf(pn: string): string | undefined {
    return this.lidByPn.get(pn);
  }

  /** The canonical form of a JID (normalised first); null for something that is not a JID. */
  canonical(jid: string | null | undefined): string | null {
    const normal = normaliseJid(jid);
    if (!normal) return null;
    return (isLid(normal) && this.pnByLid.get(normal)) || normal;
  }

  /** The LID of a canonical JID: itself when it is one, else the mapped one. */
  lidFor(canonicalJid: string): string | null {
    if (isLid(canonicalJid)) return canonicalJid;
    return isPhoneJid(canonicalJid) ? (this.lidByPn.get(canonicalJid) ?? null) : null;
  }
}

/**
 * Collapses a list of mappings so each LID and each phone appear once, the later entry winning,
 * as the store's unique keys require.
 */
export function dedupeMappings(mappings: Iterable<LidPn>): LidPn[] {
  const byLid = new Map<string, LidPn>();
  const byPn = new Map<string, LidPn>();
  for (const m of mappings) {
    const previousForPn = byPn.get(m.pn);
    if (previousForPn) byLid.delete(previousForPn.lid);
    const previousForLid = byLid.get(m.lid);
    if (previousForLid) byPn.delete(previousForLid.pn);
    byLid.set(m.lid, m);
    byPn.set(m.pn, m);
  }
  return [...byLid.values()];
}
