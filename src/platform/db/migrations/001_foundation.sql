-- Tenants and their users. Every tenant-owned row carries tenant_id, and composite keys include it
-- so a row can never point at another tenant's row.
create table tenants (
  id uuid primary key,
  name text not null,
  created_at timestamptz not null default now()
);

create table users (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  email text not null,
  name text,
  role text not null default 'owner' check (role in ('owner', 'member')),
  password_hash text not null,
  email_verified_at timestamptz,
  -- Bumped by logout-all and password reset: access tokens carry it, older ones stop working.
  token_version integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, id)
);
create unique index users_email_key on users (email);

-- Refresh tokens rotate within a family; presenting a rotated one revokes the family (RFC 9700).
create table refresh_tokens (
  id uuid primary key,
  tenant_id uuid not null,
  user_id uuid not null,
  family_id uuid not null,
  token_hash text not null unique,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  rotated_at timestamptz,
  revoked_at timestamptz,
  revoked_reason text,
  foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index refresh_tokens_family on refresh_tokens (family_id);
create index refresh_tokens_user_active on refresh_tokens (user_id) where revoked_at is null;

-- Single-use tokens for email verification and password reset, stored as sha256.
create table one_time_tokens (
  id uuid primary key,
  tenant_id uuid not null,
  user_id uuid not null,
  purpose text not null check (purpose in ('email_verification', 'password_reset')),
  token_hash text not null unique,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index one_time_tokens_user on one_time_tokens (user_id, purpose) where used_at is null;

-- Transactional outbox: rows written with the state change, published to a stream by the relay.
-- partition_key (the session id, or the tenant id) orders publication: a row is published only
-- after every earlier row of its partition.
create table outbox (
  id bigserial primary key,
  tenant_id uuid,
  partition_key text not null,
  stream text not null,
  event_id uuid not null unique,
  type text not null,
  message jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'published')),
  created_at timestamptz not null default now(),
  published_at timestamptz
);
create index outbox_pending on outbox (id) where status = 'pending';
create index outbox_pending_partition on outbox (partition_key, id) where status = 'pending';
create index outbox_published_at on outbox (published_at) where status = 'published';

-- Consumer inbox: an event id recorded in the same transaction as its effect makes redelivery harmless.
create table processed_events (
  consumer text not null,
  event_id uuid not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index processed_events_processed_at on processed_events (processed_at);

-- WhatsApp sessions: at most one live (not deleted) session per tenant.
create table sessions (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  status text not null,
  phone text,
  qr text,
  qr_expires_at timestamptz,
  pairing_phone text,
  connected_at timestamptz,
  disconnected_at timestamptz,
  disconnected_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (tenant_id, id)
);
create unique index sessions_one_live_per_tenant on sessions (tenant_id) where deleted_at is null;
