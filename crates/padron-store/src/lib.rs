//! Padron's persistence: one [`Store`] interface with a SQLite and a PostgreSQL implementation.
//! Uniqueness, child links and version checks are enforced inside the database, never by a
//! read-then-write in the application.

mod attributes;
mod backend;
mod postgres;
mod sqlite;

use async_trait::async_trait;
use padron_domain::{Identity, IdentityFields, IdentityId, IdentityKind, ValidationLevel};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A client's data space: sandbox or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Test data, structural validation by default.
    Sandbox,
    /// Live data, strict validation by default.
    Production,
}

impl Environment {
    /// Both environments, sandbox first.
    pub const ALL: [Environment; 2] = [Environment::Sandbox, Environment::Production];

    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }

    /// Parses `sandbox` or `production`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sandbox" => Some(Self::Sandbox),
            "production" => Some(Self::Production),
            _ => None,
        }
    }

    /// The validation level used when the operator set none (spec §6.2).
    pub fn default_level(self) -> ValidationLevel {
        match self {
            Environment::Sandbox => ValidationLevel::Structural,
            Environment::Production => ValidationLevel::Strict,
        }
    }
}

/// Whose data a call touches: every identity query is scoped by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    /// The client's id.
    pub client_id: String,
    /// The environment.
    pub environment: Environment,
}

/// A new client with the hashed credentials of both environments.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Client id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `(environment, api key hash, secret hash)` for each environment.
    pub credentials: Vec<(Environment, String, String)>,
    /// Creation time, Unix microseconds.
    pub created_at: i64,
}

/// A client as `padron client list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    /// Client id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time, Unix microseconds.
    pub created_at: i64,
}

/// The credentials of one client environment, as stored (hashes only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Client id.
    pub client_id: String,
    /// Environment.
    pub environment: Environment,
    /// Hash of the API key.
    pub api_key_hash: String,
    /// Hash of the client secret.
    pub secret_hash: String,
    /// Operator-set validation level, if any.
    pub validation_level: Option<ValidationLevel>,
}

impl Credential {
    /// The level in force: the operator's choice or the environment's default.
    pub fn level(&self) -> ValidationLevel {
        self.validation_level
            .unwrap_or(self.environment.default_level())
    }
}

/// A token signing key shared by every server process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, carried in each token's header.
    pub kid: String,
    /// The secret, base64url.
    pub secret: String,
    /// Creation time, Unix microseconds.
    pub created_at: i64,
}

/// Exact-match filters of `GET /identities`, combined with AND. Values are already canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityFilter {
    /// USER or ORGANIZATION.
    pub kind: Option<IdentityKind>,
    /// Case-folded email.
    pub email_key: Option<String>,
    /// `+` and digits.
    pub phone_key: Option<String>,
    /// Letters and digits of the canonical number, upper case (see [`document_key`]).
    pub document_key: Option<String>,
    /// Canonical document type name.
    pub document_type: Option<String>,
    /// Alpha-3 country.
    pub country: Option<String>,
    /// Status name.
    pub status: Option<String>,
    /// External id, exact.
    pub external_id: Option<String>,
    /// Only children of this identity.
    pub parent_id: Option<IdentityId>,
}

/// A change computed from the current identity: the full new set of fields and, when `Some`,
/// the whole new set of children.
#[derive(Debug, Clone)]
pub struct IdentityChange {
    /// The complete new fields.
    pub fields: IdentityFields,
    /// `Some` replaces the children.
    pub children: Option<Vec<IdentityId>>,
}

/// Computes a change from the current identity inside the write transaction: `Ok(None)` means
/// "nothing to change"; an `Err` aborts the transaction and comes back as
/// [`StoreError::Rejected`].
pub type ChangeFn<'a> =
    dyn Fn(&Identity) -> Result<Option<IdentityChange>, BoxError> + Send + Sync + 'a;

/// Any error a [`ChangeFn`] returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A read-modify-write of one identity, done under the identity's row lock.
pub struct IdentityEdit<'a> {
    /// Fail with [`StoreError::VersionMismatch`] unless the identity is at this version.
    pub expected_version: Option<i64>,
    /// Whether the change may replace the children, or change the name or email that the
    /// identity's parents show in their `children` (takes the tenant's link lock first).
    pub touches_links: bool,
    /// Time of the change, Unix microseconds.
    pub now: i64,
    /// The change.
    pub change: &'a ChangeFn<'a>,
}

/// The outcome of [`Store::modify_identity`].
#[derive(Debug, Clone)]
pub struct Modified {
    /// The identity after the change.
    pub identity: Identity,
    /// False when the change function found nothing to change (no new version).
    pub changed: bool,
}

/// How child links change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChange {
    /// Link the ids (already linked ones are kept).
    Add,
    /// Unlink the ids (ids not linked are ignored).
    Remove,
}

/// A scope an identity holds over another identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// The kind of thing governed (`IDENTITY`).
    pub resource: String,
    /// The identity acted for.
    pub reference: IdentityId,
    /// Permission names.
    pub permissions: Vec<String>,
}

/// An answer kept for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers worth replaying (`content-type`, `etag`), as name/value pairs.
    pub headers: Vec<(String, String)>,
    /// The body, as sent.
    pub body: String,
}

/// A request asking to run under an idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim<'a> {
    /// Whose key.
    pub tenant: &'a Tenant,
    /// The key.
    pub key: &'a str,
    /// Hash of what makes two requests the same request.
    pub fingerprint: &'a str,
    /// A random token naming this request, so only it can finish or free the key.
    pub owner: &'a str,
    /// Now, Unix microseconds.
    pub now: i64,
    /// Until when a running request holds the key.
    pub lease_until: i64,
    /// When the kept answer expires.
    pub expires_at: i64,
}

/// What [`Store::begin_idempotent`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// The key was free: this request runs and must call `finish_idempotent` or
    /// `abandon_idempotent`.
    Started,
    /// The first request with this key completed: replay its answer.
    Replay(StoredResponse),
    /// The key was used for another method, path or body.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueRule {
    /// Two organizations with one document.
    OrganizationDocument,
    /// Two users with one document, email and phone.
    UserDocumentContact,
}

/// Store failures the API turns into answers; everything else is [`StoreError::Database`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such live identity (or client) in this tenant.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; `existing` is the identity already holding the values.
    #[error("conflicts with identity {existing:?}")]
    Duplicate {
        /// Which rule.
        rule: UniqueRule,
        /// Id of the identity that holds the values, when it could be found.
        existing: Option<IdentityId>,
    },
    /// The identity changed since `base_version` / the expected version.
    #[error("version mismatch: current version is {current}")]
    VersionMismatch {
        /// The version now stored.
        current: i64,
    },
    /// Some children (or permission references) are not live identities of the tenant.
    #[error("unknown identities: {0:?}")]
    UnknownIdentities(Vec<IdentityId>),
    /// The links would form a cycle (or link an identity to itself).
    #[error("the links would form a cycle")]
    Cycle,
    /// The database failed; the cause is for logs only.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A read made directly through SQLite (`sqlite.rs`) failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Migrations failed.
    #[error("migration error")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names no supported backend.
    #[error("unsupported database URL: it must start with sqlite: or postgres://")]
    UnsupportedUrl,
    /// The change function refused the change; the error is the caller's own.
    #[error("change rejected: {0}")]
    Rejected(BoxError),
    /// The store is shutting down (or its writer task is gone).
    #[error("the store is closed")]
    Closed,
    /// The database could not take the write now; nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// The persistence interface. Both backends behave the same; the API never knows which it has.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Name of the backend, for logs.
    fn backend(&self) -> &'static str;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Connections open and idle in the pools, for metrics.
    fn pool_stats(&self) -> PoolStats;
    /// Closes the pools, waiting for connections in use (SQLite then checkpoints its WAL).
    async fn close(&self);

    /// Stores a client and its credentials.
    async fn create_client(&self, client: NewClient) -> Result<(), StoreError>;
    /// Every client, oldest first.
    async fn list_clients(&self) -> Result<Vec<ClientSummary>, StoreError>;
    /// Replaces the secret hash of one client environment.
    async fn rotate_secret(
        &self,
        client_id: &str,
        env: Environment,
        secret_hash: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Sets (or, with `None`, resets) the validation level of one client environment.
    async fn set_validation_level(
        &self,
        client_id: &str,
        env: Environment,
        level: Option<ValidationLevel>,
    ) -> Result<(), StoreError>;
    /// The credential whose API key has this hash.
    async fn credential_by_api_key(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Credential>, StoreError>;
    /// The credential of one client environment.
    async fn credential(
        &self,
        client_id: &str,
        env: Environment,
    ) -> Result<Option<Credential>, StoreError>;

    /// Every signing key, newest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;
    /// Adds a signing key.
    async fn insert_signing_key(&self, key: &SigningKey) -> Result<(), StoreError>;

    /// Creates an identity and links its children, all or nothing.
    async fn create_identity(
        &self,
        tenant: &Tenant,
        id: IdentityId,
        kind: IdentityKind,
        fields: &IdentityFields,
        children: &[IdentityId],
        now: i64,
    ) -> Result<Identity, StoreError>;
    /// One live identity with its children.
    async fn find_identity(
        &self,
        tenant: &Tenant,
        id: IdentityId,
    ) -> Result<Option<Identity>, StoreError>;
    /// A page of live identities with ids after `after`, in id (creation) order.
    async fn list_identities(
        &self,
        tenant: &Tenant,
        filter: &IdentityFilter,
        after: Option<IdentityId>,
        limit: u32,
    ) -> Result<Vec<Identity>, StoreError>;
    /// Reads the identity with its row locked, computes a change with `edit.change`, validates
    /// and stores it, all in one transaction: concurrent edits apply one after the other.
    async fn modify_identity(
        &self,
        tenant: &Tenant,
        id: IdentityId,
        edit: &IdentityEdit<'_>,
    ) -> Result<Modified, StoreError>;
    /// Adds or removes child links; bumps the parent's version when anything changed.
    async fn change_children(
        &self,
        tenant: &Tenant,
        id: IdentityId,
        change: LinkChange,
        children: &[IdentityId],
        expected_version: Option<i64>,
        now: i64,
    ) -> Result<Identity, StoreError>;
    /// Deletes an identity (tombstone), its links and its permissions.
    async fn delete_identity(
        &self,
        tenant: &Tenant,
        id: IdentityId,
        expected_version: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The scopes an identity holds.
    async fn permissions(
        &self,
        tenant: &Tenant,
        id: IdentityId,
    ) -> Result<Vec<Permission>, StoreError>;
    /// Grants scopes (permission names are merged with those already held).
    async fn grant_permissions(
        &self,
        tenant: &Tenant,
        id: IdentityId,
        grants: &[Permission],
        expected_version: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Reserves an idempotency key for a request with this fingerprint, or reports what holds it.
    /// Expired keys, and running ones whose lease ran out (their process died), are replaced.
    async fn begin_idempotent(
        &self,
        claim: &IdempotencyClaim<'_>,
    ) -> Result<IdempotencyStart, StoreError>;
    /// Stores the answer of the request that holds `key` as `owner`.
    async fn finish_idempotent(
        &self,
        tenant: &Tenant,
        key: &str,
        owner: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;
    /// Frees a reservation, held as `owner`, whose request failed in a way a retry may fix.
    async fn abandon_idempotent(
        &self,
        tenant: &Tenant,
        key: &str,
        owner: &str,
    ) -> Result<(), StoreError>;
    /// Deletes expired idempotency keys; returns how many.
    async fn purge_idempotency(&self, now: i64) -> Result<u64, StoreError>;

    /// Revokes every scope `id` holds over `reference`.
    async fn revoke_permissions(
        &self,
        tenant: &Tenant,
        id: IdentityId,
        reference: IdentityId,
        expected_version: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError>;
}

/// The key the `documentNumber` filter matches: the letters (a Mexican RFC's `Ñ` among them),
/// digits and `&` (an RFC's too), upper case, leading zeros kept. Equal canonical numbers give
/// equal keys whatever separators a filter value carries, and the key works without the
/// document type (spec §8); of a canonical number it drops only the dash of a Chilean RUT.
/// Leading zeros are significant (a passport `00AB123` is not `AB123`, a CPF `01234567890` is
/// not `1234567890`): a filter value is canonicalised for its type first when the request names
/// the type (the API does so).
///
/// Migration `20261203000005_document_key` recomputes the stored keys with the same rule in SQL.
pub fn document_key(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_alphanumeric() || *c == '&')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The key the `phone` filter and the uniqueness rule match: `+` and the digits.
pub fn phone_key(raw: &str) -> String {
    let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        String::new()
    } else {
        format!("+{digits}")
    }
}

/// Opens the store a URL names: `sqlite://…` or `postgres://…` (also `postgresql://`).
pub async fn connect(
    url: &str,
    options: &ConnectOptions,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            PostgresStore::connect(url, options).await?,
        ))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            SqliteStore::connect(url, options).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// How busy the connection pools are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pools may open.
    pub max: u32,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Maximum connections in the pool.
    pub max_connections: u32,
    /// Apply pending migrations on connect.
    pub migrate: bool,
    /// Per-statement timeout (PostgreSQL) / busy timeout (SQLite).
    pub statement_timeout: std::time::Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            migrate: true,
            statement_timeout: std::time::Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::document_key;

    #[test]
    fn document_keys_drop_separators_and_case_but_keep_leading_zeros() {
        for (raw, key) in [
            ("17604011-4", "176040114"),
            ("17.604.011-4", "176040114"),
            ("12ABC34501DE35", "12ABC34501DE35"),
            ("12.abc.345/01de-35", "12ABC34501DE35"),
            ("00AB123", "00AB123"),
            ("01234567890", "01234567890"),
            ("0", "0"),
            // A Mexican RFC keeps its `Ñ` and `&`, so it is not the passport without them.
            ("AÑA&850101AB1", "AÑA&850101AB1"),
            ("aña&-850101-ab1", "AÑA&850101AB1"),
        ] {
            assert_eq!(document_key(raw), key, "{raw}");
        }
        assert_ne!(document_key("00AB123"), document_key("AB123"));
        assert_ne!(document_key("AÑA&850101AB1"), document_key("AA850101AB1"));
    }
}
