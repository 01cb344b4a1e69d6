/**
 * SQL of the messages-page benchmark: the endpoint repository's page query (the bare baseline),
 * and a one-statement alternative of the whole page (the proposal the benchmark measures beside it).
 */
import type { Db } from '../src/platform/db/db.js';

/**
 * The page query of SqlChatReader.listMessages (src/modules/chats/adapters/sql-chat-reader.ts),
 * copied: keep the two in step (read.ts warns when they drift apart).
 * $1 tenant, $2 session, $3 chat, $4 limit, then $5 timestamp and $6 id of the cursor.
 */
export const pageSql = (keyset: boolean) => `select message_id, chat_jid, from_me, participant, timestamp, type, text, status, edited_at, deleted_at,
         quoted_message_id, media, push_name
       from session_messages
       where session_id = $2::uuid and chat_jid = $3 and tenant_id = $1::uuid and timestamp is not null ${keyset ? 'and (timestamp, message_id) < ($5::bigint, $6::text)' : ''}
       order by timestamp desc, message_id desc
       limit $4`;

/**
 * What the endpoint's five statements (live session, LID → phone mapping, page, reactions,
 * quoted) compute, as one: the same rows, reactions aggregated by emoji in order of first use,
 * the quoted summaries. $1 tenant, $2 chat JID as given, $3 limit, then $4 timestamp and $5 id.
 */
export const onePageSql = (keyset: boolean) => `with s as materialized (
  select id from sessions where tenant_id = $1::uuid and deleted_at is null
), page as (
  -- Session and chat as scalar subqueries (run once, before the scan), so the index gives the
  -- order and the limit stops the scan: no sort.
  select m.session_id, m.message_id, m.chat_jid, m.from_me, m.participant, m.timestamp, m.type, m.text, m.status, m.edited_at,
    m.deleted_at, m.quoted_message_id, m.media, m.push_name
  from session_messages m
  where m.session_id = (select id from s)
    and m.chat_jid = coalesce((select l.pn from session_lid_mappings l where l.session_id = (select id from s) and l.tenant_id = $1::uuid and l.lid = $2), $2)
    and m.tenant_id = $1::uuid and m.timestamp is not null ${keyset ? 'and (m.timestamp, m.message_id) < ($4::bigint, $5::text)' : ''}
  order by m.timestamp desc, m.message_id desc
  limit $3
)
select p.message_id, p.chat_jid, p.from_me, p.participant, p.timestamp, p.type, p.text, p.status, p.edited_at, p.deleted_at,
  p.quoted_message_id, p.media, p.push_name,
  q.message_id as quoted_id, q.text as quoted_text, q.type as quoted_type, q.from_me as quoted_from_me, r.reactions
from page p
left join session_messages q
  on q.session_id = p.session_id and q.chat_jid = p.chat_jid and q.message_id = p.quoted_message_id and q.timestamp is not null
left join lateral (
  select json_agg(json_build_object('emoji', x.emoji, 'count', x.n, 'actors', x.actors) order by x.first, x.emoji) as reactions
  from (
    select emoji, count(*)::int as n, array_agg(actor_jid order by reacted_at, actor_jid) as actors, min(reacted_at) as first
    from session_message_reactions
    where session_id = p.session_id and chat_jid = p.chat_jid and message_id = p.message_id and emoji is not null and p.deleted_at is null
    group by emoji
  ) x
) r on true
order by p.timestamp desc, p.message_id desc`;

export interface OnePageRow {
  message_id: string;
  chat_jid: string;
  from_me: boolean | null;
  participant: string | null;
  timestamp: number;
  type: string | null;
  text: string | null;
  status: string | null;
  edited_at: number | null;
  deleted_at: number | null;
  quoted_message_id: string | null;
  media: Record<string, unknown> | null;
  push_name: string | null;
  quoted_id: string | null;
  quoted_text: string | null;
  quoted_type: string | null;
  quoted_from_me: boolean | null;
  reactions: { emoji: string; count: number; actors: string[] }[] | null;
}

/** A row of onePageSql as the endpoint's message item (media left out: the seeded store has none). */
export function onePageView(r: OnePageRow): Record<string, unknown> {
  return {
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
    quoted: r.quoted_message_id && r.quoted_id ? { id: r.quoted_id, text: r.quoted_text, type: r.quoted_type, fromMe: r.quoted_from_me === true } : null,
    reactions: r.reactions ?? [],
    media: null,
    pushName: r.push_name,
  };
}

/** The plan's outline (node types and index names) and its execution time, from EXPLAIN ANALYZE. */
export async function explain(db: Db, sql: string, params: unknown[]): Promise<{ outline: string; ms: number }> {
  const [row] = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(`explain (analyze, format json) ${sql}`, params);
  const plan = row!['QUERY PLAN'][0];
  const nodes: string[] = [];
  const walk = (n: PlanNode) => {
    nodes.push(n['Index Name'] ? `${n['Node Type']} using ${n['Index Name']}` : n['Node Type']);
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(plan.Plan);
  return { outline: nodes.join(' → '), ms: plan['Execution Time'] };
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
