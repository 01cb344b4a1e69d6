-- Session ownership: commands are partitioned into shards by session id; each shard is owned by
-- one worker through a lease. epoch grows on every change of owner and fences every write a
-- worker makes for the shard's sessions (a paused worker that lost its lease cannot write).
create table session_shard_leases (
  shard integer primary key,
  owner text,
  epoch bigint not null default 0,
  expires_at timestamptz not null default 'epoch',
  heartbeat_at timestamptz
);

-- Commands for WhatsApp carry ids; their outcome is recorded so a takeover never runs one twice.
create table session_commands (
  command_id uuid primary key,
  tenant_id uuid not null,
  session_id uuid not null,
  type text not null,
  status text not null check (status in ('done', 'failed')),
  result jsonb,
  completed_at timestamptz not null default now()
);
create index session_commands_completed_at on session_commands (completed_at);
