import type { Readable } from 'node:stream';
import {
  BufferJSON,
  proto,
  type AnyMediaMessageContent,
  type AnyMessageContent,
  type MiscMessageGenerationOptions,
  type WAMessage,
  type WAMessageKey,
} from 'baileys';
import { WhatsAppCommandError, type CommandAttachments } from '../../domain/whatsapp-driver.js';
import type { OutboundMedia, StoredMessageRef, WhatsAppCommand, WhatsAppEvent } from '../../domain/whatsapp-events.js';
import { mapBaileysEvents } from './event-mapper.js';
import type { MapContext } from './map-context.js';
import { contentTypeOf, unwrapContent } from './message-content.js';
import { toBaileysKey } from './message-key.js';

/** wahub's commands as the socket calls that carry them out. Pure. */

export type SocketCall =
  | { method: 'sendMessage'; jid: string; content: AnyMessageContent; options: MiscMessageGenerationOptions }
  | { method: 'readMessages'; keys: WAMessageKey[] };

const invalid = (message: string) => new WhatsAppCommandError('invalid_command', message, false);

/** A bare phone number becomes its phone JID; a JID is kept. */
export function toJid(to: string): string {
  const trimmed = to.trim();
  if (trimmed.includes('@')) return trimmed;
  const digits = trimmed.replace(/\D/g, '');
  if (!digits) throw invalid(`not a WhatsApp address: ${to}`);
  return `${digits}@s.whatsapp.net`;
}

export function toSocketCall(command: WhatsAppCommand, attachments: CommandAttachments = {}): SocketCall {
  switch (command.kind) {
    case 'send': {
      const jid = toJid(command.to);
      if (command.forward) {
        return { method: 'sendMessage', jid, content: { forward: storedMessage(command.forward, 'forward') }, options: {} };
      }
      const options: MiscMessageGenerationOptions = {};
      if (command.quoted) options.quoted = storedMessage(sameChat(command.quoted, jid), 'quote');
      if (command.media) {
        if (!attachments.media) throw invalid('a media message needs the bytes of its file');
        return { method: 'sendMessage', jid, content: mediaContent(command.media, attachments.media, command.text), options };
      }
      if (command.text === null || command.text === '') throw invalid('a message needs text or a message to forward');
      return { method: 'sendMessage', jid, content: { text: command.text }, options };
    }
    case 'edit':
      return {
        method: 'sendMessage',
        jid: command.target.key.remoteJid,
        content: { text: command.text, edit: toBaileysKey(command.target.key) },
        options: {},
      };
    case 'delete':
      return { method: 'sendMessage', jid: command.target.key.remoteJid, content: { delete: toBaileysKey(command.target.key) }, options: {} };
    case 'react':
      return {
        method: 'sendMessage',
        jid: command.target.key.remoteJid,
        // An empty text withdraws our reaction.
        content: { react: { text: command.emoji ?? '', key: toBaileysKey(command.target.key) } },
        options: {},
      };
    case 'read':
      return { method: 'readMessages', keys: command.keys.map(toBaileysKey) };
  }
}

/**
 * A stored file as Baileys' media content, streamed (Baileys encrypts the stream to a temporary
 * file and uploads that). Captions go with images, videos and documents only (WhatsApp shows none
 * on stickers and audio); a voice note is Ogg/Opus audio sent as push-to-talk.
 */
export function mediaContent(media: OutboundMedia, stream: Readable, caption: string | null): AnyMediaMessageContent {
  const upload = { stream };
  const withCaption = caption !== null && caption !== '' ? { caption } : {};
  const dimensions = {
    ...(media.width !== null ? { width: media.width } : {}),
    ...(media.height !== null ? { height: media.height } : {}),
  };
  switch (media.kind) {
    case 'image':
      return { image: upload, mimetype: media.mime, ...withCaption, ...dimensions };
    case 'video':
      return { video: upload, mimetype: media.mime, ...withCaption, ...dimensions };
    case 'document':
      return { document: upload, mimetype: media.mime, fileName: media.fileName ?? 'file', ...withCaption };
    case 'sticker':
      return { sticker: upload, mimetype: media.mime, ...dimensions };
    case 'audio':
      return {
        audio: upload,
        mimetype: media.mime,
        ptt: media.ptt,
        ...(media.duration !== null ? { seconds: Math.round(media.duration) } : {}),
      };
  }
}

/**
 * The quoted message under the address the reply goes to when that is the chat's other form
 * (LID ⇄ phone): Baileys names a quoted message of another chat in contextInfo.remoteJid.
 */
function sameChat(ref: StoredMessageRef, jid: string): StoredMessageRef {
  return ref.key.remoteJid !== jid && ref.key.remoteJidAlt === jid ? { ...ref, key: { ...ref.key, remoteJid: jid, remoteJidAlt: ref.key.remoteJid } } : ref;
}

/**
 * A stored message as the WAMessage Baileys quotes or forwards: its raw form revived
 * (BufferJSON, then proto.WebMessageInfo.fromObject, which also takes the base64 bytes, enum
 * names and Long strings of protobuf's toJSON), else a plain text message with its stored text.
 */
export function storedMessage(ref: StoredMessageRef, use: 'quote' | 'forward'): WAMessage {
  const key = toBaileysKey(ref.key);
  const revived = reviveRaw(ref.raw);
  if (revived && contentTypeOf(unwrapContent(revived.message))) {
    revived.key = key;
    return revived;
  }
  if (ref.text === null) {
    if (use === 'forward') throw invalid(`message ${ref.key.id} has no stored content to forward`);
    return { key, message: { conversation: '' }, messageTimestamp: ref.timestamp };
  }
  return { key, message: { conversation: ref.text }, messageTimestamp: ref.timestamp };
}

/** A message's raw form (BufferJSON JSON of a WAMessage) as the WAMessage again, or null. */
export function reviveRaw(raw: unknown): WAMessage | null {
  if (!raw || typeof raw !== 'object') return null;
  try {
    const plain = JSON.parse(JSON.stringify(raw), BufferJSON.reviver) as Record<string, unknown>;
    return proto.WebMessageInfo.fromObject(plain) as WAMessage;
  } catch {
    return null;
  }
}

/**
 * What a message we sent does, reported as if it came back: a text as a messages.upsert 'append'
 * carrying the command's requestId; an edit, a delete or a reaction as what it does to its target.
 * Baileys leaves its own message PENDING: it tracks no server ack, and sendMessage resolves once
 * the stanza is relayed, so the message is 'sent' (a NACK after that still turns it 'failed').
 */
export function sentEvents(sent: WAMessage, requestId: string, ctx: MapContext): WhatsAppEvent[] {
  return mapBaileysEvents({ 'messages.upsert': { messages: [sent], type: 'append' } }, ctx).map((event) =>
    event.kind === 'messages.upsert'
      ? { ...event, requestId, messages: event.messages.map((m) => (m.status === 'pending' ? { ...m, status: 'sent' as const } : m)) }
      : event,
  );
}
