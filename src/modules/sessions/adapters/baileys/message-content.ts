import { extractMessageContent, getContentType, normalizeMessageContent, type proto } from 'baileys';
import type { WaMedia } from '../../domain/whatsapp-events.js';
import { numberOf } from './message-key.js';

/**
 * What a message's content says: its type, its text, the message it quotes and its media. Pure
 * functions over Baileys' proto.IMessage.
 */

/**
 * The content itself, out of its wrappers (ephemeral, view once, document with caption, edited,
 * ...), with Baileys' own normalizeMessageContent.
 */
export function unwrapContent(message: proto.IMessage | null | undefined): proto.IMessage | undefined {
  return normalizeMessageContent(message ?? undefined);
}

/** The content type as Baileys names it (conversation, extendedTextMessage, imageMessage ...). */
export function contentTypeOf(content: proto.IMessage | undefined): keyof proto.IMessage | null {
  return getContentType(content) ?? null;
}

const nonEmpty = (s: string | null | undefined): string | null => (typeof s === 'string' && s !== '' ? s : null);

/** Text of any kind that carries some: conversation, extended text, captions, buttons and templates, replies to them, polls. */
export function textOf(content: proto.IMessage | undefined): string | null {
  if (!content) return null;
  const direct =
    nonEmpty(content.conversation) ??
    nonEmpty(content.extendedTextMessage?.text) ??
    nonEmpty(content.imageMessage?.caption) ??
    nonEmpty(content.videoMessage?.caption) ??
    nonEmpty(content.ptvMessage?.caption) ??
    nonEmpty(content.documentMessage?.caption) ??
    nonEmpty(content.buttonsResponseMessage?.selectedDisplayText) ??
    nonEmpty(content.templateButtonReplyMessage?.selectedDisplayText) ??
    nonEmpty(content.listResponseMessage?.title) ??
    nonEmpty(content.pollCreationMessage?.name) ??
    nonEmpty(content.pollCreationMessageV2?.name) ??
    nonEmpty(content.pollCreationMessageV3?.name);
  if (direct !== null) return direct;
  if (content.buttonsMessage || content.templateMessage) {
    // Baileys turns buttons and templates into their text (or their media, with its caption).
    const inner = extractMessageContent(content);
    if (inner && inner !== content) return textOf(inner);
  }
  return null;
}

/** The id of the message this one replies to (contextInfo.stanzaId of the content). */
export function quotedIdOf(content: proto.IMessage | undefined): string | null {
  const type = contentTypeOf(content);
  if (!content || !type) return null;
  const inner = content[type] as { contextInfo?: proto.IContextInfo | null } | null | undefined;
  if (!inner || typeof inner !== 'object') return null;
  return nonEmpty(inner.contextInfo?.stanzaId);
}

type MediaField = 'imageMessage' | 'videoMessage' | 'ptvMessage' | 'audioMessage' | 'documentMessage' | 'stickerMessage';

const MEDIA_FIELDS: [MediaField, WaMedia['kind']][] = [
  ['imageMessage', 'image'],
  ['videoMessage', 'video'],
  ['ptvMessage', 'video'], // a video note
  ['audioMessage', 'audio'], // voice notes (ptt) too
  ['documentMessage', 'document'],
  ['stickerMessage', 'sticker'],
];

interface AnyMedia {
  mimetype?: string | null;
  fileLength?: number | Long | null;
  width?: number | null;
  height?: number | null;
  seconds?: number | null;
  fileName?: string | null;
}

type Long = { toNumber(): number };

/** Media metadata of an image, video, audio (voice note), document or sticker. */
export function mediaOf(content: proto.IMessage | undefined): WaMedia | null {
  if (!content) return null;
  for (const [field, kind] of MEDIA_FIELDS) {
    const media = content[field] as AnyMedia | null | undefined;
    if (!media) continue;
    return {
      kind,
      mime: nonEmpty(media.mimetype),
      size: numberOf(media.fileLength),
      width: media.width ?? null,
      height: media.height ?? null,
      duration: media.seconds ?? null,
      fileName: nonEmpty(media.fileName),
    };
  }
  return null;
}
