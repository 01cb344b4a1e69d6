import { readFile } from 'node:fs/promises';
import { Boom } from '@hapi/boom';
import {
  cleanMessage,
  DisconnectReason,
  generateWAMessage,
  initAuthCreds,
  makeEventBuffer,
  type AnyMessageContent,
  type AuthenticationCreds,
  type Contact,
  type GroupMetadata,
  type MiscMessageGenerationOptions,
  type SignalKeyStoreWithTransaction,
  type SignalRepositoryWithLIDStore,
  type UserFacingSocketConfig,
  type WAMessage,
  type WAMessageKey,
} from 'baileys';
// Baileys' own processMessage (not re-exported by its index): what it derives from an upsert
// (edits, revokes, reactions) is what a real socket emits.
import processMessage from 'baileys/lib/Utils/process-message.js';
import { vi } from 'vitest';
import { createLogger } from '../../../../platform/logger.js';

/** Test helper (not a test file): a Baileys socket that sends and receives without WhatsApp. */

export const logger = createLogger('silent');

/** Our account as a linked socket knows it (device and LID included). */
export const ME: Contact = { id: '51999999999:12@s.whatsapp.net', lid: '123456789012345:12@lid', name: 'Ana' };
export const ME_JID = '51999999999@s.whatsapp.net';
export const ME_LID = '123456789012345@lid';

/**
 * `ev` is Baileys' own event buffer. Messages go through what rc14's chats.js upsertMessage does:
 * a buffered function that emits the upsert, then runs Baileys' processMessage on it. sendMessage
 * builds the message with Baileys' generateWAMessage and echoes it like messages-send.js does
 * with emitOwnEvents.
 */
export class FakeWhatsAppSocket {
  readonly ev = makeEventBuffer(logger);
  user: Contact | undefined = { ...ME };
  readonly creds: AuthenticationCreds;
  /** Baileys' default: our sends come back as messages.upsert 'append'. */
  emitOwnEvents = true;
  /** When the echo comes: after sendMessage resolved (Baileys: process.nextTick), or already before. */
  echo: 'after' | 'before' = 'after';
  /** The next sendMessage/readMessages rejects with this. */
  failWith: Error | null = null;
  /** Media our sends uploaded (the encrypted bytes Baileys made), in order. */
  readonly uploads: { mediaType: string; encrypted: Buffer; url: string }[] = [];
  /** Where uploaded media is said to live (a test may serve `uploads` there). */
  mediaBaseUrl = 'https://mmg.whatsapp.net';
  private ended = false;

  constructor(readonly config?: UserFacingSocketConfig) {
    this.creds = config?.auth?.creds ?? initAuthCreds();
    this.creds.me ??= { ...ME };
  }

  /** chats.js upsertMessage: the upsert and what processMessage derives from it, in one buffer. */
  readonly upsertMessage = this.ev.createBufferedFunction(async (message: WAMessage, type: 'notify' | 'append') => {
    this.ev.emit('messages.upsert', { messages: [message], type });
    await processMessage(message, {
      shouldProcessHistoryMsg: false,
      ev: this.ev,
      creds: this.creds,
      keyStore: {} as SignalKeyStoreWithTransaction,
      signalRepository: {} as SignalRepositoryWithLIDStore,
      logger,
      options: {},
      getMessage: async () => undefined,
    });
  });

  /** A message from WhatsApp as messages-recv.js hands it over: cleaned, then upserted. */
  receive(message: WAMessage, type: 'notify' | 'append' = 'notify'): Promise<void> {
    cleanMessage(message, ME.id, ME.lid!);
    return this.upsertMessage(message, type);
  }

  readonly sendMessage = vi.fn(async (jid: string, content: AnyMessageContent, options: MiscMessageGenerationOptions = {}) => {
    if (this.ended) throw new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed });
    if (this.failWith) throw this.failWith;
    const message = await generateWAMessage(jid, content, {
      // Baileys encrypts the media to a file and hands it over; WhatsApp's CDN would answer with its place.
      upload: async (encFilePath, { mediaType }) => {
        const url = `${this.mediaBaseUrl}/upload/${this.uploads.length}`;
        this.uploads.push({ mediaType, encrypted: await readFile(encFilePath), url });
        return { mediaUrl: url, directPath: '' };
      },
      userJid: this.user!.id,
      logger,
      ...options,
    });
    if (this.emitOwnEvents && this.echo === 'before') {
      await this.upsertMessage(message, 'append');
      this.ev.flush();
    } else if (this.emitOwnEvents) {
      process.nextTick(() => void this.upsertMessage(message, 'append'));
    }
    return message as WAMessage;
  });

  /**
   * The phone uploads a media file again (messages-send.js updateMediaMessage: a retry receipt, then
   * the new path in messages.media-update). Tests set `reupload` to say where the file is now.
   */
  reupload: (message: WAMessage) => WAMessage = (message) => message;
  readonly updateMediaMessage = vi.fn(async (message: WAMessage): Promise<WAMessage> => {
    if (this.ended) throw new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed });
    return this.reupload(message);
  });

  readonly readMessages = vi.fn(async (_keys: WAMessageKey[]): Promise<void> => {
    if (this.failWith) throw this.failWith;
  });

  readonly end = vi.fn(async (error: Error | undefined) => {
    if (this.ended) return;
    this.ended = true;
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
    this.ev.removeAllListeners('connection.update');
  });

  readonly logout = vi.fn(async () => {
    await this.end(new Boom('Intentional Logout', { statusCode: DisconnectReason.loggedOut }));
  });

  readonly requestPairingCode = vi.fn(async () => 'ABCD1234');

  readonly groupMetadata = vi.fn(async (jid: string): Promise<GroupMetadata> => ({ id: jid, owner: undefined, subject: 'Group', participants: [] }));

  open(): void {
    this.ev.emit('connection.update', { connection: 'open' });
  }
}
