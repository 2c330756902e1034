//! API tests: the real router on a fresh database per test, every scenario on SQLite and, when
//! `PADRON_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod helpers;

mod auth;
mod children;
mod document_types;
mod errors;
mod idempotency;
mod identities;
mod listing;
mod observability;
mod openapi;
mod postgres;
mod ratelimit;
mod seed_flow;
mod uniqueness;
mod validation;
