//! PostgreSQL-only behaviour: serialization-failure retries and migrations run concurrently.

use std::time::Duration;

use padron_store::{ConnectOptions, StoreError};
use serde_json::json;

use crate::helpers::{Backend, TestApp, user};

/// A transaction the database aborts with SQLSTATE 40001 (as PostgreSQL under SERIALIZABLE and
/// CockroachDB do) is run again, and the client gets its 201.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_serialization_failure_is_retried_transparently() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    // A sequence is not transactional, so "fail only the first time" survives the rollback.
    for statement in [
        "create sequence forced_failures",
        "create function fail_first_insert() returns trigger language plpgsql as $$ \
         begin if nextval('forced_failures') = 1 then \
           raise exception 'forced serialization failure' using errcode = '40001'; \
         end if; return new; end $$",
        "create trigger fail_first_insert before insert on identities \
         for each row execute function fail_first_insert()",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let sandbox = app.sandbox().await;
    let got = sandbox.create(user(1)).await;
    assert_eq!(got["name"], "User 1");
    let (attempts,): (i64,) = sqlx::query_as("select last_value from forced_failures")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 2, "one forced failure, one successful retry");
    let listed = sandbox.get("/identities").await;
    assert_eq!(
        listed.expect(200)["pagination"]["count"],
        1,
        "nothing of the failed attempt remains"
    );
    pool.close().await;
    app.cleanup().await;
}

/// A failure that keeps happening is not retried forever: the client gets a 500 envelope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialization_failure_that_persists_ends_in_a_500_after_bounded_retries() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    for statement in [
        "create sequence forced_failures",
        "create function fail_insert() returns trigger language plpgsql as $$ \
         begin perform nextval('forced_failures'); \
         raise exception 'forced serialization failure' using errcode = '40001'; end $$",
        "create trigger fail_insert before insert on identities for each row execute function fail_insert()",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let sandbox = app.sandbox().await;
    let res = sandbox.post("/identities", user(1)).await;
    res.expect_error(500, "01");
    assert!(
        !res.body["detail"].as_str().unwrap().contains("forced"),
        "no internal details in the body"
    );
    let (attempts,): (i64,) = sqlx::query_as("select last_value from forced_failures")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 5);
    pool.close().await;
    app.cleanup().await;
}

/// Two processes starting at once on an empty database apply each migration once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_run_concurrently_apply_once_and_twice_is_harmless() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    // A second, empty schema: the app's own is already migrated.
    let admin = std::env::var(crate::helpers::POSTGRES_URL_VAR).unwrap();
    let schema = format!("padron_migrate_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop schema if exists {schema} cascade"
    )))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}")))
        .execute(&pool)
        .await
        .unwrap();
    let url = format!("{admin}?options=-c%20search_path%3D{schema}");
    let options = ConnectOptions {
        max_connections: 2,
        ..ConnectOptions::default()
    };
    let starts = (0..4).map(|_| padron_store::connect(&url, &options));
    let results = futures_util::future::join_all(starts).await;
    for r in &results {
        assert!(
            r.is_ok(),
            "a concurrent start failed: {:?}",
            r.as_ref().err()
        );
    }
    // And once more, later.
    padron_store::connect(&url, &options).await.unwrap();
    let (applied,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*) from {schema}._sqlx_migrations"
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../padron-store/migrations/postgres"
    ))
    .unwrap()
    .count();
    assert_eq!(applied as usize, files);
    sqlx::query(sqlx::AssertSqlSafe(format!("drop schema {schema} cascade")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    app.cleanup().await;
}

/// A connection failure names neither the password nor the full URL.
#[tokio::test]
async fn database_errors_never_show_the_password() {
    let options = ConnectOptions {
        statement_timeout: Duration::from_secs(1),
        ..ConnectOptions::default()
    };
    let err = padron_store::connect(
        "postgres://padron:hunter2-secret@127.0.0.1:1/padron",
        &options,
    )
    .await
    .err()
    .unwrap();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(matches!(err, StoreError::Database(_)));
    let _ = json!({});
}
