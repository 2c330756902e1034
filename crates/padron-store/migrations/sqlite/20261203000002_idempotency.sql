-- Stored answers of requests sent with an Idempotency-Key (spec §9). Kept in step with postgres.
create table idempotency_keys (
    client_id     text    not null,
    environment   text    not null,
    key           text    not null,
    -- SHA-256 of method, path and body: a retry must send the same request.
    fingerprint   text    not null,
    -- 'running' while the first request is in flight, 'done' once its answer is stored.
    state         text    not null,
    -- A running request whose process died is taken over after this time.
    lease_until   integer not null,
    status        integer,
    headers       text,
    body          text,
    created_at    integer not null,
    expires_at    integer not null,
    constraint idempotency_keys_pkey primary key (client_id, environment, key),
    constraint idempotency_keys_state_check check (state in ('running', 'done'))
);
create index idempotency_keys_expires_idx on idempotency_keys (expires_at);
