//! Migrations applied to a database that already holds data: links made before their rows
//! carried the child's name and email get them from the child. On SQLite, and on PostgreSQL
//! when `PADRON_TEST_POSTGRES_URL` is set.

use std::str::FromStr;

use padron_domain::IdentityId;
use padron_store::{ConnectOptions, Environment, PostgresStore, SqliteStore, Store, Tenant};

/// The last migration before link rows carried their child's name and email.
const BEFORE_CHILD_NAMES: i64 = 20261203000005;

const PARENT: &str = "00000000000000000000000a";
const ANN: &str = "00000000000000000000000b";
const BOB: &str = "00000000000000000000000c";
const DELETED: &str = "00000000000000000000000d";
const MISSING: &str = "00000000000000000000000e";

/// One identity row as the schema before the migration takes it (the same text on both
/// backends).
fn identity(env: &str, id: &str, kind: &str, name: &str, email: Option<&str>, n: u32) -> String {
    let email = email.map_or("null".to_owned(), |e| format!("'{e}'"));
    format!(
        "insert into identities (client_id, environment, id, kind, name, email, email_key, phone, \
         phone_key, country, document_type, document_number, document_key, status, external_id, \
         attributes, created_at, updated_at, version, deleted_at) values ('c1', '{env}', '{id}', \
         '{kind}', '{name}', {email}, '', null, '', 'CHL', 'RUT', '{n}-0', '{n}0', 'ACTIVE', null, \
         '{{}}', 1, 1, 1, {deleted})",
        deleted = if id == DELETED { "2" } else { "null" },
    )
}

fn link(env: &str, parent: &str, child: &str, linked_at: i64) -> String {
    format!(
        "insert into identity_children (client_id, environment, parent_id, child_id, linked_at) \
         values ('c1', '{env}', '{parent}', '{child}', {linked_at})"
    )
}

/// What the database held before the migration: in the sandbox, a parent with two live
/// children, a deleted one and a link to an id that names no identity (neither ever shown), and
/// Ann as Bob's parent too; in production, the same ids with other names.
fn seed() -> Vec<String> {
    vec![
        identity(
            "sandbox",
            PARENT,
            "ORGANIZATION",
            "Org",
            Some("org@example.com"),
            1,
        ),
        identity("sandbox", ANN, "USER", "Ann", Some("ann@example.com"), 2),
        identity("sandbox", BOB, "USER", "Bob", None, 3),
        identity(
            "sandbox",
            DELETED,
            "USER",
            "Dee",
            Some("dee@example.com"),
            4,
        ),
        identity("production", PARENT, "ORGANIZATION", "Org P", None, 1),
        identity(
            "production",
            ANN,
            "USER",
            "Ann P",
            Some("ann.p@example.com"),
            2,
        ),
        link("sandbox", PARENT, ANN, 20),
        link("sandbox", PARENT, BOB, 10),
        link("sandbox", PARENT, DELETED, 30),
        link("sandbox", PARENT, MISSING, 40),
        link("sandbox", ANN, BOB, 50),
        link("production", PARENT, ANN, 60),
    ]
}

/// A link row after the migration: environment, parent, child, linked_at, name, email.
type LinkRow = (String, String, String, i64, String, Option<String>);

const LINKS: &str = "select environment, parent_id, child_id, linked_at, child_name, child_email \
     from identity_children order by environment, parent_id, child_id";

fn expected_links() -> Vec<LinkRow> {
    let row = |env: &str, parent: &str, child: &str, at: i64, name: &str, email: Option<&str>| {
        (
            env.to_owned(),
            parent.to_owned(),
            child.to_owned(),
            at,
            name.to_owned(),
            email.map(str::to_owned),
        )
    };
    vec![
        row(
            "production",
            PARENT,
            ANN,
            60,
            "Ann P",
            Some("ann.p@example.com"),
        ),
        row("sandbox", PARENT, ANN, 20, "Ann", Some("ann@example.com")),
        row("sandbox", PARENT, BOB, 10, "Bob", None),
        row("sandbox", ANN, BOB, 50, "Bob", None),
    ]
}

/// The store reads the migrated links as it read them before: live children only, in link
/// order, each with its own tenant's name and email.
async fn assert_children_read(store: &dyn Store) {
    let id = |hex: &str| IdentityId::parse(hex).unwrap();
    let tenant = |environment| Tenant {
        client_id: "c1".to_owned(),
        environment,
    };
    let shown = |identity: padron_domain::Identity| {
        identity
            .children
            .into_iter()
            .map(|c| {
                (
                    c.id.to_hex(),
                    c.name,
                    c.email.map(|e| e.as_str().to_owned()),
                )
            })
            .collect::<Vec<_>>()
    };
    let parent = store
        .find_identity(&tenant(Environment::Sandbox), id(PARENT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        shown(parent),
        vec![
            (BOB.to_owned(), "Bob".to_owned(), None),
            (
                ANN.to_owned(),
                "Ann".to_owned(),
                Some("ann@example.com".to_owned())
            ),
        ]
    );
    let parent = store
        .find_identity(&tenant(Environment::Production), id(PARENT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        shown(parent),
        vec![(
            ANN.to_owned(),
            "Ann P".to_owned(),
            Some("ann.p@example.com".to_owned())
        )]
    );
}

/// Fills `pool` (migrated up to [`BEFORE_CHILD_NAMES`]) with [`seed`], opens the store with
/// `connect` (which applies the rest), and checks the link rows and the children read.
macro_rules! seed_migrate_and_check {
    ($pool:ident, $connect:expr) => {
        for statement in seed() {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&$pool)
                .await
                .unwrap();
        }
        let store = $connect.await.unwrap();
        let links: Vec<LinkRow> = sqlx::query_as(LINKS).fetch_all(&$pool).await.unwrap();
        assert_eq!(links, expected_links());
        assert_children_read(&store).await;
        store.close().await;
        $pool.close().await;
    };
}

#[tokio::test]
async fn sqlite_links_made_before_the_child_names_migration_carry_their_childs_name_and_email() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("migrate.db").display());
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run_to(BEFORE_CHILD_NAMES, &pool)
        .await
        .unwrap();
    seed_migrate_and_check!(pool, SqliteStore::connect(&url, &ConnectOptions::default()));
}

#[tokio::test]
async fn postgres_links_made_before_the_child_names_migration_carry_their_childs_name_and_email() {
    let Ok(admin) = std::env::var("PADRON_TEST_POSTGRES_URL") else {
        eprintln!("skipped: PADRON_TEST_POSTGRES_URL is not set");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("padron_migrate_names_{}_{nanos}", std::process::id());
    let admin_pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}")))
        .execute(&admin_pool)
        .await
        .unwrap();
    let sep = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{sep}options=-c%20search_path%3D{schema}");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations/postgres")
        .run_to(BEFORE_CHILD_NAMES, &pool)
        .await
        .unwrap();
    seed_migrate_and_check!(
        pool,
        PostgresStore::connect(&url, &ConnectOptions::default())
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("drop schema {schema} cascade")))
        .execute(&admin_pool)
        .await
        .unwrap();
    admin_pool.close().await;
}
