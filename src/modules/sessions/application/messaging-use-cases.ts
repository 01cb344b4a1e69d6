import type { StreamBus } from '../../../events/bus/stream-bus.js';
import { envelope, STREAMS, toStreamFields } from '../../../events/envelope.js';
import type { Queryable } from '../../../platform/db/db.js';
import { DomainError } from '../../../shared/errors.js';
import { findLiveSession } from '../adapters/session-repository.js';
import type { MessagingCommandPayload } from '../domain/messaging-commands.js';
import { SESSION_COMMANDS, shardOf } from '../domain/session.js';
import type { StoredMessageRef } from '../domain/whatsapp-events.js';
import type { FindUpload, MessageLookup, StoredMessage, UploadedMedia } from './messaging.ports.js';

export interface MessagingDeps {
  db: Queryable;
  bus: StreamBus;
  messages: MessageLookup;
  shards: number;
  /** Uploads of POST /media; without it a send with mediaId is refused. */
  findUpload?: FindUpload;
}

/** Ogg/Opus audio is a voice note: WhatsApp plays it as push-to-talk. */
const isVoiceNote = (upload: UploadedMedia) => upload.kind === 'audio' && /^audio\/ogg\b/i.test(upload.mime);

export interface Accepted {
  requestId: string;
}

const toRef = ({ fromMe: _f, deleted: _d, ...ref }: StoredMessage): StoredMessageRef => ref;

/**
 * Send, reply, forward, edit, delete, react and read. Each checks what it can before queueing
 * (the session is connected, the message exists in the chat, it is ours where that matters),
 * then appends the command to the session's shard stream and answers with its requestId; the
 * outcome arrives as events carrying that requestId, or as `session.command.failed`.
 */
export class MessagingUseCases {
  constructor(private readonly deps: MessagingDeps) {}

  private async connectedSession(tenantId: string, sessionId?: string): Promise<string> {
    const session = await findLiveSession(this.deps.db, tenantId);
    if (!session || (sessionId && session.id !== sessionId)) throw new DomainError('not_found', 'session_not_found', 'session not found');
    if (session.status !== 'connected') {
      throw new DomainError('conflict', 'session_not_connected', `The session is ${session.status}, not connected`, { sessionStatus: session.status });
    }
    return session.id;
  }

  private async message(tenantId: string, sessionId: string, chatJid: string | null, messageId: string): Promise<StoredMessage> {
    const found = await this.deps.messages.findMessage(tenantId, sessionId, chatJid, messageId);
    if (!found) throw new DomainError('not_found', 'message_not_found', `No message ${messageId}${chatJid ? ' in this chat' : ''}`);
    return found;
  }

  private async dispatch(type: string, sessionId: string, payload: MessagingCommandPayload): Promise<Accepted> {
    const command = envelope(type, sessionId, payload);
    await this.deps.bus.append(STREAMS.sessionCommands(shardOf(sessionId, this.deps.shards)), [toStreamFields(command)]);
    return { requestId: command.eventId };
  }

  async send(input: {
    tenantId: string;
    sessionId?: string;
    to: string;
    content?: string;
    replyToMessageId?: string;
    forwardMessageId?: string;
    mediaId?: string;
  }): Promise<Accepted> {
    const sessionId = await this.connectedSession(input.tenantId, input.sessionId);
    const to = await this.deps.messages.resolveChatJid(input.tenantId, sessionId, input.to);
    if (input.mediaId !== undefined) return this.sendMedia({ ...input, mediaId: input.mediaId }, sessionId, to);
    if (input.forwardMessageId !== undefined) {
      if (input.content !== undefined || input.replyToMessageId !== undefined) {
        throw new DomainError('invalid', 'invalid_message', 'A forward takes forwardMessageId alone');
      }
      const source = await this.message(input.tenantId, sessionId, null, input.forwardMessageId);
      if (source.deleted) throw new DomainError('conflict', 'message_deleted', 'A deleted message cannot be forwarded');
      return this.dispatch(SESSION_COMMANDS.sendMessage, sessionId, { tenantId: input.tenantId, to, text: null, quoted: null, forward: toRef(source) });
    }
    if (input.content === undefined || input.content.trim() === '') {
      throw new DomainError('invalid', 'invalid_message', 'content is required (or forwardMessageId)', { errors: [{ path: 'content', message: 'Required' }] });
    }
    const quoted = input.replyToMessageId ? toRef(await this.message(input.tenantId, sessionId, to, input.replyToMessageId)) : null;
    return this.dispatch(SESSION_COMMANDS.sendMessage, sessionId, { tenantId: input.tenantId, to, text: input.content, quoted, forward: null });
  }

  /** A stored upload with an optional caption (images, videos, documents), optionally as a reply. */
  private async sendMedia(
    input: { tenantId: string; content?: string; replyToMessageId?: string; forwardMessageId?: string; mediaId: string },
    sessionId: string,
    to: string,
  ): Promise<Accepted> {
    if (input.forwardMessageId !== undefined) throw new DomainError('invalid', 'invalid_message', 'A forward takes forwardMessageId alone, without mediaId');
    const upload = this.deps.findUpload ? await this.deps.findUpload(input.tenantId, input.mediaId) : undefined;
    if (!upload) throw new DomainError('not_found', 'media_not_found', `No uploaded media ${input.mediaId}`);
    const caption = input.content !== undefined && input.content.trim() !== '' ? input.content : null;
    if (caption !== null && (upload.kind === 'sticker' || upload.kind === 'audio')) {
      throw new DomainError('invalid', 'caption_not_supported', `WhatsApp shows no caption on ${upload.kind === 'audio' ? 'audio' : 'stickers'}`, {
        errors: [{ path: 'content', message: `not allowed with ${upload.kind}` }],
      });
    }
    if (upload.kind === 'sticker' && upload.mime !== 'image/webp') throw new DomainError('invalid', 'invalid_sticker', 'A sticker must be a WebP image');
    const quoted = input.replyToMessageId ? toRef(await this.message(input.tenantId, sessionId, to, input.replyToMessageId)) : null;
    return this.dispatch(SESSION_COMMANDS.sendMessage, sessionId, {
      tenantId: input.tenantId,
      to,
      text: caption,
      quoted,
      forward: null,
      media: {
        mediaId: upload.id,
        kind: upload.kind,
        mime: upload.mime,
        fileName: upload.fileName,
        storageKey: upload.storageKey,
        ptt: isVoiceNote(upload),
        size: upload.size,
        width: upload.width,
        height: upload.height,
        duration: upload.duration,
      },
    });
  }

  async edit(input: { tenantId: string; chat: string; messageId: string; content: string }): Promise<Accepted> {
    const sessionId = await this.connectedSession(input.tenantId);
    const chatJid = await this.deps.messages.resolveChatJid(input.tenantId, sessionId, input.chat);
    const target = await this.ownMessage(input.tenantId, sessionId, chatJid, input.messageId, 'edited');
    if (target.text === null) throw new DomainError('conflict', 'message_not_text', 'Only text messages can be edited');
    return this.dispatch(SESSION_COMMANDS.editMessage, sessionId, { tenantId: input.tenantId, target: toRef(target), text: input.content });
  }

  async delete(input: { tenantId: string; chat: string; messageId: string }): Promise<Accepted> {
    const sessionId = await this.connectedSession(input.tenantId);
    const chatJid = await this.deps.messages.resolveChatJid(input.tenantId, sessionId, input.chat);
    const target = await this.ownMessage(input.tenantId, sessionId, chatJid, input.messageId, 'deleted for everyone');
    return this.dispatch(SESSION_COMMANDS.deleteMessage, sessionId, { tenantId: input.tenantId, target: toRef(target) });
  }

  async react(input: { tenantId: string; chat: string; messageId: string; emoji: string | null }): Promise<Accepted> {
    const sessionId = await this.connectedSession(input.tenantId);
    const chatJid = await this.deps.messages.resolveChatJid(input.tenantId, sessionId, input.chat);
    const target = await this.message(input.tenantId, sessionId, chatJid, input.messageId);
    if (target.deleted) throw new DomainError('conflict', 'message_deleted', 'A deleted message cannot get reactions');
    return this.dispatch(SESSION_COMMANDS.reactMessage, sessionId, { tenantId: input.tenantId, target: toRef(target), emoji: input.emoji });
  }

  async read(input: { tenantId: string; chat: string; messageIds: string[] }): Promise<Accepted> {
    const sessionId = await this.connectedSession(input.tenantId);
    const chatJid = await this.deps.messages.resolveChatJid(input.tenantId, sessionId, input.chat);
    const ids = [...new Set(input.messageIds)];
    const found = await this.deps.messages.findMessages(input.tenantId, sessionId, chatJid, ids);
    const missing = ids.filter((id) => !found.some((m) => m.key.id === id));
    if (missing.length > 0) throw new DomainError('not_found', 'message_not_found', `No message ${missing.join(', ')} in this chat`);
    return this.dispatch(SESSION_COMMANDS.readMessages, sessionId, { tenantId: input.tenantId, keys: found.map((m) => m.key) });
  }

  private async ownMessage(tenantId: string, sessionId: string, chatJid: string, messageId: string, what: string): Promise<StoredMessage> {
    const target = await this.message(tenantId, sessionId, chatJid, messageId);
    if (!target.fromMe) throw new DomainError('forbidden', 'not_own_message', `Only your own messages can be ${what}`);
    if (target.deleted) throw new DomainError('conflict', 'message_deleted', 'The message was deleted');
    return target;
  }
}
