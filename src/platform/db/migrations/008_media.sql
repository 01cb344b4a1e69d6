-- Files uploaded with POST /media, to be sent with POST /chats/:jid/messages {mediaId}. The bytes
-- are in object storage (S3/R2 or DATA_DIR/media) under storage_key:
-- tenants/<tenant_id>/uploads/<id>/<file_name>.
create table media_uploads (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- The session it was uploaded for, when the client said (checked to be the tenant's).
  session_id uuid,
  kind text not null check (kind in ('image', 'video', 'audio', 'document', 'sticker')),
  storage_key text not null unique,
  url text not null,
  -- Detected from the bytes, never taken from the client.
  mime text not null,
  size bigint not null,
  width integer,
  height integer,
  -- Seconds (audio, video).
  duration double precision,
  file_name text not null,
  sha256 text not null,
  created_at timestamptz not null default now(),
  foreign key (tenant_id, session_id) references sessions (tenant_id, id) on delete cascade
);
create index media_uploads_by_tenant on media_uploads (tenant_id, created_at desc);
