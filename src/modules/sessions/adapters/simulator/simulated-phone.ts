import { randomBytes } from 'node:crypto';
import type {
  LidMapping,
  WaChat,
  WaContact,
  WaMedia,
  WaMessage,
  WaMessageKey,
  WaMessageStatus,
  WhatsAppEvent,
} from '../../domain/whatsapp-events.js';

/** What the phone side does, sent by the /simulator API to whichever worker holds the session. */
export type PhoneAction =
  | { action: 'scan'; sessionId: string; phone: string }
  | { action: 'disconnect'; sessionId: string; reason: 'connection_lost' | 'logged_out' | 'connection_replaced' }
  | {
      action: 'message';
      sessionId: string;
      id: string;
      from: string;
      text: string | null;
      quotedMessageId: string | null;
      group: string | null;
      timestamp: number;
      pushName: string | null;
    }
  | {
      /** A contact sends media; its bytes are already in the simulator's media stash under `id`. */
      action: 'media';
      sessionId: string;
      id: string;
      from: string;
      group: string | null;
      caption: string | null;
      /** What WhatsApp's message says of the file (null where the phone did not say). */
      media: WaMedia;
      ptt: boolean;
      timestamp: number;
      pushName: string | null;
    }
  | { action: 'receipts'; sessionId: string; keys: WaMessageKey[]; status: WaMessageStatus; at: number }
  | { action: 'edit'; sessionId: string; key: WaMessageKey; type: string; text: string; at: number }
  | { action: 'delete'; sessionId: string; key: WaMessageKey; at: number }
  | { action: 'clear-chat'; sessionId: string; chatJid: string; at: number }
  | { action: 'reaction'; sessionId: string; key: WaMessageKey; actorJid: string; emoji: string | null; at: number }
  | { action: 'presence'; sessionId: string; jid: string; presence: 'available' | 'unavailable' | 'composing' | 'recording' | 'paused'; lastSeen: number | null }
  | { action: 'contacts'; sessionId: string; contacts: WaContact[] }
  | { action: 'lid-mapping'; sessionId: string; mapping: LidMapping }
  | { action: 'history'; sessionId: string; chats: number; messagesPerChat: number; batchSize: number; syncType: string; idPrefix: string };

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Message ids shaped like the ones WhatsApp Web makes (3EB0 + 18 hex digits). */
export const newMessageId = (): string => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;

/** A phone number or a JID, as a JID (bare digits become `<digits>@s.whatsapp.net`). */
export function toJid(value: string): string {
  if (value.includes('@')) return value;
  return `${value.replace(/\D/g, '')}@s.whatsapp.net`;
}

export function textMessage(key: WaMessageKey, text: string | null, timestamp: number, extra: Partial<WaMessage> = {}): WaMessage {
  return {
    key,
    timestamp,
    type: extra.quotedMessageId ? 'extendedTextMessage' : 'conversation',
    text,
    quotedMessageId: null,
    pushName: null,
    status: null,
    editedAt: null,
    deletedAt: null,
    media: null,
    raw: { key, messageTimestamp: timestamp, message: extra.quotedMessageId ? { extendedTextMessage: { text, contextInfo: { stanzaId: extra.quotedMessageId } } } : { conversation: text } },
    ...extra,
  };
}

/** The LID ⇄ phone book of one simulated account. */
export class LidBook {
  private readonly byLid = new Map<string, string>();
  private readonly byPn = new Map<string, string>();

  add(mapping: LidMapping): void {
    this.byLid.set(mapping.lid, mapping.pn);
    this.byPn.set(mapping.pn, mapping.lid);
  }

  /** The other form of a JID, when known. */
  alt(jid: string): string | null {
    return jid.endsWith('@lid') ? (this.byLid.get(jid) ?? null) : (this.byPn.get(jid) ?? null);
  }
}

/** Builds the inbound message a contact sends, in a 1:1 chat or a group. */
export function inboundMessage(action: Extract<PhoneAction, { action: 'message' }>, lids: LidBook): WaMessage {
  const from = toJid(action.from);
  const key: WaMessageKey = action.group
    ? { id: action.id, remoteJid: action.group, fromMe: false, participant: from, remoteJidAlt: null, participantAlt: lids.alt(from) }
    : { id: action.id, remoteJid: from, fromMe: false, participant: null, remoteJidAlt: lids.alt(from), participantAlt: null };
  return textMessage(key, action.text, action.timestamp, { quotedMessageId: action.quotedMessageId, pushName: action.pushName });
}

const MEDIA_FIELDS: Record<WaMedia['kind'], string> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};

/** A media message as WhatsApp delivers it: the content type, the caption as text, the file's metadata. */
export function mediaMessage(key: WaMessageKey, media: WaMedia, caption: string | null, timestamp: number, extra: Partial<WaMessage> & { ptt?: boolean } = {}): WaMessage {
  const { ptt, ...rest } = extra;
  const type = MEDIA_FIELDS[media.kind];
  const withCaption = media.kind === 'image' || media.kind === 'video' || media.kind === 'document';
  const text = withCaption ? caption : null;
  const content: Record<string, unknown> = {
    // The simulator's "CDN" path: the message's id is enough to find the bytes.
    url: `https://mmg.simulator.invalid/${encodeURIComponent(key.id)}`,
    directPath: `/${encodeURIComponent(key.id)}`,
    mimetype: media.mime,
    fileLength: media.size,
    mediaKey: Buffer.from(key.id).toString('base64'),
    ...(text ? { caption: text } : {}),
    ...(media.width !== null ? { width: media.width } : {}),
    ...(media.height !== null ? { height: media.height } : {}),
    ...(media.duration !== null ? { seconds: Math.round(media.duration) } : {}),
    ...(media.fileName !== null ? { fileName: media.fileName } : {}),
    ...(media.kind === 'audio' ? { ptt: ptt === true } : {}),
  };
  return {
    key,
    timestamp,
    type,
    text,
    quotedMessageId: null,
    pushName: null,
    status: null,
    editedAt: null,
    deletedAt: null,
    media,
    raw: { key, messageTimestamp: timestamp, message: { [type]: content } },
    ...rest,
  };
}

/** Builds the inbound media message a contact sends, in a 1:1 chat or a group. */
export function inboundMediaMessage(action: Extract<PhoneAction, { action: 'media' }>, lids: LidBook): WaMessage {
  const from = toJid(action.from);
  const key: WaMessageKey = action.group
    ? { id: action.id, remoteJid: action.group, fromMe: false, participant: from, remoteJidAlt: null, participantAlt: lids.alt(from) }
    : { id: action.id, remoteJid: from, fromMe: false, participant: null, remoteJidAlt: lids.alt(from), participantAlt: null };
  return mediaMessage(key, action.media, action.caption, action.timestamp, { pushName: action.pushName, ptt: action.ptt });
}

/**
 * History sync like WhatsApp's: chats and their messages in batches, each a `history.sync` with
 * its progress. Generated lazily, a batch at a time, so 100,000 messages never sit in memory at once.
 */
export function* historyBatches(action: Extract<PhoneAction, { action: 'history' }>, ownJid: string): Generator<WhatsAppEvent> {
  const total = action.chats * action.messagesPerChat;
  const now = nowSeconds();
  let done = 0;
  let first = true;
  let chats: WaChat[] = [];
  let contacts: WaContact[] = [];
  let messages: WaMessage[] = [];
  const flush = (): WhatsAppEvent => {
    const event: WhatsAppEvent = {
      kind: 'history.sync',
      syncType: action.syncType,
      progress: Math.round((done / Math.max(1, total)) * 100),
      isLatest: first,
      chats,
      contacts,
      messages,
      lidMappings: [],
    };
    first = false;
    chats = [];
    contacts = [];
    messages = [];
    return event;
  };
  for (let c = 0; c < action.chats; c++) {
    const phone = `5190${String(c).padStart(7, '0')}`;
    const jid = `${phone}@s.whatsapp.net`;
    const lastAt = now - c;
    chats.push({ jid, name: `Contact ${c}`, unreadCount: 0, lastMessageAt: lastAt });
    contacts.push({ id: jid, lid: null, phoneJid: jid, name: `Contact ${c}`, notify: `Contact ${c}`, imgUrl: null });
    for (let m = 0; m < action.messagesPerChat; m++) {
      const fromMe = m % 2 === 1;
      const timestamp = lastAt - (action.messagesPerChat - 1 - m) * 60;
      const key: WaMessageKey = { id: `${action.idPrefix}-${c}-${m}`, remoteJid: jid, fromMe, participant: null, remoteJidAlt: null, participantAlt: null };
      messages.push(textMessage(key, `Message ${m} of chat ${c}${fromMe ? ` from ${ownJid}` : ''}`, timestamp, { status: fromMe ? 'read' : null }));
      done += 1;
      if (messages.length >= action.batchSize) yield flush();
    }
  }
  if (messages.length > 0 || chats.length > 0) yield flush();
}
