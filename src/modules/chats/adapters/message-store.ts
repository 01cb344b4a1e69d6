import type { Queryable } from '../../../platform/db/db.js';
import { mergeByMessage, type MessageRecord } from '../domain/message-record.js';
import {
  CHAT_LAST_MESSAGE_MERGE,
  MESSAGE_INSERT_COLUMNS,
  MESSAGE_INSERT_VALUES,
  MESSAGE_MERGE,
  MESSAGE_RECORD_COLUMNS,
  recordRow,
} from './message-sql.js';
import { cleanText, rowsParam, type SessionScope } from './sql.js';

/**
 * Writes of the messaging projection: each call is one set-based statement however many rows it
 * carries (a history batch of thousands of messages is one round trip per table).
 */

const byKey = (a: MessageRecord, b: MessageRecord) =>
  a.chatJid < b.chatJid ? -1 : a.chatJid > b.chatJid ? 1 : a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;

/**
 * Upserts message records (whole messages or stubs) with the merge rules, skipping messages older
 * than their chat's last clear. With `touchChats`, each chat's last message is brought up to date
 * in the same statement (created when missing): the newest message of the batch per chat, or the
 * same message again when it was edited or deleted.
 */
export async function upsertMessages(tx: Queryable, scope: SessionScope, records: readonly MessageRecord[], options: { touchChats: boolean }): Promise<void> {
  if (records.length === 0) return;
  // Sorted: concurrent transactions lock rows in the same order instead of deadlocking.
  const rows = mergeByMessage(records).sort(byKey).map(recordRow);
  const upsert = `
    with r as (select * from jsonb_to_recordset($3::jsonb -> 'rows') as t(${MESSAGE_RECORD_COLUMNS})),
    kept as (
      select r.* from r
      left join session_chats c on c.session_id = $2::uuid and c.jid = r.chat_jid
      where r.timestamp is null or c.cleared_at is null or r.timestamp >= c.cleared_at
    ),
    up as (
      insert into session_messages as m (${MESSAGE_INSERT_COLUMNS})
      select ${MESSAGE_INSERT_VALUES} from kept r order by r.chat_jid, r.message_id
      on conflict (session_id, chat_jid, message_id) do update set ${MESSAGE_MERGE}
      returning m.chat_jid, m.message_id, m.timestamp, m.text, m.type, m.from_me
    )`;
  if (!options.touchChats) {
    await tx.query(`${upsert} select count(*) from up`, [scope.tenantId, scope.sessionId, rowsParam(rows)]);
    return;
  }
  await tx.query(
    `${upsert},
    latest as (
      select distinct on (chat_jid) chat_jid, message_id, timestamp, text, type, from_me
      from up where timestamp is not null
      order by chat_jid, timestamp desc, message_id desc
    )
    insert into session_chats as c (tenant_id, session_id, jid, phone, lid, last_message_id, last_message_preview,
      last_message_type, last_message_from_me, last_message_timestamp, last_message_at)
    select $1::uuid, $2::uuid, l.chat_jid,
      case when l.chat_jid like '%@s.whatsapp.net' then split_part(l.chat_jid, '@', 1) end,
      case when l.chat_jid like '%@lid' then l.chat_jid else lm.lid end,
      l.message_id, l.text, l.type, l.from_me, l.timestamp, l.timestamp
    from latest l
    left join session_lid_mappings lm on lm.session_id = $2::uuid and lm.pn = l.chat_jid
    order by l.chat_jid
    on conflict (session_id, jid) do update set
      phone = coalesce(c.phone, excluded.phone),
      lid = coalesce(c.lid, excluded.lid),
      ${CHAT_LAST_MESSAGE_MERGE},
      updated_at = now()`,
    [scope.tenantId, scope.sessionId, rowsParam(rows)],
  );
}

/**
 * Counts incoming messages in their chats' unread_count, each message once ever: the flag is set
 * under the row lock, so a redelivered or concurrent upsert of the same message counts nothing.
 */
export async function countUnread(tx: Queryable, scope: SessionScope, keys: readonly { chatJid: string; messageId: string }[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    `with k as (select * from jsonb_to_recordset($2::jsonb -> 'rows') as t(chat_jid text, message_id text)),
    counted as (
      update session_messages m set unread_counted = true
      from k
      where m.session_id = $1::uuid and m.chat_jid = k.chat_jid and m.message_id = k.message_id
        and not m.unread_counted and m.timestamp is not null and m.from_me = false
      returning m.chat_jid
    )
    update session_chats c set unread_count = coalesce(c.unread_count, 0) + n.n, updated_at = now()
    from (select chat_jid, count(*)::int as n from counted group by chat_jid) n
    where c.session_id = $1::uuid and c.jid = n.chat_jid`,
    [scope.sessionId, rowsParam(keys.map((k) => ({ chat_jid: k.chatJid, message_id: k.messageId })))],
  );
}

export interface ChatRecord {
  jid: string;
  phone: string | null;
  lid: string | null;
  name: string | null;
  unreadCount: number | null;
  lastMessageAt: number | null;
}

/** Chats as WhatsApp's chat list reports them: names, unread counts, activity. Unknown fields are kept. */
export async function upsertChats(tx: Queryable, scope: SessionScope, chats: readonly ChatRecord[]): Promise<void> {
  if (chats.length === 0) return;
  const byJid = new Map<string, ChatRecord>();
  for (const chat of chats) {
    const previous = byJid.get(chat.jid);
    byJid.set(
      chat.jid,
      previous
        ? {
            ...chat,
            name: chat.name ?? previous.name,
            unreadCount: chat.unreadCount ?? previous.unreadCount,
            lastMessageAt: Math.max(chat.lastMessageAt ?? 0, previous.lastMessageAt ?? 0) || null,
          }
        : chat,
    );
  }
  const rows = [...byJid.values()]
    .sort((a, b) => (a.jid < b.jid ? -1 : 1))
    .map((c) => ({ jid: c.jid, phone: c.phone, lid: c.lid, name: cleanText(c.name), unread_count: c.unreadCount, last_message_at: c.lastMessageAt }));
  await tx.query(
    `insert into session_chats as c (tenant_id, session_id, jid, phone, lid, name, unread_count, last_message_at)
     select $1::uuid, $2::uuid, r.jid, r.phone, r.lid, r.name, r.unread_count, coalesce(r.last_message_at, 0)
     from jsonb_to_recordset($3::jsonb -> 'rows') as r(jid text, phone text, lid text, name text, unread_count integer, last_message_at bigint)
     order by r.jid
     on conflict (session_id, jid) do update set
       phone = coalesce(excluded.phone, c.phone),
       lid = coalesce(excluded.lid, c.lid),
       name = coalesce(excluded.name, c.name),
       unread_count = coalesce(excluded.unread_count, c.unread_count),
       last_message_at = greatest(c.last_message_at, excluded.last_message_at),
       updated_at = now()`,
    [scope.tenantId, scope.sessionId, rowsParam(rows)],
  );
}

/**
 * A cleared chat: its messages older than `clearedAt` go (with their reactions), its preview and
 * unread count are cleared, and clearedAt is kept so such a message arriving late is not stored.
 * The chat row stays (created when missing, so the clear still holds when its messages come later).
 */
export async function clearChat(tx: Queryable, scope: SessionScope, chat: { jid: string; phone: string | null; lid: string | null }, clearedAt: number): Promise<void> {
  const cleared = (col: string) => `${col} = case when c.last_message_timestamp < excluded.cleared_at then null else c.${col} end`;
  await tx.query(
    `with gone as (
       delete from session_messages where session_id = $2::uuid and chat_jid = $3 and timestamp < $4::bigint returning message_id
     ),
     gone_reactions as (
       delete from session_message_reactions r using gone
       where r.session_id = $2::uuid and r.chat_jid = $3 and r.message_id = gone.message_id
       returning 1
     )
     insert into session_chats as c (tenant_id, session_id, jid, phone, lid, unread_count, cleared_at)
     values ($1::uuid, $2::uuid, $3, $5, $6, 0, $4::bigint)
     on conflict (session_id, jid) do update set
       cleared_at = greatest(c.cleared_at, excluded.cleared_at),
       unread_count = 0,
       ${['last_message_id', 'last_message_preview', 'last_message_type', 'last_message_from_me', 'last_message_timestamp'].map(cleared).join(',\n       ')},
       updated_at = now()`,
    [scope.tenantId, scope.sessionId, chat.jid, clearedAt, chat.phone, chat.lid],
  );
}

export interface ReactionRecord {
  chatJid: string;
  messageId: string;
  actorJid: string;
  /** null: withdrawn. */
  emoji: string | null;
  fromMe: boolean;
  reactedAt: number;
}

/** One reaction per actor per message; the newest (by reactedAt) wins, a withdrawal included. */
export async function upsertReactions(tx: Queryable, scope: SessionScope, reactions: readonly ReactionRecord[]): Promise<void> {
  if (reactions.length === 0) return;
  const byKey = new Map<string, ReactionRecord>();
  for (const r of reactions) {
    const key = `${r.chatJid}\u0000${r.messageId}\u0000${r.actorJid}`;
    const previous = byKey.get(key);
    if (!previous || r.reactedAt >= previous.reactedAt) byKey.set(key, r);
  }
  const rows = [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, r]) => ({ chat_jid: r.chatJid, message_id: r.messageId, actor_jid: r.actorJid, emoji: cleanText(r.emoji), from_me: r.fromMe, reacted_at: r.reactedAt }));
  await tx.query(
    `insert into session_message_reactions as x (tenant_id, session_id, chat_jid, message_id, actor_jid, emoji, from_me, reacted_at)
     select $1::uuid, $2::uuid, r.chat_jid, r.message_id, r.actor_jid, r.emoji, coalesce(r.from_me, false), r.reacted_at
     from jsonb_to_recordset($3::jsonb -> 'rows') as r(chat_jid text, message_id text, actor_jid text, emoji text, from_me boolean, reacted_at bigint)
     order by r.chat_jid, r.message_id, r.actor_jid
     on conflict (session_id, chat_jid, message_id, actor_jid) do update set
       emoji = excluded.emoji, from_me = excluded.from_me, reacted_at = excluded.reacted_at, updated_at = now()
     where excluded.reacted_at >= x.reacted_at`,
    [scope.tenantId, scope.sessionId, rowsParam(rows)],
  );
}

export interface ContactRecord {
  id: string;
  phone: string | null;
  lid: string | null;
  name: string | null;
  notify: string | null;
  imgUrl: string | null;
}

/** Contacts merge field by field: what an event does not say is kept. */
export async function upsertContacts(tx: Queryable, scope: SessionScope, contacts: readonly ContactRecord[]): Promise<void> {
  if (contacts.length === 0) return;
  const byId = new Map<string, ContactRecord>();
  for (const c of contacts) {
    const p = byId.get(c.id);
    byId.set(
      c.id,
      p ? { id: c.id, phone: c.phone ?? p.phone, lid: c.lid ?? p.lid, name: c.name ?? p.name, notify: c.notify ?? p.notify, imgUrl: c.imgUrl ?? p.imgUrl } : c,
    );
  }
  const rows = [...byId.values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((c) => ({ id: c.id, phone: c.phone, lid: c.lid, name: cleanText(c.name), notify: cleanText(c.notify), img_url: cleanText(c.imgUrl) }));
  await tx.query(
    `insert into session_contacts as c (tenant_id, session_id, id, phone, lid, name, notify, img_url)
     select $1::uuid, $2::uuid, r.id, r.phone, r.lid, r.name, r.notify, r.img_url
     from jsonb_to_recordset($3::jsonb -> 'rows') as r(id text, phone text, lid text, name text, notify text, img_url text)
     order by r.id
     on conflict (session_id, id) do update set
       phone = coalesce(excluded.phone, c.phone),
       lid = coalesce(excluded.lid, c.lid),
       name = coalesce(excluded.name, c.name),
       notify = coalesce(excluded.notify, c.notify),
       img_url = coalesce(excluded.img_url, c.img_url),
       updated_at = now()
     where (c.phone, c.lid, c.name, c.notify, c.img_url) is distinct from
       (coalesce(excluded.phone, c.phone), coalesce(excluded.lid, c.lid), coalesce(excluded.name, c.name),
        coalesce(excluded.notify, c.notify), coalesce(excluded.img_url, c.img_url))`,
    [scope.tenantId, scope.sessionId, rowsParam(rows)],
  );
}

/** A deleted session: everything the projection holds for it goes (the sessions row stays). */
export async function deleteSessionData(tx: Queryable, scope: SessionScope): Promise<void> {
  for (const table of ['session_message_reactions', 'session_messages', 'session_chats', 'session_contacts', 'session_lid_mappings']) {
    await tx.query(`delete from ${table} where tenant_id = $1::uuid and session_id = $2::uuid`, [scope.tenantId, scope.sessionId]);
  }
}
