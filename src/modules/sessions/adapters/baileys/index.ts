export {
  createBaileysDriver,
  DEFAULT_CACHE_LIMITS,
  FIRST_QR_TTL_MS,
  NEXT_QR_TTL_MS,
  PAIRING_CODE_TTL_MS,
  type BaileysCacheLimits,
  type BaileysDriver,
  type BaileysDriverOptions,
} from './baileys-driver.js';
export {
  createAuthStateStore,
  deleteAuthState,
  isLoggedIn,
  LeaseLostError,
  readStoredCreds,
  SIGNAL_KEY_TYPES,
  type AuthStateStore,
  type AuthStateStoreOptions,
} from './auth-state-store.js';
export { BoundedCache } from './bounded-cache.js';
export { describeClose } from './close-reason.js';
export { toBaileysBrowser, type BaileysSocket, type MakeSocket } from './socket.js';
export { storedMessage } from './commands.js';
