import type { SignalDataSet, SignalKeyStore } from 'baileys';
import type { LidMapping } from '../../domain/whatsapp-events.js';

/**
 * Every LID ⇄ phone pair Baileys learns ends up in its key store: `lid-mapping` entries
 * `{ [pnUser]: lidUser, [`${lidUser}_reverse`]: pnUser }` (rc14 Signal/lid-mapping.js
 * storeLIDPNMappings, which writes only new or changed pairs). That includes pairs no event
 * carries: history sync's phoneNumberToLidMappings (the event buffer drops `lidPnMappings`), LID
 * migration syncs, and the sender/recipient alternates of each decrypted message. The tap reports
 * them once they are stored.
 */
export function tapLidMappings(keys: SignalKeyStore, onMappings: (mappings: LidMapping[]) => void): SignalKeyStore {
  const tapped: SignalKeyStore = {
    get: (type, ids) => keys.get(type, ids),
    async set(data: SignalDataSet) {
      await keys.set(data);
      const mappings = lidMappingsOf(data['lid-mapping']);
      if (mappings.length) onMappings(mappings);
    },
  };
  if (keys.clear) tapped.clear = () => keys.clear!();
  return tapped;
}

/** The pairs of a `lid-mapping` write (forward entries; `_reverse` ones repeat them; null deletes). */
export function lidMappingsOf(entries: SignalDataSet['lid-mapping']): LidMapping[] {
  const out: LidMapping[] = [];
  for (const [pnUser, lidUser] of Object.entries(entries ?? {})) {
    if (pnUser.endsWith('_reverse') || typeof lidUser !== 'string' || !pnUser || !lidUser) continue;
    out.push({ lid: `${lidUser}@lid`, pn: `${pnUser}@s.whatsapp.net` });
  }
  return out;
}
