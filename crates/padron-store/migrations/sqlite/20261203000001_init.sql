-- Padron schema, SQLite. Kept in step with migrations/postgres; never edit once released.

create table clients (
    id          text    not null,
    name        text    not null,
    created_at  integer not null,
    constraint clients_pkey primary key (id)
);

-- One row per client and environment: the API key and client secret (hashes only) and the
-- validation level (null = the environment's default).
create table credentials (
    client_id         text    not null,
    environment       text    not null,
    api_key_hash      text    not null,
    secret_hash       text    not null,
    validation_level  text,
    created_at        integer not null,
    secret_rotated_at integer,
    constraint credentials_pkey primary key (client_id, environment),
    constraint credentials_client_fkey foreign key (client_id) references clients (id),
    constraint credentials_environment_check check (environment in ('sandbox', 'production')),
    constraint credentials_level_check check (validation_level in ('structural', 'strict'))
);
create unique index credentials_api_key_hash_key on credentials (api_key_hash);

-- Token signing keys live here so that every process accepts every other process's tokens.
create table signing_keys (
    kid         text    not null,
    secret      text    not null,
    created_at  integer not null,
    constraint signing_keys_pkey primary key (kid)
);

create table identities (
    client_id        text    not null,
    environment      text    not null,
    id               text    not null,
    kind             text    not null,
    name             text    not null,
    email            text,
    -- Uniqueness keys: '' stands for "missing" so that a missing value equals a missing value.
    email_key        text    not null,
    phone            text,
    phone_key        text    not null,
    country          text    not null,
    document_type    text    not null,
    document_number  text    not null,
    -- Letters and digits of the number without leading zeros: what the documentNumber filter
    -- matches when it is not told the document type.
    document_key     text    not null,
    status           text    not null,
    external_id      text,
    attributes       text    not null,
    created_at       integer not null,
    updated_at       integer not null,
    version          integer not null,
    deleted_at       integer,
    constraint identities_pkey primary key (client_id, environment, id)
);
create unique index identities_org_document_key
    on identities (client_id, environment, country, document_type, document_number)
    where kind = 'ORGANIZATION' and deleted_at is null;
create unique index identities_user_document_contact_key
    on identities (client_id, environment, country, document_type, document_number, email_key, phone_key)
    where kind = 'USER' and deleted_at is null;
create index identities_live_idx on identities (client_id, environment, id) where deleted_at is null;
create index identities_email_idx on identities (client_id, environment, email_key, id) where deleted_at is null;
create index identities_phone_idx on identities (client_id, environment, phone_key, id) where deleted_at is null;
create index identities_document_idx on identities (client_id, environment, document_key, id) where deleted_at is null;
create index identities_external_id_idx on identities (client_id, environment, external_id, id) where deleted_at is null;

create table identity_children (
    client_id    text    not null,
    environment  text    not null,
    parent_id    text    not null,
    child_id     text    not null,
    linked_at    integer not null,
    constraint identity_children_pkey primary key (client_id, environment, parent_id, child_id)
);
create index identity_children_child_idx on identity_children (client_id, environment, child_id);

create table identity_permissions (
    client_id     text    not null,
    environment   text    not null,
    identity_id   text    not null,
    resource      text    not null,
    reference_id  text    not null,
    permissions   text    not null,
    granted_at    integer not null,
    constraint identity_permissions_pkey primary key (client_id, environment, identity_id, resource, reference_id)
);
create index identity_permissions_reference_idx on identity_permissions (client_id, environment, reference_id);
