import type { WaMedia } from './whatsapp-events.js';

/**
 * One item of `session.messages.media` (the seed's media[]): where a message's file is stored and
 * what it is. `url` is null when the file was not stored; `reason` then says why:
 *   too_large         larger than MEDIA_MAX_BYTES (the metadata is WhatsApp's)
 *   download_failed   WhatsApp would not give the file, after every retry
 *   not_downloadable  the message carries no file that can be fetched
 */
export interface MessageMediaItem {
  messageId: string;
  chatJid: string;
  kind: WaMedia['kind'];
  url: string | null;
  mime: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  duration: number | null;
  reason?: MediaSkipReason;
}

export type MediaSkipReason = 'too_large' | 'download_failed' | 'not_downloadable';

/** The payload of `session.messages.media`, field for field as the seed shows it. */
export interface MessagesMediaPayload {
  tenantId: string;
  mediaCount: number;
  media: MessageMediaItem[];
  source: 'event';
}

export const MESSAGES_MEDIA_EVENT = 'session.messages.media';
