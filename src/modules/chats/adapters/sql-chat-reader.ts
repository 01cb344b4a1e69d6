import type { Queryable } from '../../../platform/db/db.js';
import type { WaMessageStatus } from '../../sessions/domain/whatsapp-events.js';
import type { ChatReader, ChatScope } from '../application/ports.js';
import type { ChatView, MediaView, MessageView, QuotedView, ReactionView } from '../application/views.js';
import { loadIdentities } from './identity-store.js';

interface ChatRow {
  jid: string;
  phone: string | null;
  lid: string | null;
  name: string | null;
  unread_count: number;
  last_message_id: string | null;
  last_message_preview: string | null;
  last_message_type: string | null;
  last_message_from_me: boolean | null;
  last_message_timestamp: number | null;
  last_message_at: number;
}

interface MessageRow {
  message_id: string;
  chat_jid: string;
  from_me: boolean | null;
  participant: string | null;
  timestamp: number;
  type: string | null;
  text: string | null;
  status: WaMessageStatus | null;
  edited_at: number | null;
  deleted_at: number | null;
  quoted_message_id: string | null;
  media: Record<string, unknown> | null;
  push_name: string | null;
}

/** The tenant's session that is not deleted (a tenant has at most one). */
export async function liveSessionId(db: Queryable, tenantId: string): Promise<string | undefined> {
  const [row] = await db.query<{ id: string }>(`select id from sessions where tenant_id = $1::uuid and deleted_at is null`, [tenantId]);
  return row?.id;
}

/** Reads for the API: every query is scoped by tenant and session, and a page is three queries whatever its size. */
export class SqlChatReader implements ChatReader {
  constructor(private readonly db: Queryable) {}

  liveSessionId(tenantId: string): Promise<string | undefined> {
    return liveSessionId(this.db, tenantId);
  }

  async canonicalJid(scope: ChatScope, jid: string): Promise<string> {
    const ids = await loadIdentities(this.db, scope, [jid]);
    return ids.canonical(jid) ?? jid;
  }

  async listChats(scope: ChatScope, page: { limit: number; after: { at: number; jid: string } | null }): Promise<ChatView[]> {
    const params: unknown[] = [scope.tenantId, scope.sessionId, page.limit];
    let keyset = '';
    if (page.after) {
      params.push(page.after.at, page.after.jid);
      keyset = 'and (c.last_message_at, c.jid) < ($4::bigint, $5::text)';
    }
    const rows = await this.db.query<ChatRow>(
      `select c.jid, c.phone, c.lid, coalesce(c.name, ct.name, ct.notify) as name, coalesce(c.unread_count, 0) as unread_count,
         c.last_message_id, c.last_message_preview, c.last_message_type, c.last_message_from_me, c.last_message_timestamp, c.last_message_at
       from session_chats c
       left join session_contacts ct on ct.session_id = c.session_id and ct.id = c.jid
       where c.tenant_id = $1::uuid and c.session_id = $2::uuid ${keyset}
       order by c.last_message_at desc, c.jid desc
       limit $3`,
      params,
    );
    return rows.map((r) => ({
      jid: r.jid,
      phone: r.phone,
      lid: r.lid,
      name: r.name,
      unreadCount: Number(r.unread_count),
      lastMessage:
        r.last_message_id !== null && r.last_message_timestamp !== null
          ? { id: r.last_message_id, text: r.last_message_preview, type: r.last_message_type, timestamp: Number(r.last_message_timestamp), fromMe: r.last_message_from_me === true }
          : null,
      lastMessageAt: Number(r.last_message_at) > 0 ? Number(r.last_message_at) : null,
    }));
  }

  async listMessages(scope: ChatScope, chatJid: string, page: { limit: number; after: { timestamp: number; id: string } | null }): Promise<MessageView[]> {
    const params: unknown[] = [scope.tenantId, scope.sessionId, chatJid, page.limit];
    let keyset = '';
    if (page.after) {
      params.push(page.after.timestamp, page.after.id);
      keyset = 'and (timestamp, message_id) < ($5::bigint, $6::text)';
    }
    const rows = await this.db.query<MessageRow>(
      `select message_id, chat_jid, from_me, participant, timestamp, type, text, status, edited_at, deleted_at,
         quoted_message_id, media, push_name
       from session_messages
       where session_id = $2::uuid and chat_jid = $3 and tenant_id = $1::uuid and timestamp is not null ${keyset}
       order by timestamp desc, message_id desc
       limit $4`,
      params,
    );
    if (rows.length === 0) return [];
    const ids = rows.filter((r) => r.deleted_at === null).map((r) => r.message_id);
    const quotedIds = [...new Set(rows.map((r) => r.quoted_message_id).filter((id): id is string => id !== null))];
    const [reactions, quoted] = await Promise.all([this.reactionsOf(scope, chatJid, ids), this.quotedOf(scope, chatJid, quotedIds)]);
    return rows.map((r) => ({
      id: r.message_id,
      chatJid: r.chat_jid,
      fromMe: r.from_me === true,
      participant: r.participant,
      timestamp: Number(r.timestamp),
      type: r.type,
      text: r.text,
      status: r.status,
      editedAt: r.edited_at === null ? null : Number(r.edited_at),
      deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
      quotedMessageId: r.quoted_message_id,
      quoted: r.quoted_message_id ? (quoted.get(r.quoted_message_id) ?? null) : null,
      reactions: reactions.get(r.message_id) ?? [],
      media: mediaView(r.media, r.deleted_at),
      pushName: r.push_name,
    }));
  }

  /** Reactions of a page, aggregated by emoji in the order they were first used. */
  private async reactionsOf(scope: ChatScope, chatJid: string, messageIds: string[]): Promise<Map<string, ReactionView[]>> {
    const out = new Map<string, ReactionView[]>();
    if (messageIds.length === 0) return out;
    const rows = await this.db.query<{ message_id: string; emoji: string; count: number; actors: string[] }>(
      `select message_id, emoji, count(*)::int as count, array_agg(actor_jid order by reacted_at, actor_jid) as actors
       from session_message_reactions
       where session_id = $2::uuid and chat_jid = $3 and tenant_id = $1::uuid and message_id = any($4::text[]) and emoji is not null
       group by message_id, emoji
       order by message_id, min(reacted_at), emoji`,
      [scope.tenantId, scope.sessionId, chatJid, messageIds],
    );
    for (const r of rows) {
      const list = out.get(r.message_id) ?? [];
      list.push({ emoji: r.emoji, count: Number(r.count), actors: r.actors });
      out.set(r.message_id, list);
    }
    return out;
  }

  private async quotedOf(scope: ChatScope, chatJid: string, messageIds: string[]): Promise<Map<string, QuotedView>> {
    const out = new Map<string, QuotedView>();
    if (messageIds.length === 0) return out;
    const rows = await this.db.query<{ message_id: string; text: string | null; type: string | null; from_me: boolean | null }>(
      `select message_id, text, type, from_me from session_messages
       where session_id = $2::uuid and chat_jid = $3 and tenant_id = $1::uuid and message_id = any($4::text[]) and timestamp is not null`,
      [scope.tenantId, scope.sessionId, chatJid, messageIds],
    );
    for (const r of rows) out.set(r.message_id, { id: r.message_id, text: r.text, type: r.type, fromMe: r.from_me === true });
    return out;
  }
}

function mediaView(media: Record<string, unknown> | null, deletedAt: number | null): MediaView | null {
  // Shown once the media job has finished with it (stored: a url; or given up: url null and a reason),
  // as the seed has it: WhatsApp's bare metadata before that is not a media object yet.
  if (!media || deletedAt !== null || typeof media.kind !== 'string' || !('url' in media)) return null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const view: MediaView = {
    kind: media.kind,
    url: str(media.url),
    mime: str(media.mime),
    size: num(media.size),
    width: num(media.width),
    height: num(media.height),
    duration: num(media.duration),
  };
  if (view.url === null && typeof media.reason === 'string') view.reason = media.reason;
  return view;
}
