-- Which request holds a running key: only that request may store its answer or free the key,
-- so a request that outlived its lease cannot overwrite the one that took the key over.
-- Kept in step with postgres.
alter table idempotency_keys add column owner text not null default '';
