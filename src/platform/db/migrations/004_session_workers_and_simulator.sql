-- Live session workers: each registers and heartbeats here, so the others can compute their share
-- of the shards (a joining worker makes the others release some; a dead one stops counting).
create table session_workers (
  id text primary key,
  started_at timestamptz not null default now(),
  expires_at timestamptz not null
);

-- The simulator driver's side of WhatsApp: which sessions are linked (scanned) to which phone.
-- Kept in the database so that a session taken over by another worker resumes without a new QR.
create table simulator_devices (
  session_id uuid primary key,
  tenant_id uuid not null,
  phone text not null,
  lid text,
  name text,
  registered boolean not null default true,
  updated_at timestamptz not null default now()
);

-- Everything a simulated session did towards WhatsApp, in order, as the phone side saw it.
create table simulator_sent (
  id bigserial primary key,
  tenant_id uuid not null,
  session_id uuid not null,
  kind text not null,
  data jsonb not null,
  created_at timestamptz not null default now()
);
create index simulator_sent_session on simulator_sent (session_id, id);
