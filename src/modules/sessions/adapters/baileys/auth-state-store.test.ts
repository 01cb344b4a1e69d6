import { addTransactionCapability, initAuthCreds, makeCacheableSignalKeyStore, proto, type SignalDataSet } from 'baileys';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MODES } from '../../../../../test/support/services.js';
import { createLogger } from '../../../../platform/logger.js';
import {
  createAuthStateStore,
  deleteAuthState,
  isLoggedIn,
  LeaseLostError,
  readStoredCreds,
  serialize,
  SIGNAL_KEY_TYPES,
  type AuthStateStore,
} from './auth-state-store.js';
import { BoundedCache } from './bounded-cache.js';
import { countRows, grantLease, newSession, openTestDb, sampleKeys, setLease, type TestDb } from './test-fixtures.js';

const logger = createLogger('silent');

describe.each(MODES)('Postgres auth state store (%s)', (mode) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(mode);
  });
  afterAll(async () => t?.close());

  async function newStore(onLeaseLost?: (e: LeaseLostError) => void): Promise<AuthStateStore> {
    const fence = await grantLease(t.db);
    return createAuthStateStore({ db: t.db, ...newSession(), fence, logger, onLeaseLost });
  }

  it('round-trips initAuthCreds() with its Buffers', async () => {
    const store = await newStore();
    expect(await store.readCreds()).toBeUndefined();
    const creds = initAuthCreds();
    await store.saveCreds(creds);
    const read = await store.readCreds();
    expect(read).toBeDefined();
    expect(serialize(read)).toBe(serialize(creds));
    expect(Buffer.isBuffer(read!.noiseKey.private)).toBe(true);
    expect(Buffer.from(read!.signedIdentityKey.public).equals(Buffer.from(creds.signedIdentityKey.public))).toBe(true);
    expect(read!.signedPreKey.signature).toEqual(Buffer.from(creds.signedPreKey.signature));
    expect(read!.registrationId).toBe(creds.registrationId);
    expect(read!.advSecretKey).toBe(creds.advSecretKey);

    // saved whole on every change
    creds.me = { id: '51999999999:12@s.whatsapp.net', name: 'Ana', lid: '123456789012345:12@lid' };
    creds.registered = true;
    await store.saveCreds(creds);
    expect((await readStoredCreds(t.db, store.sessionId))?.me).toEqual(creds.me);
    expect(await countRows(t.db, store.sessionId)).toBe(1);
  });

  it('round-trips a key of every type of SignalDataTypeMap', async () => {
    const store = await newStore();
    const samples = sampleKeys();
    expect(Object.keys(samples).sort()).toEqual([...SIGNAL_KEY_TYPES].sort());
    const data: SignalDataSet = {};
    for (const type of SIGNAL_KEY_TYPES) {
      const { id, value } = samples[type];
      (data as Record<string, unknown>)[type] = { [id]: value };
    }
    await store.keys.set(data);
    expect(await countRows(t.db, store.sessionId)).toBe(SIGNAL_KEY_TYPES.length);

    for (const type of SIGNAL_KEY_TYPES) {
      const { id, value } = samples[type];
      const read = await store.keys.get(type, [id]);
      expect(Object.keys(read), type).toEqual([id]);
      expect(serialize(read[id]), type).toBe(serialize(value));
    }

    const session = (await store.keys.get('session', [samples.session.id]))[samples.session.id]!;
    expect(Buffer.from(session)).toEqual(Buffer.from([1, 2, 3, 250, 0, 7]));
    const preKey = (await store.keys.get('pre-key', ['1']))['1']!;
    expect(Buffer.isBuffer(preKey.private)).toBe(true);
    expect(Buffer.from(preKey.public).equals(Buffer.from(samples['pre-key'].value.public))).toBe(true);
    const version = (await store.keys.get('app-state-sync-version', ['regular_high'])).regular_high!;
    expect(version.version).toBe(42);
    expect(version.hash.equals(Buffer.alloc(128, 3))).toBe(true);
    expect(Buffer.from(version.indexValueMap['q2x3k4ZpYQ==']!.valueMac)).toEqual(Buffer.from([5, 6, 7, 8]));
    const token = (await store.keys.get('tctoken', ['51988888888@s.whatsapp.net']))['51988888888@s.whatsapp.net']!;
    expect(token.token.equals(Buffer.from([1, 1, 2, 3, 5, 8]))).toBe(true);
    expect((await store.keys.get('device-list', ['51999999999']))['51999999999']).toEqual(['0', '12']);
    expect((await store.keys.get('lid-mapping', ['51999999999']))['51999999999']).toBe('123456789012345');
  });

  it('re-hydrates app-state-sync-key as the protobuf class', async () => {
    const store = await newStore();
    const { id, value } = sampleKeys()['app-state-sync-key'];
    await store.keys.set({ 'app-state-sync-key': { [id]: value } });
    const read = (await store.keys.get('app-state-sync-key', [id]))[id]!;
    expect(read).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(read.keyData!).toString()).toBe('0123456789abcdef0123456789abcdef');
    expect(read.fingerprint?.rawId).toBe(12345);
    expect(read.fingerprint?.deviceIndexes).toEqual([0, 3]);
    expect(Number(read.timestamp)).toBe(1_700_000_000_123);
  });

  it('get returns the ids it found only; set with null deletes', async () => {
    const store = await newStore();
    await store.keys.set({ session: { a: new Uint8Array([1]), b: new Uint8Array([2]), c: new Uint8Array([3]) } });
    expect(Object.keys(await store.keys.get('session', ['a', 'missing', 'c'])).sort()).toEqual(['a', 'c']);
    expect(await store.keys.get('session', [])).toEqual({});
    expect(await store.keys.get('sender-key', ['a'])).toEqual({});

    await store.keys.set({ session: { a: null, b: new Uint8Array([22]) }, 'pre-key': { '9': null } });
    const after = await store.keys.get('session', ['a', 'b', 'c']);
    expect(Object.keys(after).sort()).toEqual(['b', 'c']);
    expect(Buffer.from(after.b!)).toEqual(Buffer.from([22]));
    expect(await countRows(t.db, store.sessionId)).toBe(2);
  });

  it('writes nothing and throws LeaseLostError when another owner or epoch holds the lease', async () => {
    const onLeaseLost = vi.fn();
    const fence = await grantLease(t.db, 'worker-a', 7);
    const { tenantId, sessionId } = newSession();
    const store = createAuthStateStore({ db: t.db, tenantId, sessionId, fence, logger, onLeaseLost });
    await store.saveCreds(initAuthCreds());
    await store.keys.set({ session: { kept: new Uint8Array([1]) } });

    // another worker took the shard over
    await setLease(t.db, { shard: fence.shard, owner: 'worker-b', epoch: 8 });
    const lost = store.keys.set({ session: { kept: null, added: new Uint8Array([2]) } });
    await expect(lost).rejects.toBeInstanceOf(LeaseLostError);
    await expect(lost).rejects.toMatchObject({ name: 'LeaseLostError', fence, sessionId });
    const creds = initAuthCreds();
    await expect(store.saveCreds(creds)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.reset(creds)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.assertLease()).rejects.toBeInstanceOf(LeaseLostError);
    expect(onLeaseLost).toHaveBeenCalledTimes(4);
    expect(Object.keys(await store.keys.get('session', ['kept', 'added']))).toEqual(['kept']);
    expect((await store.readCreds())?.advSecretKey).not.toBe(creds.advSecretKey);

    // same owner, but a newer epoch: still not ours
    await setLease(t.db, { shard: fence.shard, owner: 'worker-a', epoch: 9 });
    await expect(store.keys.set({ session: { added: new Uint8Array([2]) } })).rejects.toBeInstanceOf(LeaseLostError);
    // our owner and epoch, but expired
    await setLease(t.db, fence, -1000);
    await expect(store.keys.set({ session: { added: new Uint8Array([2]) } })).rejects.toBeInstanceOf(LeaseLostError);
    expect(await countRows(t.db, sessionId)).toBe(2);

    // renewed: writes again
    await setLease(t.db, fence);
    await store.keys.set({ session: { added: new Uint8Array([2]) } });
    expect(await countRows(t.db, sessionId)).toBe(3);
  });

  it('applies a set in one transaction: a batch that fails leaves nothing', async () => {
    const store = await newStore();
    await store.keys.set({ session: { a: new Uint8Array([1]) } });
    // A NUL in a key id is refused by Postgres (text cannot hold it) after the delete already ran.
    await expect(
      store.keys.set({
        session: { a: null, b: new Uint8Array([2]) },
        'pre-key': { 'bad\u0000id': sampleKeys()['pre-key'].value },
      }),
    ).rejects.toThrow();
    expect(Object.keys(await store.keys.get('session', ['a', 'b']))).toEqual(['a']);
    expect(await countRows(t.db, store.sessionId)).toBe(1);
  });

  it('works under addTransactionCapability(makeCacheableSignalKeyStore(...)) with a shared cache', async () => {
    const shared = new BoundedCache({ maxKeys: 1000, ttlSeconds: 300 });
    const a = await newStore();
    const b = await newStore();
    const keysOf = (store: AuthStateStore) =>
      addTransactionCapability(makeCacheableSignalKeyStore(store.keys, logger, shared.namespace(store.sessionId)), logger, {
        maxCommitRetries: 1,
        delayBetweenTriesMs: 1,
      });
    const ka = keysOf(a);
    const kb = keysOf(b);

    await ka.transaction(async () => {
      await ka.set({ session: { peer: new Uint8Array([1, 2]) }, 'pre-key': { '1': sampleKeys()['pre-key'].value } });
      // read your writes inside the transaction, before the commit
      expect(Object.keys(await ka.get('session', ['peer']))).toEqual(['peer']);
      expect(await a.keys.get('session', ['peer'])).toEqual({});
    }, 'peer');
    expect(Object.keys(await a.keys.get('session', ['peer']))).toEqual(['peer']);
    expect(Object.keys(await ka.get('pre-key', ['1']))).toEqual(['1']);

    // the other session sees neither the rows nor the cached entries
    expect(await kb.get('session', ['peer'])).toEqual({});
    expect(await b.keys.get('session', ['peer'])).toEqual({});
    await kb.set({ session: { peer: new Uint8Array([9]) } });
    expect(Buffer.from((await ka.get('session', ['peer'])).peer!)).toEqual(Buffer.from([1, 2]));
    expect(Buffer.from((await kb.get('session', ['peer'])).peer!)).toEqual(Buffer.from([9]));

    // a delete through the cache is a delete (the cache does not keep a null that reads as present)
    await ka.set({ session: { peer: null } });
    expect(await ka.get('session', ['peer'])).toEqual({});
    expect(await a.keys.get('session', ['peer'])).toEqual({});
    expect(Object.keys(await kb.get('session', ['peer']))).toEqual(['peer']);
  });

  it('wipes one session only, without a lease', async () => {
    const a = await newStore();
    const b = await newStore();
    await a.saveCreds(initAuthCreds());
    await a.keys.set({ session: { x: new Uint8Array([1]) } });
    await b.keys.set({ session: { x: new Uint8Array([2]) } });
    await deleteAuthState(t.db, a.sessionId);
    expect(await countRows(t.db, a.sessionId)).toBe(0);
    expect(await countRows(t.db, b.sessionId)).toBe(1);
  });

  it('reset replaces everything with fresh creds; a sealed store drops late writes', async () => {
    const store = await newStore();
    await store.saveCreds(initAuthCreds());
    await store.keys.set({ session: { x: new Uint8Array([1]) }, 'pre-key': { '1': sampleKeys()['pre-key'].value } });
    const fresh = initAuthCreds();
    await store.reset(fresh);
    expect(await countRows(t.db, store.sessionId)).toBe(1);
    expect((await store.readCreds())?.advSecretKey).toBe(fresh.advSecretKey);

    const pending = store.keys.set({ session: { y: new Uint8Array([1]) } });
    await store.whenIdle();
    await pending;
    expect(await countRows(t.db, store.sessionId)).toBe(2);
    store.seal();
    await store.keys.set({ session: { z: new Uint8Array([1]) } });
    await store.saveCreds(initAuthCreds());
    expect(await countRows(t.db, store.sessionId)).toBe(2);
    expect((await store.readCreds())?.advSecretKey).toBe(fresh.advSecretKey);
  });
});

describe('isLoggedIn', () => {
  it('needs an account id and either registered (pairing code) or the signed account (QR)', () => {
    const creds = initAuthCreds();
    expect(isLoggedIn(undefined)).toBe(false);
    expect(isLoggedIn(creds)).toBe(false);
    // requestPairingCode sets me before anything is linked
    expect(isLoggedIn({ ...creds, me: { id: '51999999999@s.whatsapp.net', name: '~' } })).toBe(false);
    expect(isLoggedIn({ ...creds, me: { id: '51999999999:3@s.whatsapp.net' }, account: {} })).toBe(true);
    expect(isLoggedIn({ ...creds, me: { id: '51999999999:3@s.whatsapp.net' }, registered: true })).toBe(true);
  });
});
