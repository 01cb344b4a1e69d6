import { Browsers, type UserFacingSocketConfig, type WABrowserDescription, type WASocket } from 'baileys';

/**
 * The part of a Baileys socket wahub uses. Tests build a fake of it (with Baileys' own
 * makeEventBuffer as `ev`, whose `process` hands over the buffered events); later issues widen
 * this list (sendPresenceUpdate, presenceSubscribe, updateMediaMessage ...).
 */
export type BaileysSocket = Pick<
  WASocket,
  'ev' | 'user' | 'end' | 'logout' | 'requestPairingCode' | 'groupMetadata' | 'sendMessage' | 'readMessages' | 'updateMediaMessage'
>;

/** Builds a socket; Baileys' makeWASocket in production, a fake in tests (the real one dials WhatsApp). */
export type MakeSocket = (config: UserFacingSocketConfig) => BaileysSocket;

const BROWSER_PLATFORMS: Record<string, (browser: string) => WABrowserDescription> = {
  macos: Browsers.macOS,
  'mac os': Browsers.macOS,
  mac: Browsers.macOS,
  windows: Browsers.windows,
  ubuntu: Browsers.ubuntu,
  linux: Browsers.ubuntu,
  baileys: Browsers.baileys,
  android: Browsers.android,
  appropriate: Browsers.appropriate,
};

/**
 * WA_BROWSER ("macOS,Desktop") as the triple Baileys sends: `Browsers.macOS('Desktop')` gives
 * ['Mac OS', 'Desktop', '14.4.1']. Only 'Mac OS'/'Windows' with 'Desktop' (and syncFullHistory)
 * register as a desktop client, which gets desktop-level history (Utils/validate-connection.js,
 * getWebInfo). An unknown platform is sent as written.
 */
export function toBaileysBrowser([platform, browser]: readonly [string, string]): WABrowserDescription {
  const helper = BROWSER_PLATFORMS[platform.trim().toLowerCase()];
  return helper ? helper(browser.trim()) : [platform.trim(), browser.trim(), ''];
}
