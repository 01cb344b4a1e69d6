-- Baileys' authentication state, one row per credential set and per signal key, by session.
-- category is 'creds' (key_id '') or a Baileys SignalDataTypeMap type ('pre-key', 'session', ...).
-- value is the JSON text written with Baileys' BufferJSON.replacer. It is text, not jsonb: nothing
-- queries inside it, it round-trips byte for byte, and jsonb would refuse a "\u0000" escape.
-- Writes are fenced by session_shard_leases (see the Baileys adapter); rows are never read across
-- sessions.
create table whatsapp_auth_state (
  tenant_id uuid not null,
  session_id uuid not null,
  category text not null,
  key_id text not null,
  value text not null,
  updated_at timestamptz not null default now(),
  primary key (session_id, category, key_id)
);
create index whatsapp_auth_state_tenant on whatsapp_auth_state (tenant_id, session_id);
