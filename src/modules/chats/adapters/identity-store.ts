import type { Queryable } from '../../../platform/db/db.js';
import { dedupeMappings, Identities, type LidPn } from '../domain/identities.js';
import { isLid, isPhoneJid, normaliseJid } from '../domain/jid.js';
import { CHAT_LAST_MESSAGE_MERGE, MESSAGE_INSERT_COLUMNS, MESSAGE_INSERT_VALUES, MESSAGE_MERGE } from './message-sql.js';
import { rowsParam, type SessionScope } from './sql.js';

/** The mappings (both directions) known for these JIDs, in one query. */
export async function loadIdentities(db: Queryable, scope: SessionScope, jids: Iterable<string | null | undefined>): Promise<Identities> {
  const lids = new Set<string>();
  const pns = new Set<string>();
  for (const jid of jids) {
    const normal = normaliseJid(jid);
    if (isLid(normal)) lids.add(normal);
    else if (isPhoneJid(normal)) pns.add(normal);
  }
  if (lids.size === 0 && pns.size === 0) return new Identities();
  const rows = await db.query<LidPn>(
    `select lid, pn from session_lid_mappings
     where session_id = $1::uuid and tenant_id = $2::uuid and (lid = any($3::text[]) or pn = any($4::text[]))`,
    [scope.sessionId, scope.tenantId, [...lids], [...pns]],
  );
  return new Identities(rows);
}

/**
 * Records mappings learnt from an event and returns the identities of `jids` (and of the
 * mappings) with them. A mapping that is new or changed merges what was stored under the LID
 * into the phone JID: chat, messages, reactions, contact. A known mapping costs one read.
 */
export async function establishIdentities(
  tx: Queryable,
  scope: SessionScope,
  input: { mappings: Iterable<LidPn>; jids: Iterable<string | null | undefined> },
): Promise<Identities> {
  const mappings = dedupeMappings(input.mappings);
  const identities = await loadIdentities(tx, scope, [...input.jids, ...mappings.flatMap((m) => [m.lid, m.pn])]);
  const changed = mappings.filter((m) => identities.pnOf(m.lid) !== m.pn || identities.lidOf(m.pn) !== m.lid);
  if (changed.length === 0) return identities;
  await writeMappings(tx, scope, changed);
  // Merge every mapping this transaction saw as new, even one a concurrent transaction wrote first:
  // rows this one stored under the LID earlier are invisible to the other's merge.
  await mergeIdentities(tx, scope, changed);
  for (const m of changed) identities.add(m);
  return identities;
}

/** Stores mappings, replacing any that share their LID or their phone. */
async function writeMappings(tx: Queryable, scope: SessionScope, mappings: readonly LidPn[]): Promise<void> {
  const rows = rowsParam([...mappings].sort((a, b) => (a.lid < b.lid ? -1 : 1)));
  await tx.query(
    `delete from session_lid_mappings x
     using jsonb_to_recordset($2::jsonb -> 'rows') as m(lid text, pn text)
     where x.session_id = $1::uuid and x.pn = m.pn and x.lid <> m.lid`,
    [scope.sessionId, rows],
  );
  await tx.query(
    `insert into session_lid_mappings as x (tenant_id, session_id, lid, pn)
     select $1::uuid, $2::uuid, m.lid, m.pn from jsonb_to_recordset($3::jsonb -> 'rows') as m(lid text, pn text)
     order by m.lid
     on conflict (session_id, lid) do update set pn = excluded.pn, updated_at = now()
     where x.pn <> excluded.pn`,
    [scope.tenantId, scope.sessionId, rows],
  );
}

/**
 * Moves what is stored under each LID to its phone JID, merging with what the phone JID already
 * has: one chat (unread counts added, the newest last message kept), one contact, each message
 * once (merged by the message rules), one reaction per actor (the newest kept). Group senders and
 * reaction actors under the LID are rewritten too.
 */
export async function mergeIdentities(tx: Queryable, scope: SessionScope, mappings: readonly LidPn[]): Promise<void> {
  const params = [scope.tenantId, scope.sessionId, rowsParam(mappings)];
  const m = `mp as (select * from jsonb_to_recordset($3::jsonb -> 'rows') as t(lid text, pn text))`;

  await tx.query(
    `with ${m}
     update session_messages x set participant = mp.pn, updated_at = now()
     from mp where x.session_id = $2::uuid and x.participant like '%@lid' and x.participant = mp.lid
       and x.tenant_id = $1::uuid`,
    params,
  );
  await tx.query(
    `with ${m},
     moved as (
       delete from session_messages x using mp
       where x.session_id = $2::uuid and x.chat_jid = mp.lid and x.tenant_id = $1::uuid
       returning x.*, mp.pn
     )
     insert into session_messages as m (${MESSAGE_INSERT_COLUMNS})
     select ${MESSAGE_INSERT_VALUES.replace('r.chat_jid', 'r.pn')} from moved r order by r.pn, r.message_id
     on conflict (session_id, chat_jid, message_id) do update set ${MESSAGE_MERGE}`,
    params,
  );
  await tx.query(
    `with ${m},
     moved as (
       delete from session_message_reactions x
       where x.session_id = $2::uuid and x.tenant_id = $1::uuid and (x.chat_jid in (select lid from mp) or x.actor_jid in (select lid from mp))
       returning x.*
     ),
     mapped as (
       select distinct on (chat_jid, message_id, actor_jid) *
       from (
         select coalesce(mc.pn, r.chat_jid) as chat_jid, r.message_id, coalesce(ma.pn, r.actor_jid) as actor_jid, r.emoji, r.from_me, r.reacted_at
         from moved r left join mp mc on mc.lid = r.chat_jid left join mp ma on ma.lid = r.actor_jid
       ) s
       order by chat_jid, message_id, actor_jid, reacted_at desc
     )
     insert into session_message_reactions as x (tenant_id, session_id, chat_jid, message_id, actor_jid, emoji, from_me, reacted_at)
     select $1::uuid, $2::uuid, chat_jid, message_id, actor_jid, emoji, from_me, reacted_at from mapped
     on conflict (session_id, chat_jid, message_id, actor_jid) do update set
       emoji = excluded.emoji, from_me = excluded.from_me, reacted_at = excluded.reacted_at, updated_at = now()
     where excluded.reacted_at >= x.reacted_at`,
    params,
  );
  await tx.query(
    `with ${m},
     moved as (
       delete from session_chats x using mp
       where x.session_id = $2::uuid and x.jid = mp.lid and x.tenant_id = $1::uuid
       returning x.*, mp.pn
     )
     insert into session_chats as c (tenant_id, session_id, jid, phone, lid, name, unread_count, last_message_id,
       last_message_preview, last_message_type, last_message_from_me, last_message_timestamp, last_message_at, cleared_at, created_at)
     select $1::uuid, $2::uuid, r.pn, split_part(r.pn, '@', 1), r.jid, r.name, r.unread_count, r.last_message_id,
       r.last_message_preview, r.last_message_type, r.last_message_from_me, r.last_message_timestamp, r.last_message_at, r.cleared_at, r.created_at
     from moved r order by r.pn
     on conflict (session_id, jid) do update set
       phone = excluded.phone,
       lid = excluded.lid,
       name = coalesce(c.name, excluded.name),
       unread_count = case when c.unread_count is null and excluded.unread_count is null then null
         else coalesce(c.unread_count, 0) + coalesce(excluded.unread_count, 0) end,
       ${CHAT_LAST_MESSAGE_MERGE},
       cleared_at = greatest(c.cleared_at, excluded.cleared_at),
       created_at = least(c.created_at, excluded.created_at),
       updated_at = now()`,
    params,
  );
  await tx.query(
    `with ${m}
     update session_chats x set lid = mp.lid, phone = split_part(mp.pn, '@', 1), updated_at = now()
     from mp where x.session_id = $2::uuid and x.jid = mp.pn and x.lid is distinct from mp.lid
       and x.tenant_id = $1::uuid`,
    params,
  );
  await tx.query(
    `with ${m},
     moved as (
       delete from session_contacts x using mp
       where x.session_id = $2::uuid and x.id = mp.lid and x.tenant_id = $1::uuid
       returning x.*, mp.pn
     )
     insert into session_contacts as c (tenant_id, session_id, id, phone, lid, name, notify, img_url, created_at)
     select $1::uuid, $2::uuid, r.pn, split_part(r.pn, '@', 1), r.id, r.name, r.notify, r.img_url, r.created_at
     from moved r order by r.pn
     on conflict (session_id, id) do update set
       phone = excluded.phone,
       lid = excluded.lid,
       name = coalesce(c.name, excluded.name),
       notify = coalesce(c.notify, excluded.notify),
       img_url = coalesce(c.img_url, excluded.img_url),
       created_at = least(c.created_at, excluded.created_at),
       updated_at = now()`,
    params,
  );
  await tx.query(
    `with ${m}
     update session_contacts x set lid = mp.lid, phone = split_part(mp.pn, '@', 1), updated_at = now()
     from mp where x.session_id = $2::uuid and x.id = mp.pn and x.lid is distinct from mp.lid
       and x.tenant_id = $1::uuid`,
    params,
  );
}
