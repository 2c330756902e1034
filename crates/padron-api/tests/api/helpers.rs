//! Test harness: a fresh migrated database per test (a temporary SQLite file, or a fresh
//! PostgreSQL schema when `PADRON_TEST_POSTGRES_URL` is set), the real router, a client with
//! credentials for both environments, and typed request helpers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use padron_api::{AppState, CreatedClient, auth, router};
use padron_store::{ConnectOptions, Environment, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Names the PostgreSQL server the PostgreSQL half of the suite uses.
pub const POSTGRES_URL_VAR: &str = "PADRON_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// SQLite in memory: one connection for reads and writes, so reads go through sqlx
    /// instead of the read connections of a database file. No direct SQL (`execute_sql`).
    SqliteInMemory,
}

/// Runs each named scenario once per backend: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await {
                        super::$name(&app).await;
                        app.cleanup().await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                        super::$name(&app).await;
                        app.cleanup().await;
                    }
                }
            )*
        }
    };
}

/// A running app on a fresh database.
pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub client: CreatedClient,
    /// Kept so the SQLite file lives as long as the test.
    _dir: tempfile::TempDir,
    /// The PostgreSQL admin URL and schema to drop at the end.
    pg_schema: Option<(String, String)>,
    /// The URL the store was opened with (a PostgreSQL URL selects the test's schema).
    pub database_url: String,
    /// Which backend this app runs on.
    pub backend: Backend,
}

/// An answer: status, headers and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// Asserts the status and returns the body, printing the answer on failure.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {:#}",
            self.body
        );
        &self.body
    }

    /// Asserts an error envelope with this status and code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        let body = self.expect(status);
        assert_eq!(body["status"], json!(status), "{body:#}");
        assert_eq!(body["code"], json!(code), "{body:#}");
        assert!(
            body["type"].is_string() && body["detail"].is_string(),
            "{body:#}"
        );
        assert!(
            body["traceId"].as_str().is_some_and(|t| !t.is_empty()),
            "{body:#}"
        );
        assert!(body["errors"].is_array(), "{body:#}");
        body
    }

    /// Field names listed in `errors[]`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `id` of the body.
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .expect("answer has an id")
            .to_owned()
    }
}

fn random_suffix() -> String {
    let bytes: [u8; 8] = rand_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rand_bytes() -> [u8; 8] {
    // Time and a process counter are enough for unique schema names within a run.
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64)
        ^ (COUNTER.fetch_add(1, Ordering::Relaxed) << 48)
        ^ u64::from(std::process::id());
    mixed.to_be_bytes()
}

impl TestApp {
    /// A fresh app, or `None` (with a message) when the backend is not configured.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (url, pg_schema) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("padron.db").display()),
                None,
            ),
            Backend::SqliteInMemory => ("sqlite::memory:".to_owned(), None),
            Backend::Postgres => {
                let Ok(admin) = std::env::var(POSTGRES_URL_VAR) else {
                    eprintln!(
                        "skipped: {POSTGRES_URL_VAR} is not set, so the PostgreSQL half of this test did not run"
                    );
                    return None;
                };
                let schema = format!("padron_test_{}", random_suffix());
                let pool = sqlx::PgPool::connect(&admin)
                    .await
                    .expect("connect to the PostgreSQL test server");
                sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}")))
                    .execute(&pool)
                    .await
                    .expect("create test schema");
                pool.close().await;
                let sep = if admin.contains('?') { '&' } else { '?' };
                let url = format!("{admin}{sep}options=-c%20search_path%3D{schema}");
                (url, Some((admin, schema)))
            }
        };
        let options = ConnectOptions {
            max_connections: 8,
            ..ConnectOptions::default()
        };
        let store = padron_store::connect(&url, &options)
            .await
            .expect("open test database");
        let state = AppState::new(store.clone()).await.expect("app state");
        let client = auth::create_client(store.as_ref(), "Test client", auth::now_micros())
            .await
            .expect("client");
        Some(TestApp {
            router: router(state),
            store,
            client,
            _dir: dir,
            pg_schema,
            database_url: url,
            backend,
        })
    }

    /// Drops the PostgreSQL schema of a test that finished.
    pub async fn cleanup(self) {
        if let Some((admin, schema)) = &self.pg_schema
            && let Ok(pool) = sqlx::PgPool::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("drop schema {schema} cascade")))
                .execute(&pool)
                .await;
            pool.close().await;
        }
    }

    /// Runs one SQL statement directly on the test's database (to set up what the API cannot).
    pub async fn execute_sql(&self, sql: &str) {
        match self.backend {
            Backend::SqliteInMemory => panic!("no second connection to an in-memory database"),
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&pool)
                    .await
                    .expect("statement");
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&pool)
                    .await
                    .expect("statement");
                pool.close().await;
            }
        }
    }

    /// The single integer a `select count(*) …` answers, read directly from the test's database.
    pub async fn count_sql(&self, sql: &str) -> i64 {
        let (count,): (i64,) = match self.backend {
            Backend::SqliteInMemory => panic!("no second connection to an in-memory database"),
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&pool)
                    .await
                    .expect("query")
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&pool)
                    .await
                    .expect("query")
            }
        };
        count
    }

    /// Another client of the same database, with its own credentials.
    pub async fn other_client(&self) -> CreatedClient {
        auth::create_client(self.store.as_ref(), "Other client", auth::now_micros())
            .await
            .expect("client")
    }

    /// Sends a raw request through the router.
    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        self.send_to(&self.router, req).await
    }

    /// Sends a raw request through another router (one built with other settings).
    pub async fn send_to(&self, router: &Router, req: Request<Body>) -> TestResponse {
        let response = router.clone().oneshot(req).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// A bearer token for one of this app's client environments.
    pub async fn token_for(&self, client: &CreatedClient, env: Environment) -> String {
        let (prefix, creds) = match env {
            Environment::Sandbox => ("/sandbox", &client.sandbox),
            Environment::Production => ("", &client.production),
        };
        let req = Request::post(format!("{prefix}/auth"))
            .header("content-type", "application/json")
            .header("x-api-key", &creds.api_key)
            .body(Body::from(
                json!({"clientId": client.client_id, "clientSecret": creds.client_secret})
                    .to_string(),
            ))
            .unwrap();
        let res = self.send(req).await;
        res.expect(200)["accessToken"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// A caller of this app's client in `env`.
    pub async fn caller(&self, env: Environment) -> Caller<'_> {
        self.caller_of(&self.client, env).await
    }

    /// A caller of `client` in `env`.
    pub async fn caller_of(&self, client: &CreatedClient, env: Environment) -> Caller<'_> {
        let token = self.token_for(client, env).await;
        let (prefix, creds) = match env {
            Environment::Sandbox => ("/sandbox", &client.sandbox),
            Environment::Production => ("", &client.production),
        };
        Caller {
            app: self,
            prefix: prefix.to_owned(),
            api_key: creds.api_key.clone(),
            token,
            version: Some("24-04-2025".to_owned()),
        }
    }

    /// The sandbox caller with the current API version.
    pub async fn sandbox(&self) -> Caller<'_> {
        self.caller(Environment::Sandbox).await
    }

    /// The production caller with the current API version.
    pub async fn production(&self) -> Caller<'_> {
        self.caller(Environment::Production).await
    }
}

/// Sends authenticated requests for one client environment.
#[derive(Clone)]
pub struct Caller<'a> {
    pub app: &'a TestApp,
    pub prefix: String,
    pub api_key: String,
    pub token: String,
    /// The `conomyhq-api-version` header; `None` sends none (legacy shape).
    pub version: Option<String>,
}

impl Caller<'_> {
    /// The same caller asking for the legacy (version 1) shape.
    pub fn legacy(&self) -> Self {
        Caller {
            version: None,
            ..self.clone()
        }
    }

    /// A request builder with credentials and version set.
    pub fn builder(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.prefix, path))
            .header("x-api-key", &self.api_key)
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(v) = &self.version {
            b = b.header("conomyhq-api-version", v);
        }
        b
    }

    /// Sends a JSON body (or none).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        self.call_with(method, path, body, &[]).await
    }

    /// Sends a JSON body (or none) with extra headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut b = self.builder(method, path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(body) => b
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => b.body(Body::empty()),
        }
        .unwrap();
        self.app.send(req).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates an identity and asserts 201.
    pub async fn create(&self, body: Value) -> Value {
        self.post("/identities", body).await.expect(201).clone()
    }
}

/// A valid organization (Chilean RUT with a correct check digit).
pub fn organization() -> Value {
    json!({
        "type": "ORGANIZATION", "name": "Operator 1", "email": "operator1@example.com",
        "phone": "+56 2 2345 6789", "country": "CHL", "documentType": "RUT", "documentNumber": "77.123.126-8"
    })
}

/// A valid user (strictly valid RUT, email and Chilean mobile).
pub fn user(n: u32) -> Value {
    json!({
        "type": "USER", "name": format!("User {n}"), "email": format!("user{n}@example.com"),
        "phone": "+56 9 6123 4567", "country": "CHL", "documentType": "RUT", "documentNumber": "17.604.011-4"
    })
}

/// Sets top-level keys of a JSON object.
pub fn with(mut base: Value, changes: Value) -> Value {
    if let (Some(map), Some(changes)) = (base.as_object_mut(), changes.as_object()) {
        for (k, v) in changes {
            map.insert(k.clone(), v.clone());
        }
    }
    base
}
