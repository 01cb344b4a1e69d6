-- Messaging projections: what the event consumer (group `projections`) builds from the `session.*`
-- events. Every row carries tenant_id, and (tenant_id, session_id) references the session, so a
-- row can never belong to another tenant's session. Times from WhatsApp are Unix seconds (bigint),
-- as the events carry them. JIDs are canonical: the phone JID (`<digits>@s.whatsapp.net`) when the
-- LID ⇄ phone mapping is known, else the form we have (`<n>@lid`, groups `@g.us`, ...).

-- LID ⇄ phone number, one to one within a session.
create table session_lid_mappings (
  tenant_id uuid not null,
  session_id uuid not null,
  lid text not null,
  pn text not null,
  updated_at timestamptz not null default now(),
  primary key (session_id, lid),
  unique (session_id, pn),
  foreign key (tenant_id, session_id) references sessions (tenant_id, id) on delete cascade
);

create table session_chats (
  tenant_id uuid not null,
  session_id uuid not null,
  jid text not null,
  -- Digits of the phone number and the LID JID, when known (either may be null).
  phone text,
  lid text,
  name text,
  -- null: never reported (shown as 0).
  unread_count integer,
  last_message_id text,
  last_message_preview text,
  last_message_type text,
  last_message_from_me boolean,
  last_message_timestamp bigint,
  -- Latest activity (a message, or what WhatsApp's chat list said), the sort key; 0 = none yet.
  last_message_at bigint not null default 0,
  -- A cleared chat: a message older than this that arrives late is not stored again.
  cleared_at bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (session_id, jid),
  foreign key (tenant_id, session_id) references sessions (tenant_id, id) on delete cascade
);
-- GET /chats: most recent activity first, keyset on (last_message_at, jid).
create index session_chats_recent on session_chats (tenant_id, session_id, last_message_at desc, jid desc);

-- A row whose timestamp is null is a stub: a receipt, edit or delete that arrived before its
-- message. It holds that state until the message arrives and merges with it; it is never listed.
create table session_messages (
  tenant_id uuid not null,
  session_id uuid not null,
  chat_jid text not null,
  message_id text not null,
  from_me boolean,
  participant text,
  timestamp bigint,
  type text,
  -- null once deleted (the row stays as a tombstone with deleted_at).
  text text,
  quoted_message_id text,
  push_name text,
  status text check (status in ('pending', 'sent', 'delivered', 'read', 'played', 'failed')),
  status_at bigint,
  edited_at bigint,
  deleted_at bigint,
  media jsonb,
  raw jsonb,
  request_id text,
  -- Counted once in its chat's unread_count (a redelivered notify upsert must not count it again).
  unread_counted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (session_id, chat_jid, message_id),
  foreign key (tenant_id, session_id) references sessions (tenant_id, id) on delete cascade
);
-- GET /chats/:jid/messages: newest first, keyset on (timestamp, message_id).
create index session_messages_page on session_messages (session_id, chat_jid, timestamp desc, message_id desc);
create index session_messages_request on session_messages (session_id, request_id) where request_id is not null;
-- When a LID's phone number becomes known, group senders under that LID are rewritten.
create index session_messages_lid_participant on session_messages (session_id, participant) where participant like '%@lid';

-- One reaction per actor per message. A withdrawn reaction keeps its row with emoji null, so an
-- older reaction delivered late cannot come back (the newest reacted_at wins).
create table session_message_reactions (
  tenant_id uuid not null,
  session_id uuid not null,
  chat_jid text not null,
  message_id text not null,
  actor_jid text not null,
  emoji text,
  from_me boolean not null default false,
  reacted_at bigint not null,
  updated_at timestamptz not null default now(),
  primary key (session_id, chat_jid, message_id, actor_jid),
  foreign key (tenant_id, session_id) references sessions (tenant_id, id) on delete cascade
);
create index session_message_reactions_lid_actor on session_message_reactions (session_id, actor_jid) where actor_jid like '%@lid';

-- The primary key (session_id, id) is also GET /contacts' keyset index.
create table session_contacts (
  tenant_id uuid not null,
  session_id uuid not null,
  id text not null,
  phone text,
  lid text,
  name text,
  notify text,
  img_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (session_id, id),
  foreign key (tenant_id, session_id) references sessions (tenant_id, id) on delete cascade
);
