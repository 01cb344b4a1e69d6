import { Boom } from '@hapi/boom';
import {
  DisconnectReason,
  initAuthCreds,
  makeEventBuffer,
  type AuthenticationCreds,
  type Contact,
  type GroupMetadata,
  type proto,
  type UserFacingSocketConfig,
  type WAMessage,
} from 'baileys';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MODES } from '../../../../../test/support/services.js';
import type { Db, Queryable } from '../../../../platform/db/db.js';
import { createLogger } from '../../../../platform/logger.js';
import type { CloseReason, ConnectionListener, LeaseFence } from '../../domain/whatsapp-driver.js';
import { createAuthStateStore, LeaseLostError, readStoredCreds } from './auth-state-store.js';
import { createBaileysDriver, type BaileysDriver } from './baileys-driver.js';
import { countRows, grantLease, newSession, openTestDb, setLease, type TestDb, listenerRecorder } from './test-fixtures.js';

const logger = createLogger('silent');
const T0 = Date.parse('2026-05-01T12:00:00.000Z');

/**
 * A stand-in for Baileys' socket: `ev` is Baileys' own event buffer, and end/logout/
 * requestPairingCode behave as rc14's do towards the event stream (Socket/socket.js).
 */
class FakeSocket {
  readonly ev = makeEventBuffer(logger);
  user: Contact | undefined = undefined;
  private ended = false;
  pairingCode = 'ABCD1234';
  failPairing = false;

  constructor(readonly config: UserFacingSocketConfig) {}

  get creds(): AuthenticationCreds {
    return this.config.auth!.creds;
  }

  readonly end = vi.fn(async (error: Error | undefined) => {
    if (this.ended) return;
    this.ended = true;
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
    this.ev.removeAllListeners('connection.update');
  });

  readonly logout = vi.fn(async (msg?: string) => {
    if (this.ended) throw new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed });
    void this.end(new Boom(msg || 'Intentional Logout', { statusCode: DisconnectReason.loggedOut }));
  });

  readonly requestPairingCode = vi.fn(async (phoneNumber: string) => {
    if (this.failPairing) throw new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed });
    this.creds.pairingCode = this.pairingCode;
    this.creds.me = { id: `${phoneNumber}@s.whatsapp.net`, name: '~' };
    this.ev.emit('creds.update', this.creds);
    return this.pairingCode;
  });

  // Messaging is tested in baileys-messaging.test.ts with a socket that sends for real.
  readonly sendMessage = vi.fn(async (): Promise<WAMessage | undefined> => undefined);
  readonly readMessages = vi.fn(async (): Promise<void> => {});
  readonly updateMediaMessage = vi.fn(async (message: WAMessage): Promise<WAMessage> => message);

  readonly groupMetadata = vi.fn(async (jid: string): Promise<GroupMetadata> => ({
    id: jid,
    owner: undefined,
    subject: 'Group',
    participants: [],
  }));

  update(update: Partial<Parameters<Parameters<FakeSocket['ev']['on']>[1]>[0]> & Record<string, unknown>) {
    this.ev.emit('connection.update', update as never);
  }

  qr(qr: string) {
    this.ev.emit('connection.update', { qr });
  }

  /** The server closes the connection as Baileys reports it: a Boom with the status code. */
  closeWith(statusCode: number, message = 'x') {
    return this.end(new Boom(message, { statusCode }));
  }
}

const recorder = listenerRecorder;

/** Creds as they are once a phone linked this device (QR: account + me; registered is not set). */
function linkedCreds(): AuthenticationCreds {
  const creds = initAuthCreds();
  creds.me = { id: '51999999999:12@s.whatsapp.net', name: 'Ana', lid: '123456789012345:12@lid' };
  creds.account = { details: Buffer.from([1, 2]), accountSignatureKey: Buffer.alloc(32, 1), accountSignature: Buffer.alloc(64, 2) };
  return creds;
}

describe.each(MODES)('Baileys driver with a fake socket (%s)', (mode) => {
  let t: TestDb;
  let now = T0;
  const clock = { now: () => new Date(now) };
  beforeAll(async () => {
    t = await openTestDb(mode);
  });
  afterAll(async () => t?.close());

  function harness(options: { db?: Db; version?: [number, number, number] } = {}) {
    const sockets: FakeSocket[] = [];
    const getMessage = vi.fn(async (_sessionId: string, _key: proto.IMessageKey): Promise<proto.IMessage | undefined> => ({
      conversation: 'hello again',
    }));
    const driver: BaileysDriver = createBaileysDriver({
      db: options.db ?? t.db,
      logger,
      version: 'version' in options ? options.version : [2, 3000, 1023223821],
      browser: ['macOS', 'Desktop'],
      getMessage,
      makeSocket: (config) => {
        const socket = new FakeSocket(config);
        sockets.push(socket);
        return socket;
      },
      clock,
    });
    return { driver, sockets, getMessage };
  }

  async function connect(
    h: ReturnType<typeof harness>,
    options: { pairingPhone?: string | null; stored?: AuthenticationCreds; fence?: LeaseFence } = {},
  ) {
    const { tenantId, sessionId } = newSession();
    const fence = options.fence ?? (await grantLease(t.db));
    if (options.stored) await createAuthStateStore({ db: t.db, tenantId, sessionId, fence }).saveCreds(options.stored);
    const listener = recorder();
    const connection = await h.driver.connect({
      tenantId,
      sessionId,
      fence,
      pairingPhone: options.pairingPhone ?? null,
      listener,
      logger,
    });
    const socket = h.sockets.at(-1)!;
    return { connection, socket, listener, sessionId, tenantId, fence };
  }

  it('builds the socket config a server needs', async () => {
    const h = harness();
    const { socket, sessionId } = await connect(h);
    const config = socket.config;
    expect(config.version).toEqual([2, 3000, 1023223821]);
    expect(config.browser).toEqual(['Mac OS', 'Desktop', '14.4.1']);
    expect(config.markOnlineOnConnect).toBe(false);
    expect(config.syncFullHistory).toBe(true);
    expect(config.shouldSyncHistoryMessage?.({ syncType: 0 } as proto.Message.IHistorySyncNotification)).toBe(true);
    expect(config.logger?.level).toBe('silent');
    expect(config.auth?.creds.registered).toBe(false);
    expect(config.msgRetryCounterCache).toBeDefined();

    const key = { remoteJid: '51988888888@s.whatsapp.net', id: 'ABC', fromMe: true };
    expect(await config.getMessage?.(key)).toEqual({ conversation: 'hello again' });
    expect(h.getMessage).toHaveBeenCalledWith(sessionId, key);
    h.getMessage.mockRejectedValueOnce(new Error('store down'));
    expect(await config.getMessage?.(key)).toBeUndefined();

    // group metadata: fetched once, then cached; a change drops it
    const group = '120363000000000000@g.us';
    expect((await config.cachedGroupMetadata?.(group))?.subject).toBe('Group');
    await config.cachedGroupMetadata?.(group);
    expect(socket.groupMetadata).toHaveBeenCalledTimes(1);
    socket.ev.emit('groups.update', [{ id: group, subject: 'Renamed' }]);
    await config.cachedGroupMetadata?.(group);
    expect(socket.groupMetadata).toHaveBeenCalledTimes(2);
    socket.ev.emit('groups.upsert', [{ id: 'g2@g.us', owner: undefined, subject: 'Upserted', participants: [] }]);
    expect((await config.cachedGroupMetadata?.('g2@g.us'))?.subject).toBe('Upserted');
    expect(socket.groupMetadata).toHaveBeenCalledTimes(2);

    // message retry counters live outside the socket: the next connection sees them
    config.msgRetryCounterCache!.set('msg-1', 2);
    const again = await h.driver.connect({
      tenantId: newSession().tenantId,
      sessionId,
      fence: await grantLease(t.db),
      pairingPhone: null,
      listener: recorder(),
      logger,
    });
    expect(h.sockets[1]!.config.msgRetryCounterCache!.get('msg-1')).toBe(2);
    const other = await connect(h);
    expect(other.socket.config.msgRetryCounterCache!.get('msg-1')).toBeUndefined();
    await again.close();
    await other.connection.close();
  });

  it('leaves the version to Baileys when none is configured', async () => {
    const h = harness({ version: undefined });
    const { socket, connection } = await connect(h);
    expect('version' in socket.config).toBe(false);
    await connection.close();
  });

  it('announces each distinct QR once, the first for 60 s and the next for 20 s', async () => {
    const h = harness();
    const { socket, listener, connection } = await connect(h);
    now = T0;
    socket.update({ connection: 'connecting', receivedPendingNotifications: false, qr: undefined });
    socket.qr('qr-1');
    now = T0 + 60_000;
    socket.qr('qr-2');
    socket.qr('qr-1');
    socket.qr('qr-2');
    expect(listener.onQr.mock.calls).toEqual([
      ['qr-1', new Date(T0 + 60_000)],
      ['qr-2', new Date(T0 + 80_000)],
    ]);
    expect(listener.onPairingCode).not.toHaveBeenCalled();
    await connection.close();
  });

  it('reports open with the phone digits, JID, LID and name of the account', async () => {
    const h = harness();
    const { socket, listener, connection } = await connect(h, { stored: linkedCreds() });
    socket.user = { id: '51999999999:12@s.whatsapp.net', lid: '123456789012345:12@lid', name: 'Ana' };
    socket.update({ connection: 'open' });
    socket.update({ connection: 'open' });
    expect(listener.onOpen).toHaveBeenCalledTimes(1);
    expect(listener.onOpen).toHaveBeenCalledWith({
      phone: '51999999999',
      jid: '51999999999@s.whatsapp.net',
      lid: '123456789012345@lid',
      name: 'Ana',
    });
    await connection.close();
  });

  describe('maps close codes to reasons', () => {
    const rows: {
      code: number | null;
      message?: string;
      linked?: boolean;
      afterQr?: boolean;
      reason: CloseReason;
    }[] = [
      { code: DisconnectReason.restartRequired, reason: 'restart_required' },
      { code: DisconnectReason.loggedOut, linked: true, reason: 'logged_out' },
      { code: DisconnectReason.forbidden, linked: true, reason: 'logged_out' },
      { code: DisconnectReason.multideviceMismatch, linked: true, reason: 'logged_out' },
      { code: DisconnectReason.connectionReplaced, linked: true, reason: 'connection_replaced' },
      { code: 405, reason: 'version_outdated' },
      { code: DisconnectReason.timedOut, message: 'QR refs attempts ended', afterQr: true, reason: 'qr_timeout' },
      { code: DisconnectReason.timedOut, afterQr: true, reason: 'qr_timeout' },
      { code: DisconnectReason.timedOut, linked: true, reason: 'connection_lost' },
      // a network timeout before any QR is a failed connection, not an unscanned QR
      { code: DisconnectReason.timedOut, message: 'Timed Out', reason: 'connection_lost' },
      { code: DisconnectReason.connectionClosed, linked: true, reason: 'connection_lost' },
      { code: DisconnectReason.badSession, linked: true, reason: 'bad_session' },
      { code: DisconnectReason.unavailableService, linked: true, reason: 'unavailable' },
      { code: 502, linked: true, reason: 'unavailable' },
      { code: 499, linked: true, reason: 'connection_lost' },
      { code: null, linked: true, reason: 'connection_lost' },
    ];
    it.each(rows)('$code $message (linked: $linked, after a QR: $afterQr) → $reason', async (row) => {
      const h = harness();
      const { socket, listener } = await connect(h, row.linked ? { stored: linkedCreds() } : {});
      if (row.afterQr) socket.qr('qr-1');
      const message = row.message ?? 'x';
      if (row.code === null) await socket.end(new Error('socket hang up'));
      else await socket.closeWith(row.code, message);
      await vi.waitFor(() => expect(listener.onClose).toHaveBeenCalled());
      expect(listener.onClose).toHaveBeenCalledTimes(1);
      expect(listener.onClose).toHaveBeenCalledWith({
        reason: row.reason,
        statusCode: row.code,
        message: row.code === null ? 'socket hang up' : message,
      });
      expect(socket.end).toHaveBeenCalled();
    });

    it('without any error → connection_lost', async () => {
      const h = harness();
      const { socket, listener } = await connect(h, { stored: linkedCreds() });
      socket.update({ connection: 'close' });
      await vi.waitFor(() => expect(listener.onClose).toHaveBeenCalled());
      expect(listener.onClose).toHaveBeenCalledWith({ reason: 'connection_lost', statusCode: null, message: null });
      expect(socket.end).toHaveBeenCalledWith(undefined);
    });
  });

  it('saves the whole creds on every creds.update, before reporting the close that follows', async () => {
    const order: string[] = [];
    const slow: Db = {
      ...t.db,
      async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
        await new Promise((resolve) => setTimeout(resolve, 30));
        const result = await t.db.transaction(fn);
        order.push('write');
        return result;
      },
    };
    const h = harness({ db: slow });
    const { socket, listener, sessionId } = await connect(h);
    listener.onClose.mockImplementation(() => void order.push('close'));
    order.length = 0;
    expect(await h.driver.hasRegisteredAuthState(sessionId)).toBe(false);

    // pair-success: Baileys emits the new identity, then the server asks for a restart (515)
    const linked = linkedCreds();
    socket.ev.emit('creds.update', { me: linked.me, account: linked.account, platform: 'android' });
    socket.ev.emit('creds.update', { accountSyncCounter: 3 });
    await socket.closeWith(DisconnectReason.restartRequired, 'Stream Errored (restart required)');
    await vi.waitFor(() => expect(listener.onClose).toHaveBeenCalled());
    expect(order.at(-1)).toBe('close');
    expect(order.filter((o) => o === 'write').length).toBeGreaterThanOrEqual(1);
    expect(listener.onClose.mock.calls[0]![0].reason).toBe('restart_required');

    const stored = await readStoredCreds(t.db, sessionId);
    expect(stored?.me).toEqual(linked.me);
    expect(stored?.accountSyncCounter).toBe(3);
    expect(stored?.platform).toBe('android');
    expect(Buffer.from(stored!.noiseKey.private).equals(Buffer.from(socket.creds.noiseKey.private))).toBe(true);
    expect(await h.driver.hasRegisteredAuthState(sessionId)).toBe(true);
  });

  it('keeps linked creds and keys across connections; starts unlinked ones afresh', async () => {
    const h = harness();
    const linked = linkedCreds();
    const first = await connect(h, { stored: linked });
    expect(first.socket.config.auth!.creds.advSecretKey).toBe(linked.advSecretKey);
    await first.socket.config.auth!.keys.set({ session: { 'peer.0': new Uint8Array([1, 2, 3]) } });
    await first.connection.close();
    const second = await h.driver.connect({
      tenantId: first.tenantId,
      sessionId: first.sessionId,
      fence: first.fence,
      pairingPhone: null,
      listener: recorder(),
      logger,
    });
    const socket = h.sockets.at(-1)!;
    expect(socket.config.auth!.creds.advSecretKey).toBe(linked.advSecretKey);
    expect(Object.keys(await socket.config.auth!.keys.get('session', ['peer.0']))).toEqual(['peer.0']);
    await second.close();

    // an unfinished pairing code left creds.me behind: that would be a login WhatsApp refuses
    const unfinished = initAuthCreds();
    unfinished.me = { id: '51999999999@s.whatsapp.net', name: '~' };
    unfinished.pairingCode = 'ZZZZ9999';
    const third = await connect(h, { stored: unfinished });
    expect(third.socket.config.auth!.creds.me).toBeUndefined();
    expect(third.socket.config.auth!.creds.advSecretKey).not.toBe(unfinished.advSecretKey);
    expect((await readStoredCreds(t.db, third.sessionId))?.advSecretKey).toBe(third.socket.config.auth!.creds.advSecretKey);
    await third.connection.close();
  });

  it('does not dial without the lease', async () => {
    const h = harness();
    const fence = await grantLease(t.db);
    await setLease(t.db, { ...fence, owner: 'worker-b', epoch: fence.epoch + 1 });
    await expect(connect(h, { fence })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(connect(h, { fence, stored: undefined })).rejects.toBeInstanceOf(LeaseLostError);
    const { tenantId, sessionId } = newSession();
    const own = await grantLease(t.db);
    await createAuthStateStore({ db: t.db, tenantId, sessionId, fence: own }).saveCreds(linkedCreds());
    await setLease(t.db, { ...own, epoch: own.epoch + 1 });
    await expect(
      h.driver.connect({ tenantId, sessionId, fence: own, pairingPhone: null, listener: recorder(), logger }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(h.sockets).toHaveLength(0);
  });

  it('closes at once when a write finds the lease gone, and writes nothing', async () => {
    const h = harness();
    const { socket, listener, sessionId, fence } = await connect(h, { stored: linkedCreds() });
    await setLease(t.db, { ...fence, owner: 'worker-b', epoch: fence.epoch + 1 });
    socket.ev.emit('creds.update', { accountSyncCounter: 99 });
    await vi.waitFor(() => expect(listener.onClose).toHaveBeenCalled());
    expect(listener.onClose.mock.calls[0]![0]).toMatchObject({ reason: 'closed_by_us', statusCode: null });
    expect(listener.onClose.mock.calls[0]![0].message).toMatch(/lease/);
    expect(socket.end.mock.calls[0]![0]).toBeInstanceOf(LeaseLostError);
    expect((await readStoredCreds(t.db, sessionId))?.accountSyncCounter).toBe(0);
  });

  it('pairs by phone number: asks for the code on the first QR and shows no QR', async () => {
    const h = harness();
    now = T0;
    const { socket, listener, sessionId, connection } = await connect(h, { pairingPhone: '+51 999-999-999' });
    socket.update({ connection: 'connecting', receivedPendingNotifications: false, qr: undefined });
    expect(socket.requestPairingCode).not.toHaveBeenCalled();
    socket.qr('qr-1');
    now = T0 + 60_000;
    socket.qr('qr-2');
    await vi.waitFor(() => expect(listener.onPairingCode).toHaveBeenCalled());
    expect(socket.requestPairingCode).toHaveBeenCalledTimes(1);
    expect(socket.requestPairingCode).toHaveBeenCalledWith('51999999999');
    expect(listener.onPairingCode).toHaveBeenCalledWith('ABCD1234', new Date(T0 + 160_000));
    expect(listener.onQr).not.toHaveBeenCalled();
    await vi.waitFor(async () => expect((await readStoredCreds(t.db, sessionId))?.pairingCode).toBe('ABCD1234'));

    // the code ran out with the QR refs
    await socket.closeWith(DisconnectReason.timedOut, 'QR refs attempts ended');
    await vi.waitFor(() => expect(listener.onClose).toHaveBeenCalled());
    expect(listener.onClose.mock.calls[0]![0].reason).toBe('qr_timeout');
    await connection.close();
  });

  it('falls back to the QR when the pairing code cannot be requested', async () => {
    const h = harness();
    now = T0;
    const listener = recorder();
    const { tenantId, sessionId } = newSession();
    const connection = await h.driver.connect({
      tenantId,
      sessionId,
      fence: await grantLease(t.db),
      pairingPhone: '51999999999',
      listener,
      logger,
    });
    const socket = h.sockets[0]!;
    socket.failPairing = true;
    socket.qr('qr-1');
    await vi.waitFor(() => expect(listener.onQr).toHaveBeenCalledWith('qr-1', new Date(T0 + 60_000)));
    socket.qr('qr-2');
    expect(listener.onQr).toHaveBeenCalledTimes(2);
    expect(listener.onPairingCode).not.toHaveBeenCalled();
    await connection.close();
  });

  it('ignores the pairing phone when the session is already linked', async () => {
    const h = harness();
    const { socket, connection } = await connect(h, { pairingPhone: '51999999999', stored: linkedCreds() });
    socket.qr('qr-1');
    expect(socket.requestPairingCode).not.toHaveBeenCalled();
    await connection.close();
  });

  it('close() ends the socket, keeps the login and writes nothing after', async () => {
    const h = harness();
    const { socket, listener, connection, sessionId } = await connect(h, { stored: linkedCreds() });
    await socket.config.auth!.keys.set({ 'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } } });
    await connection.close();
    expect(socket.end).toHaveBeenCalledWith(undefined);
    expect(socket.logout).not.toHaveBeenCalled();
    expect(listener.onClose).toHaveBeenCalledTimes(1);
    expect(listener.onClose).toHaveBeenCalledWith({ reason: 'closed_by_us', statusCode: null, message: null });
    expect(await h.driver.hasRegisteredAuthState(sessionId)).toBe(true);
    expect(await countRows(t.db, sessionId)).toBe(2);

    // a late write of the dead socket is dropped; closing again is harmless
    await socket.config.auth!.keys.set({ session: { late: new Uint8Array([1]) } });
    socket.ev.emit('creds.update', { accountSyncCounter: 5 });
    await connection.close();
    expect(await countRows(t.db, sessionId)).toBe(2);
    expect((await readStoredCreds(t.db, sessionId))?.accountSyncCounter).toBe(0);
    expect(listener.onClose).toHaveBeenCalledTimes(1);
  });

  it('logout() logs out of WhatsApp and wipes the auth state', async () => {
    const h = harness();
    const { socket, listener, connection, sessionId } = await connect(h, { stored: linkedCreds() });
    await socket.config.auth!.keys.set({ session: { 'peer.0': new Uint8Array([1]) } });
    expect(await countRows(t.db, sessionId)).toBe(2);
    await connection.logout();
    expect(socket.logout).toHaveBeenCalledTimes(1);
    expect(listener.onClose).toHaveBeenCalledWith({ reason: 'closed_by_us', statusCode: 401, message: 'Intentional Logout' });
    expect(await countRows(t.db, sessionId)).toBe(0);
    expect(await h.driver.hasRegisteredAuthState(sessionId)).toBe(false);
  });

  it('logout() of a connection WhatsApp already closed still wipes the auth state', async () => {
    const h = harness();
    const { socket, listener, connection, sessionId } = await connect(h, { stored: linkedCreds() });
    await socket.closeWith(DisconnectReason.connectionClosed);
    await vi.waitFor(() => expect(listener.onClose).toHaveBeenCalled());
    await connection.logout();
    expect(await countRows(t.db, sessionId)).toBe(0);
    expect(listener.onClose).toHaveBeenCalledTimes(1);
  });

  it('wipeAuthState deletes every row of the session and hasRegisteredAuthState reads the creds', async () => {
    const h = harness();
    const { socket, connection, sessionId } = await connect(h, { stored: linkedCreds() });
    await socket.config.auth!.keys.set({ session: { 'peer.0': new Uint8Array([1]) } });
    await connection.close();
    const other = await connect(h, { stored: linkedCreds() });
    await other.connection.close();
    expect(await h.driver.hasRegisteredAuthState(sessionId)).toBe(true);
    await h.driver.wipeAuthState(sessionId);
    expect(await countRows(t.db, sessionId)).toBe(0);
    expect(await h.driver.hasRegisteredAuthState(sessionId)).toBe(false);
    expect(await h.driver.hasRegisteredAuthState(other.sessionId)).toBe(true);
  });
});
