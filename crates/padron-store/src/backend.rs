//! The store logic shared by both backends. It is written once, as a macro expanded for each
//! concrete sqlx database type, because sqlx code generic over `Database` needs a wall of
//! trait bounds; each backend supplies its pools and a few hooks (locks, constraint names).

use padron_domain::{
    ChildSummary, Country, DocumentNumber, DocumentType, EmailAddress, Identity, IdentityFields,
    IdentityId, IdentityKind, PhoneNumber, Status,
};

use std::fmt::Write;

use crate::{StoreError, attributes};

/// One `identities` row as selected by [`IDENTITY_COLUMNS`]. Its fields are in the same order,
/// which is also how it reads from a JSON array (a list page on SQLite).
#[derive(serde::Deserialize)]
pub(crate) struct IdentityRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub country: String,
    pub document_type: String,
    pub document_number: String,
    pub status: String,
    pub external_id: Option<String>,
    pub attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// The columns [`IdentityRow`] reads.
pub(crate) const IDENTITY_COLUMNS: &str = "id, kind, name, email, phone, country, document_type, \
     document_number, status, external_id, attributes, created_at, updated_at, version";

/// How many columns [`IDENTITY_COLUMNS`] names.
pub(crate) const IDENTITY_COLUMN_COUNT: usize = 14;

/// An identity row followed by its children, as the backend's `CHILDREN_COLUMNS` select them
/// (each backend reads them in its `FromRow`). One statement instead of two per read: on SQLite
/// every statement is a round trip to the connection's worker thread, and those thread
/// hand-offs were most of a get-by-id's cost.
pub(crate) struct IdentityWithChildrenRow {
    pub row: IdentityRow,
    pub children: ChildrenColumns,
}

/// The children of one read, as its backend hands them over, in no particular order.
pub(crate) enum ChildrenColumns {
    /// SQLite: one JSON text column, `[[id, name, email, linkedAt], …]`; `[]` or NULL without
    /// children.
    Json(Option<String>),
    /// PostgreSQL: read from its array columns (`postgres.rs`).
    Links(Vec<Link>),
}

/// One link of a JSON children column. The id is borrowed: hex is never escaped.
#[derive(serde::Deserialize)]
struct JsonLink<'a>(&'a str, String, Option<String>, i64);

impl JsonLink<'_> {
    fn read(links: Vec<Self>) -> Result<Vec<Link>, StoreError> {
        links
            .into_iter()
            .map(|JsonLink(id, name, email, linked_at)| {
                Ok(Link {
                    linked_at,
                    id: parse_id(id)?,
                    name,
                    email,
                })
            })
            .collect()
    }
}

/// One identity of a JSON list page: `[[the IDENTITY_COLUMNS…], children]`, the children as in
/// [`ChildrenColumns::Json`].
#[derive(serde::Deserialize)]
struct JsonIdentity<'a>(IdentityRow, #[serde(borrow)] Vec<JsonLink<'a>>);

impl IdentityWithChildrenRow {
    /// The rows of a list page that SQLite sent as one JSON array (see `SqliteStore::list_page`).
    pub(crate) fn from_json_page(json: &str) -> Result<Vec<Self>, StoreError> {
        let page: Vec<JsonIdentity<'_>> =
            serde_json::from_str(json).map_err(|e| json_corrupt("list page", &e))?;
        page.into_iter()
            .map(|JsonIdentity(row, links)| {
                Ok(IdentityWithChildrenRow {
                    row,
                    children: ChildrenColumns::Links(JsonLink::read(links)?),
                })
            })
            .collect()
    }
}

/// Stored JSON that does not read as expected. Only where it failed: serde_json's message may
/// quote the value (an email, a document number), which must not reach the logs.
fn json_corrupt(what: &str, err: &serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!(
        "{what}: {:?} error at line {} column {}",
        err.classify(),
        err.line(),
        err.column()
    ))
}

/// One link as read, before it is put in link order.
pub(crate) struct Link {
    pub linked_at: i64,
    pub id: IdentityId,
    pub name: String,
    pub email: Option<String>,
}

impl IdentityWithChildrenRow {
    /// The identity with its children in link order (oldest link first, then by id), sorted
    /// here rather than in SQL: cheaper than the database's sort for large sets, and the same
    /// on both backends.
    pub(crate) fn into_identity(self) -> Result<Identity, StoreError> {
        let mut links: Vec<Link> = match self.children {
            ChildrenColumns::Links(links) => links,
            ChildrenColumns::Json(None) => Vec::new(),
            ChildrenColumns::Json(Some(ref json)) if json == "[]" => Vec::new(),
            ChildrenColumns::Json(Some(ref json)) => {
                let parsed: Vec<JsonLink<'_>> = serde_json::from_str(json)
                    .map_err(|e| json_corrupt(&format!("children of {}", self.row.id), &e))?;
                JsonLink::read(parsed)?
            }
        };
        // Ids order as their hex text does (both big-endian).
        links.sort_unstable_by_key(|link| (link.linked_at, link.id));
        let children = links
            .into_iter()
            .map(|link| ChildSummary {
                id: link.id,
                name: link.name,
                email: link.email.map(EmailAddress::from_canonical),
            })
            .collect();
        self.row.into_identity(children)
    }
}

/// A list page's statement, built at run time: `$1`, `$2`, … are `texts` in order, and the last
/// placeholder is `limit`. Plain text and values, so that both sqlx and rusqlite can run it.
pub(crate) struct ListQuery {
    pub sql: String,
    pub texts: Vec<String>,
    pub limit: i64,
    /// An index serves the filters: the page costs about `limit` rows whatever the tenant's
    /// size. Otherwise (only `type`, `status`, `country`, `documentType` or `parentId`) the
    /// statement may walk every live identity of the tenant to fill a page.
    pub selective: bool,
}

impl ListQuery {
    /// The statement `head` + conditions + `order by i.id limit` + `tail`, where `head` ends
    /// with `where i.client_id = ` about the identities aliased `i`.
    pub(crate) fn new(
        head: &str,
        tail: &str,
        tenant: &crate::Tenant,
        filter: &crate::IdentityFilter,
        after: Option<IdentityId>,
        limit: u32,
    ) -> Self {
        let mut query = ListQuery {
            sql: String::with_capacity(head.len() + 256),
            texts: Vec::new(),
            limit: i64::from(limit),
            selective: true,
        };
        // Whether some filter has an index of its own, and whether some has none.
        let mut indexed = false;
        let mut unindexed = filter.kind.is_some() || filter.parent_id.is_some();
        query.sql.push_str(head);
        query.bind("", tenant.client_id.clone());
        query.bind(
            " and i.environment = ",
            tenant.environment.as_str().to_owned(),
        );
        query.sql.push_str(" and i.deleted_at is null");
        if let Some(after) = after {
            query.bind(" and i.id > ", after.to_hex());
        }
        if let Some(kind) = filter.kind {
            query.bind(" and i.kind = ", kind.as_str().to_owned());
        }
        let text_filters = [
            (" and i.email_key = ", &filter.email_key, true),
            (" and i.phone_key = ", &filter.phone_key, true),
            (" and i.document_key = ", &filter.document_key, true),
            (" and i.document_type = ", &filter.document_type, false),
            (" and i.country = ", &filter.country, false),
            (" and i.status = ", &filter.status, false),
            (" and i.external_id = ", &filter.external_id, true),
        ];
        for (condition, value, has_index) in text_filters {
            if let Some(value) = value {
                query.bind(condition, value.clone());
                indexed |= has_index;
                unindexed |= !has_index;
            }
        }
        query.selective = indexed || !unindexed;
        if let Some(parent) = filter.parent_id {
            query.bind(
                " and exists (select 1 from identity_children c where c.client_id = i.client_id \
                 and c.environment = i.environment and c.child_id = i.id and c.parent_id = ",
                parent.to_hex(),
            );
            query.sql.push(')');
        }
        let n = query.texts.len() + 1;
        let _ = write!(query.sql, " order by i.id limit ${n}{tail}");
        query
    }

    fn bind(&mut self, before: &str, value: String) {
        self.texts.push(value);
        let _ = write!(self.sql, "{before}${}", self.texts.len());
    }
}

/// A child with its own name and email, selected as `id, name, email`.
pub(crate) struct ChildRow {
    pub child_id: String,
    pub name: String,
    pub email: Option<String>,
}

/// A result row read by column position: sqlx's rows, and rusqlite's for the SQLite reads made
/// on the calling thread (`sqlite.rs`).
pub(crate) trait ByPosition {
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn maybe_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn integer(&self, i: usize) -> Result<i64, Self::Error>;
}

/// A sqlx row, read by position.
pub(crate) struct SqlxRow<'r, R>(pub &'r R);

impl<'r, R: sqlx::Row> ByPosition for SqlxRow<'r, R>
where
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    type Error = sqlx::Error;
    fn text(&self, i: usize) -> Result<String, sqlx::Error> {
        self.0.try_get(i)
    }
    fn maybe_text(&self, i: usize) -> Result<Option<String>, sqlx::Error> {
        self.0.try_get(i)
    }
    fn integer(&self, i: usize) -> Result<i64, sqlx::Error> {
        self.0.try_get(i)
    }
}

impl ByPosition for &rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        (*self).get(i)
    }
    fn maybe_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        (*self).get(i)
    }
    fn integer(&self, i: usize) -> rusqlite::Result<i64> {
        (*self).get(i)
    }
}

impl IdentityRow {
    /// Reads the identity's columns, the first [`IDENTITY_COLUMN_COUNT`] of `row`. By
    /// position: `#[derive(FromRow)]` looks each column up by name, a hash-map lookup per
    /// column and row that showed in list profiles.
    pub(crate) fn from_columns<C: ByPosition>(row: C) -> Result<Self, C::Error> {
        Ok(IdentityRow {
            id: row.text(0)?,
            kind: row.text(1)?,
            name: row.text(2)?,
            email: row.maybe_text(3)?,
            phone: row.maybe_text(4)?,
            country: row.text(5)?,
            document_type: row.text(6)?,
            document_number: row.text(7)?,
            status: row.text(8)?,
            external_id: row.maybe_text(9)?,
            attributes: row.text(10)?,
            created_at: row.integer(11)?,
            updated_at: row.integer(12)?,
            version: row.integer(13)?,
        })
    }
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for ChildRow
where
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(ChildRow {
            child_id: row.try_get(0)?,
            name: row.try_get(1)?,
            email: row.try_get(2)?,
        })
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

/// Parses a stored id.
pub(crate) fn parse_id(raw: &str) -> Result<IdentityId, StoreError> {
    IdentityId::parse(raw).ok_or_else(|| corrupt("identity id", raw))
}

impl IdentityRow {
    /// Rebuilds the domain identity. Stored values are canonical, so they are taken as they are.
    pub(crate) fn into_identity(self, children: Vec<ChildSummary>) -> Result<Identity, StoreError> {
        let attrs = attributes::unpack(&self.attributes)
            .map_err(|e| StoreError::Corrupt(format!("attributes of {}: {e}", self.id)))?;
        let fields = IdentityFields {
            name: self.name,
            lastname: attrs.lastname,
            nickname: attrs.nickname,
            gender: attrs.gender,
            external_id: self.external_id,
            idv: attrs.idv,
            email: self.email.map(EmailAddress::from_canonical),
            phone: self.phone.map(PhoneNumber::from_canonical),
            country: Country::parse(&self.country)
                .map_err(|_| corrupt("country", &self.country))?,
            document_type: DocumentType::parse(&self.document_type)
                .ok_or_else(|| corrupt("document type", &self.document_type))?,
            document_number: DocumentNumber::from_canonical(self.document_number),
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?,
            security: attrs.security,
            address: attrs.address,
            bank_account: attrs.bank_account,
            rules: attrs.rules,
            kyc: attrs.kyc,
            watch_list: attrs.watch_list,
            extended_data: attrs.extended_data,
        };
        Ok(Identity {
            id: parse_id(&self.id)?,
            kind: IdentityKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            fields,
            children,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

impl ChildRow {
    pub(crate) fn summary(self) -> Result<ChildSummary, StoreError> {
        Ok(ChildSummary {
            id: parse_id(&self.child_id)?,
            name: self.name,
            email: self.email.map(EmailAddress::from_canonical),
        })
    }
}

/// The values of the indexed columns of an identity, computed once per write.
pub(crate) struct Columns {
    pub email: Option<String>,
    pub email_key: String,
    pub phone: Option<String>,
    pub phone_key: String,
    pub document_key: String,
    pub attributes: String,
}

impl Columns {
    pub(crate) fn of(fields: &IdentityFields) -> Self {
        Columns {
            email: fields.email.as_ref().map(|e| e.as_str().to_owned()),
            email_key: fields.email.as_ref().map(|e| e.key()).unwrap_or_default(),
            phone: fields.phone.as_ref().map(|p| p.as_str().to_owned()),
            phone_key: fields
                .phone
                .as_ref()
                .map(|p| crate::phone_key(p.as_str()))
                .unwrap_or_default(),
            document_key: crate::document_key(fields.document_number.as_str()),
            attributes: attributes::pack(fields),
        }
    }
}

/// How many times a transaction is tried when the database reports a serialization failure or a
/// deadlock (SQLSTATE 40001 / 40P01): PostgreSQL under SERIALIZABLE and PostgreSQL-compatible
/// distributed engines (CockroachDB, YugabyteDB) ask clients to retry such transactions.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// Whether the database asked for the whole transaction to be retried.
pub(crate) fn is_retryable(err: &StoreError) -> bool {
    let StoreError::Database(sqlx::Error::Database(db)) = err else {
        return false;
    };
    matches!(db.code().as_deref(), Some("40001") | Some("40P01"))
}

/// Runs a transaction body (an `async` block's contents), running it again after a short,
/// growing pause when the database reports a serialization failure. Each attempt starts from
/// scratch, so nothing of a failed attempt remains. A macro rather than a function taking an
/// async closure, because the futures of such closures are not provably `Send` today.
macro_rules! retry {
    ($body:block) => {{
        let mut tries: u32 = 0;
        loop {
            tries += 1;
            let result = async $body.await;
            match result {
                Err(err) if tries < $crate::backend::MAX_ATTEMPTS && $crate::backend::is_retryable(&err) => {
                    tracing::debug!(tries, "serialization failure; retrying the transaction");
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(tries * tries))).await;
                }
                other => break other,
            }
        }
    }};
}

pub(crate) use retry;

/// Everything needed to insert one identity, owned so that it can wait in a queue.
pub(crate) struct NewIdentity {
    pub tenant: crate::Tenant,
    pub id: IdentityId,
    pub kind: IdentityKind,
    pub fields: IdentityFields,
    pub children: Vec<IdentityId>,
    pub now: i64,
}

/// Ids as stored text, deduplicated, first occurrence order kept.
pub(crate) fn id_strings(ids: &[IdentityId]) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter()
        .filter(|id| seen.insert(**id))
        .map(|id| id.to_hex())
        .collect()
}

/// Expands the [`crate::Store`] implementation for one backend type. The type must provide
/// `reader()`, `writer()`, `begin_write()`, `lock_links(tx, tenant)`, `unique_rule(err)`, the row-lock
/// suffixes `FOR_SHARE` / `FOR_UPDATE`, `BY_CHILD` (what follows `identity_children` in a
/// statement that finds links by child), the children's select-list part `CHILDREN_COLUMNS` and
/// its FROM-clause part `CHILDREN_FROM` (both about the identity aliased `i`), a
/// `FromRow` for [`IdentityWithChildrenRow`] on its row type, and for list pages `list_head()`
/// (a statement's text up to `where i.client_id = `, the identities aliased `i`), `LIST_TAIL`
/// (what follows its `limit`) and `list_page(&ListQuery)`, which runs that statement and returns
/// its rows in any order, and `find(tenant, id)`, a read of one identity (`find_pooled` or
/// another way).
macro_rules! impl_store {
    ($store:ty, $db:ty, $name:literal) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            fn pool_stats(&self) -> $crate::PoolStats {
                self.stats()
            }

            async fn close(&self) {
                self.before_close();
                self.reader().close().await;
                self.writer().close().await;
            }

            async fn ping(&self) -> Result<(), $crate::StoreError> {
                self.alive()?;
                sqlx::query("select 1").execute(self.reader()).await?;
                Ok(())
            }

            async fn create_client(&self, client: $crate::NewClient) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    let mut tx = self.begin_write().await?;
                    sqlx::query("insert into clients (id, name, created_at) values ($1, $2, $3)")
                        .bind(&client.id)
                        .bind(&client.name)
                        .bind(client.created_at)
                        .execute(&mut *tx)
                        .await?;
                    for (env, key_hash, secret_hash) in &client.credentials {
                        sqlx::query(
                            "insert into credentials (client_id, environment, api_key_hash, secret_hash, created_at) \
                             values ($1, $2, $3, $4, $5)",
                        )
                        .bind(&client.id)
                        .bind(env.as_str())
                        .bind(key_hash)
                        .bind(secret_hash)
                        .bind(client.created_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            async fn list_clients(&self) -> Result<Vec<$crate::ClientSummary>, $crate::StoreError> {
                let rows: Vec<(String, String, i64)> =
                    sqlx::query_as("select id, name, created_at from clients order by created_at, id")
                        .fetch_all(self.reader())
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, created_at)| $crate::ClientSummary { id, name, created_at })
                    .collect())
            }

            async fn rotate_secret(
                &self,
                client_id: &str,
                env: $crate::Environment,
                secret_hash: &str,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    let done = sqlx::query(
                        "update credentials set secret_hash = $1, secret_rotated_at = $2 \
                         where client_id = $3 and environment = $4",
                    )
                    .bind(secret_hash)
                    .bind(now)
                    .bind(client_id)
                    .bind(env.as_str())
                    .execute(self.writer())
                    .await?;
                    if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
                })
            }

            async fn set_validation_level(
                &self,
                client_id: &str,
                env: $crate::Environment,
                level: Option<padron_domain::ValidationLevel>,
            ) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    let done = sqlx::query(
                        "update credentials set validation_level = $1 where client_id = $2 and environment = $3",
                    )
                    .bind(level.map(|l| l.as_str()))
                    .bind(client_id)
                    .bind(env.as_str())
                    .execute(self.writer())
                    .await?;
                    if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
                })
            }

            async fn credential_by_api_key(
                &self,
                api_key_hash: &str,
            ) -> Result<Option<$crate::Credential>, $crate::StoreError> {
                let row: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
                    "select client_id, environment, api_key_hash, secret_hash, validation_level \
                     from credentials where api_key_hash = $1",
                )
                .bind(api_key_hash)
                .fetch_optional(self.reader())
                .await?;
                row.map($crate::backend::credential_from_row).transpose()
            }

            async fn credential(
                &self,
                client_id: &str,
                env: $crate::Environment,
            ) -> Result<Option<$crate::Credential>, $crate::StoreError> {
                let row: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
                    "select client_id, environment, api_key_hash, secret_hash, validation_level \
                     from credentials where client_id = $1 and environment = $2",
                )
                .bind(client_id)
                .bind(env.as_str())
                .fetch_optional(self.reader())
                .await?;
                row.map($crate::backend::credential_from_row).transpose()
            }

            async fn signing_keys(&self) -> Result<Vec<$crate::SigningKey>, $crate::StoreError> {
                let rows: Vec<(String, String, i64)> = sqlx::query_as(
                    "select kid, secret, created_at from signing_keys order by created_at desc, kid",
                )
                .fetch_all(self.reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(kid, secret, created_at)| $crate::SigningKey { kid, secret, created_at })
                    .collect())
            }

            async fn insert_signing_key(&self, key: &$crate::SigningKey) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    sqlx::query(
                        "insert into signing_keys (kid, secret, created_at) values ($1, $2, $3) \
                         on conflict (kid) do nothing",
                    )
                    .bind(&key.kid)
                    .bind(&key.secret)
                    .bind(key.created_at)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                })
            }

            async fn create_identity(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
                kind: padron_domain::IdentityKind,
                fields: &padron_domain::IdentityFields,
                children: &[padron_domain::IdentityId],
                now: i64,
            ) -> Result<padron_domain::Identity, $crate::StoreError> {
                let new = $crate::backend::NewIdentity {
                    tenant: tenant.clone(),
                    id,
                    kind,
                    fields: fields.clone(),
                    children: children.to_vec(),
                    now,
                };
                match self.create_new(new).await {
                    Ok(summaries) => Ok(padron_domain::Identity {
                        id,
                        kind,
                        fields: fields.clone(),
                        children: summaries,
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    }),
                    Err($crate::StoreError::Database(err)) => Err(self.duplicate_or(err, tenant, kind, fields).await),
                    Err(other) => Err(other),
                }
            }

            async fn find_identity(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
            ) -> Result<Option<padron_domain::Identity>, $crate::StoreError> {
                self.find(tenant, id).await
            }

            async fn list_identities(
                &self,
                tenant: &$crate::Tenant,
                filter: &$crate::IdentityFilter,
                after: Option<padron_domain::IdentityId>,
                limit: u32,
            ) -> Result<Vec<padron_domain::Identity>, $crate::StoreError> {
                let query = $crate::backend::ListQuery::new(
                    Self::list_head(),
                    Self::LIST_TAIL,
                    tenant,
                    filter,
                    after,
                    limit,
                );
                let mut rows = self.list_page(&query).await?;
                rows.sort_unstable_by(|a, b| a.row.id.cmp(&b.row.id));
                rows.into_iter().map(|row| row.into_identity()).collect()
            }

            async fn modify_identity(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
                edit: &$crate::IdentityEdit<'_>,
            ) -> Result<$crate::Modified, $crate::StoreError> {
                $crate::backend::retry!({
                    let id_hex = id.to_hex();
                    let mut tx = self.begin_write().await?;
                    // Every path that changes links takes the tenant's link lock before any row
                    // lock; taking them in one order everywhere is what keeps them deadlock-free.
                    if edit.touches_links {
                        Self::lock_links(&mut tx, tenant).await?;
                    }
                    let current = Self::load(&mut tx, tenant, id, true).await?.ok_or($crate::StoreError::NotFound)?;
                    if edit.expected_version.is_some_and(|v| v != current.version) {
                        return Err($crate::StoreError::VersionMismatch { current: current.version });
                    }
                    let Some(change) = (edit.change)(&current).map_err($crate::StoreError::Rejected)? else {
                        return Ok($crate::Modified { identity: current, changed: false });
                    };
                    let fields = &change.fields;
                    let shown_to_parents = fields.name != current.fields.name || fields.email != current.fields.email;
                    if (change.children.is_some() || shown_to_parents) && !edit.touches_links {
                        return Err($crate::StoreError::Corrupt("links changed without the link lock".into()));
                    }
                    let cols = $crate::backend::Columns::of(fields);
                    let updated = sqlx::query(
                        "update identities set name = $1, email = $2, email_key = $3, phone = $4, \
                         phone_key = $5, country = $6, document_type = $7, document_number = $8, \
                         document_key = $9, status = $10, external_id = $11, attributes = $12, \
                         updated_at = $13, version = version + 1 \
                         where client_id = $14 and environment = $15 and id = $16",
                    )
                    .bind(&fields.name)
                    .bind(&cols.email)
                    .bind(&cols.email_key)
                    .bind(&cols.phone)
                    .bind(&cols.phone_key)
                    .bind(fields.country.alpha3())
                    .bind(fields.document_type.as_str())
                    .bind(fields.document_number.as_str())
                    .bind(&cols.document_key)
                    .bind(fields.status.as_str())
                    .bind(&fields.external_id)
                    .bind(&cols.attributes)
                    .bind(edit.now)
                    .bind(&tenant.client_id)
                    .bind(tenant.environment.as_str())
                    .bind(&id_hex)
                    .execute(&mut *tx)
                    .await;
                    if let Err(err) = updated {
                        drop(tx);
                        return Err(self.duplicate_or(err, tenant, current.kind, fields).await);
                    }
                    // Its parents show its name and email from their link rows, kept in step here,
                    // in the same transaction, and their representation changes: each gets a new
                    // version, as when a child is deleted. This runs under the tenant's link lock
                    // (no link can be added or removed meanwhile) and the identity's row lock.
                    if shown_to_parents {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "update identity_children{} set child_name = $1, child_email = $2 \
                             where client_id = $3 and environment = $4 and child_id = $5",
                            Self::BY_CHILD
                        )))
                        .bind(&fields.name)
                        .bind(&cols.email)
                        .bind(&tenant.client_id)
                        .bind(tenant.environment.as_str())
                        .bind(&id_hex)
                        .execute(&mut *tx)
                        .await?;
                        Self::bump_parents(&mut tx, tenant, &id_hex, edit.now).await?;
                    }
                    if let Some(children) = &change.children {
                        let summaries = Self::live_children(&mut tx, tenant, id, children).await?;
                        sqlx::query(
                            "delete from identity_children where client_id = $1 and environment = $2 and parent_id = $3",
                        )
                        .bind(&tenant.client_id)
                        .bind(tenant.environment.as_str())
                        .bind(&id_hex)
                        .execute(&mut *tx)
                        .await?;
                        Self::insert_links(&mut tx, tenant, &id_hex, &summaries, edit.now).await?;
                        Self::refuse_cycle(&mut tx, tenant, &id_hex).await?;
                    }
                    let identity = Self::load(&mut tx, tenant, id, false).await?.ok_or($crate::StoreError::NotFound)?;
                    tx.commit().await?;
                    Ok($crate::Modified { identity, changed: true })
                })
            }

            async fn change_children(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
                change: $crate::LinkChange,
                children: &[padron_domain::IdentityId],
                expected_version: Option<i64>,
                now: i64,
            ) -> Result<padron_domain::Identity, $crate::StoreError> {
                $crate::backend::retry!({
                    let id_hex = id.to_hex();
                    let mut tx = self.begin_write().await?;
                    Self::lock_links(&mut tx, tenant).await?;
                    Self::check_version(&mut tx, tenant, &id_hex, expected_version).await?;
                    let touched = match change {
                        $crate::LinkChange::Add => {
                            let summaries = Self::live_children(&mut tx, tenant, id, children).await?;
                            let added = Self::insert_links(&mut tx, tenant, &id_hex, &summaries, now).await?;
                            Self::refuse_cycle(&mut tx, tenant, &id_hex).await?;
                            added
                        }
                        $crate::LinkChange::Remove => {
                            let ids = $crate::backend::id_strings(children);
                            if ids.is_empty() {
                                0
                            } else {
                                let mut q = sqlx::QueryBuilder::<$db>::new(
                                    "delete from identity_children where client_id = ",
                                );
                                q.push_bind(&tenant.client_id);
                                q.push(" and environment = ").push_bind(tenant.environment.as_str());
                                q.push(" and parent_id = ").push_bind(&id_hex);
                                q.push(" and child_id in (");
                                let mut sep = q.separated(", ");
                                for child in ids {
                                    sep.push_bind(child);
                                }
                                q.push(")");
                                q.build().execute(&mut *tx).await?.rows_affected()
                            }
                        }
                    };
                    if touched > 0 {
                        Self::bump_version(&mut tx, tenant, &id_hex, now).await?;
                    }
                    let identity = Self::load(&mut tx, tenant, id, false).await?.ok_or($crate::StoreError::NotFound)?;
                    tx.commit().await?;
                    Ok(identity)
                })
            }

            async fn delete_identity(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
                expected_version: Option<i64>,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    let id_hex = id.to_hex();
                    let client = tenant.client_id.as_str();
                    let env = tenant.environment.as_str();
                    let mut tx = self.begin_write().await?;
                    // Taken first so that a concurrent link to this identity either commits before
                    // the delete (and is removed below) or sees it deleted.
                    Self::lock_links(&mut tx, tenant).await?;
                    Self::check_version(&mut tx, tenant, &id_hex, expected_version).await?;
                    sqlx::query(
                        "update identities set deleted_at = $1, updated_at = $1, version = version + 1 \
                         where client_id = $2 and environment = $3 and id = $4",
                    )
                    .bind(now)
                    .bind(client)
                    .bind(env)
                    .bind(&id_hex)
                    .execute(&mut *tx)
                    .await?;
                    // Parents show this identity in `children`: their representation changes too.
                    Self::bump_parents(&mut tx, tenant, &id_hex, now).await?;
                    // Its links in both directions (one statement each, so that each uses its
                    // index), and the scopes it holds and those held over it.
                    let by_child = format!(
                        "delete from identity_children{} where client_id = $1 and environment = $2 and child_id = $3",
                        Self::BY_CHILD
                    );
                    for statement in [
                        "delete from identity_children where client_id = $1 and environment = $2 and parent_id = $3",
                        by_child.as_str(),
                        "delete from identity_permissions where client_id = $1 and environment = $2 \
                         and (identity_id = $3 or reference_id = $3)",
                    ] {
                        sqlx::query(sqlx::AssertSqlSafe(statement))
                            .bind(client)
                            .bind(env)
                            .bind(&id_hex)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            async fn permissions(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
            ) -> Result<Vec<$crate::Permission>, $crate::StoreError> {
                let mut conn = self.reader().acquire().await?;
                if Self::current_version(&mut conn, tenant, &id.to_hex(), false).await?.is_none() {
                    return Err($crate::StoreError::NotFound);
                }
                Self::load_permissions(&mut conn, tenant, &id.to_hex()).await
            }

            async fn grant_permissions(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
                grants: &[$crate::Permission],
                expected_version: Option<i64>,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    let id_hex = id.to_hex();
                    let mut tx = self.begin_write().await?;
                    Self::lock_links(&mut tx, tenant).await?;
                    Self::check_version(&mut tx, tenant, &id_hex, expected_version).await?;
                    let references: Vec<padron_domain::IdentityId> = grants.iter().map(|g| g.reference).collect();
                    // Reuses the child check: a reference must be a live identity of the tenant.
                    Self::live_identities(&mut tx, tenant, &references).await?;
                    // Names already held and names granted twice in this request are merged,
                    // so each (resource, reference) ends up as one row holding the union.
                    let mut merged: Vec<$crate::Permission> = Self::load_permissions(&mut tx, tenant, &id_hex).await?;
                    // Only scopes that gain a name are written; granting what is already held
                    // changes nothing, so the version and updatedAt stay (spec §6.1).
                    let mut changed: Vec<(String, padron_domain::IdentityId)> = Vec::new();
                    for grant in grants {
                        let key = (grant.resource.clone(), grant.reference);
                        let slot = match merged.iter().position(|p| p.resource == grant.resource && p.reference == grant.reference) {
                            Some(i) => i,
                            None => {
                                merged.push($crate::Permission { permissions: Vec::new(), ..grant.clone() });
                                merged.len() - 1
                            }
                        };
                        for name in &grant.permissions {
                            if !merged[slot].permissions.contains(name) {
                                merged[slot].permissions.push(name.clone());
                                if !changed.contains(&key) {
                                    changed.push(key.clone());
                                }
                            }
                        }
                    }
                    for p in merged.iter().filter(|p| changed.contains(&(p.resource.clone(), p.reference))) {
                        let encoded = serde_json::to_string(&p.permissions)
                            .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                        sqlx::query(
                            "insert into identity_permissions (client_id, environment, identity_id, resource, \
                             reference_id, permissions, granted_at) values ($1, $2, $3, $4, $5, $6, $7) \
                             on conflict (client_id, environment, identity_id, resource, reference_id) \
                             do update set permissions = excluded.permissions",
                        )
                        .bind(&tenant.client_id)
                        .bind(tenant.environment.as_str())
                        .bind(&id_hex)
                        .bind(&p.resource)
                        .bind(p.reference.to_hex())
                        .bind(encoded)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if !changed.is_empty() {
                        Self::bump_version(&mut tx, tenant, &id_hex, now).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            async fn begin_idempotent(
                &self,
                claim: &$crate::IdempotencyClaim<'_>,
            ) -> Result<$crate::IdempotencyStart, $crate::StoreError> {
                $crate::backend::retry!({
                    let client = claim.tenant.client_id.as_str();
                    let env = claim.tenant.environment.as_str();
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "delete from idempotency_keys where client_id = $1 and environment = $2 and key = $3 \
                         and (expires_at <= $4 or (state = 'running' and lease_until <= $4))",
                    )
                    .bind(client)
                    .bind(env)
                    .bind(claim.key)
                    .bind(claim.now)
                    .execute(&mut *tx)
                    .await?;
                    let inserted = sqlx::query(
                        "insert into idempotency_keys (client_id, environment, key, fingerprint, state, \
                         lease_until, created_at, expires_at, owner) \
                         values ($1, $2, $3, $4, 'running', $5, $6, $7, $8) on conflict do nothing",
                    )
                    .bind(client)
                    .bind(env)
                    .bind(claim.key)
                    .bind(claim.fingerprint)
                    .bind(claim.lease_until)
                    .bind(claim.now)
                    .bind(claim.expires_at)
                    .bind(claim.owner)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    let outcome = if inserted == 1 {
                        $crate::IdempotencyStart::Started
                    } else {
                        let row: Option<(String, String, Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
                            "select fingerprint, state, status, headers, body from idempotency_keys \
                             where client_id = $1 and environment = $2 and key = $3",
                        )
                        .bind(client)
                        .bind(env)
                        .bind(claim.key)
                        .fetch_optional(&mut *tx)
                        .await?;
                        match row {
                            // Freed between the insert and the select: a retry will take it.
                            None => $crate::IdempotencyStart::InProgress,
                            Some((stored, _, _, _, _)) if stored != claim.fingerprint => {
                                $crate::IdempotencyStart::Mismatch
                            }
                            Some((_, state, _, _, _)) if state != "done" => $crate::IdempotencyStart::InProgress,
                            Some((_, _, status, headers, body)) => {
                                let headers: Vec<(String, String)> =
                                    serde_json::from_str(headers.as_deref().unwrap_or("[]"))
                                        .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                                $crate::IdempotencyStart::Replay($crate::StoredResponse {
                                    status: u16::try_from(status.unwrap_or(500)).unwrap_or(500),
                                    headers,
                                    body: body.unwrap_or_default(),
                                })
                            }
                        }
                    };
                    tx.commit().await?;
                    Ok(outcome)
                })
            }

            async fn finish_idempotent(
                &self,
                tenant: &$crate::Tenant,
                key: &str,
                owner: &str,
                response: &$crate::StoredResponse,
            ) -> Result<(), $crate::StoreError> {
                let headers = serde_json::to_string(&response.headers)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                $crate::backend::retry!({
                    sqlx::query(
                        "update idempotency_keys set state = 'done', status = $1, headers = $2, body = $3 \
                         where client_id = $4 and environment = $5 and key = $6 and owner = $7 \
                         and state = 'running'",
                    )
                    .bind(i64::from(response.status))
                    .bind(&headers)
                    .bind(&response.body)
                    .bind(&tenant.client_id)
                    .bind(tenant.environment.as_str())
                    .bind(key)
                    .bind(owner)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                })
            }

            async fn abandon_idempotent(
                &self,
                tenant: &$crate::Tenant,
                key: &str,
                owner: &str,
            ) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    sqlx::query(
                        "delete from idempotency_keys where client_id = $1 and environment = $2 and key = $3 \
                         and owner = $4 and state = 'running'",
                    )
                    .bind(&tenant.client_id)
                    .bind(tenant.environment.as_str())
                    .bind(key)
                    .bind(owner)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                })
            }

            async fn purge_idempotency(&self, now: i64) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query("delete from idempotency_keys where expires_at <= $1")
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn revoke_permissions(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
                reference: padron_domain::IdentityId,
                expected_version: Option<i64>,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                $crate::backend::retry!({
                    let id_hex = id.to_hex();
                    let mut tx = self.begin_write().await?;
                    Self::check_version(&mut tx, tenant, &id_hex, expected_version).await?;
                    let done = sqlx::query(
                        "delete from identity_permissions where client_id = $1 and environment = $2 \
                         and identity_id = $3 and reference_id = $4",
                    )
                    .bind(&tenant.client_id)
                    .bind(tenant.environment.as_str())
                    .bind(&id_hex)
                    .bind(reference.to_hex())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() > 0 {
                        Self::bump_version(&mut tx, tenant, &id_hex, now).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }
        }

        impl $store {
            /// Inserts a new identity and links its children on `conn` (inside the caller's
            /// transaction); returns the children as shown.
            async fn insert_new(
                conn: &mut <$db as sqlx::Database>::Connection,
                new: &$crate::backend::NewIdentity,
            ) -> Result<Vec<padron_domain::ChildSummary>, $crate::StoreError> {
                let (tenant, fields) = (&new.tenant, &new.fields);
                let cols = $crate::backend::Columns::of(fields);
                let id_hex = new.id.to_hex();
                // The link lock before any row lock, as on every other path.
                if !new.children.is_empty() {
                    Self::lock_links(conn, tenant).await?;
                }
                sqlx::query(
                    "insert into identities (client_id, environment, id, kind, name, email, email_key, \
                     phone, phone_key, country, document_type, document_number, document_key, status, \
                     external_id, attributes, created_at, updated_at, version) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, 1)",
                )
                .bind(&tenant.client_id)
                .bind(tenant.environment.as_str())
                .bind(&id_hex)
                .bind(new.kind.as_str())
                .bind(&fields.name)
                .bind(&cols.email)
                .bind(&cols.email_key)
                .bind(&cols.phone)
                .bind(&cols.phone_key)
                .bind(fields.country.alpha3())
                .bind(fields.document_type.as_str())
                .bind(fields.document_number.as_str())
                .bind(&cols.document_key)
                .bind(fields.status.as_str())
                .bind(&fields.external_id)
                .bind(&cols.attributes)
                .bind(new.now)
                .execute(&mut *conn)
                .await?;
                if new.children.is_empty() {
                    return Ok(Vec::new());
                }
                let summaries = Self::live_children(conn, tenant, new.id, &new.children).await?;
                Self::insert_links(conn, tenant, &id_hex, &summaries, new.now).await?;
                Ok(summaries)
            }

            /// Reads one live identity and its children on `conn`; `lock` also locks its row
            /// until the transaction ends (where the backend has row locks).
            /// The live identity `$3` of tenant (`$1`, `$2`) with its children. Only constant
            /// text is spliced in, once per process (this runs on every GET); a `&'static str`
            /// is also the one query text sqlx takes without copying it.
            pub(crate) fn find_sql() -> &'static str {
                static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                SQL.get_or_init(|| format!(
                    "select {}, {} from identities i{} where i.client_id = $1 and i.environment = $2 \
                     and i.id = $3 and i.deleted_at is null",
                    $crate::backend::IDENTITY_COLUMNS,
                    Self::CHILDREN_COLUMNS,
                    Self::CHILDREN_FROM,
                ))
            }

            /// [`Self::load`] on a connection of the reader pool.
            async fn find_pooled(
                &self,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
            ) -> Result<Option<padron_domain::Identity>, $crate::StoreError> {
                let mut conn = self.reader().acquire().await?;
                Self::load(&mut conn, tenant, id, false).await
            }

            async fn load(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                id: padron_domain::IdentityId,
                lock: bool,
            ) -> Result<Option<padron_domain::Identity>, $crate::StoreError> {
                let id_hex = id.to_hex();
                if lock && !Self::FOR_UPDATE.is_empty() {
                    // The row lock first, by a statement of its own: at READ COMMITTED a
                    // statement that waits for the lock re-reads the locked row at its new
                    // version, but its children subquery would still see the snapshot taken
                    // before the wait. The read below starts after the lock, so it sees both as
                    // committed.
                    if Self::current_version(conn, tenant, &id_hex, true).await?.is_none() {
                        return Ok(None);
                    }
                }
                let row: Option<$crate::backend::IdentityWithChildrenRow> = sqlx::query_as(Self::find_sql())
                .bind(&tenant.client_id)
                .bind(tenant.environment.as_str())
                .bind(&id_hex)
                .fetch_optional(&mut *conn)
                .await?;
                row.map(|row| row.into_identity()).transpose()
            }

            /// The live identities among `ids` (with names and emails), in request order.
            /// Any id that is not a live identity of the tenant fails the whole call.
            async fn live_identities(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                ids: &[padron_domain::IdentityId],
            ) -> Result<Vec<padron_domain::ChildSummary>, $crate::StoreError> {
                let wanted = $crate::backend::id_strings(ids);
                if wanted.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "select id, name, email from identities where client_id = ",
                );
                q.push_bind(&tenant.client_id);
                q.push(" and environment = ").push_bind(tenant.environment.as_str());
                q.push(" and deleted_at is null and id in (");
                let mut sep = q.separated(", ");
                for id in &wanted {
                    sep.push_bind(id.clone());
                }
                q.push(")");
                q.push(Self::FOR_SHARE);
                let rows: Vec<$crate::backend::ChildRow> = q.build_query_as().fetch_all(&mut *conn).await?;
                let mut found: std::collections::HashMap<String, padron_domain::ChildSummary> =
                    std::collections::HashMap::with_capacity(rows.len());
                for row in rows {
                    found.insert(row.child_id.clone(), row.summary()?);
                }
                let missing: Vec<padron_domain::IdentityId> = wanted
                    .iter()
                    .filter(|id| !found.contains_key(*id))
                    .map(|id| $crate::backend::parse_id(id))
                    .collect::<Result<_, _>>()?;
                if !missing.is_empty() {
                    return Err($crate::StoreError::UnknownIdentities(missing));
                }
                Ok(wanted.iter().filter_map(|id| found.remove(id)).collect())
            }

            /// [`Self::live_identities`] for children of `parent`: linking the parent to itself
            /// is a cycle.
            async fn live_children(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                parent: padron_domain::IdentityId,
                ids: &[padron_domain::IdentityId],
            ) -> Result<Vec<padron_domain::ChildSummary>, $crate::StoreError> {
                let summaries = Self::live_identities(conn, tenant, ids).await?;
                if summaries.iter().any(|c| c.id == parent) {
                    return Err($crate::StoreError::Cycle);
                }
                Ok(summaries)
            }

            /// Links `children` under `parent`, skipping existing links; returns how many were new.
            /// Each link keeps the child's name and email, as its parent's `children` shows them
            /// (kept in step by `modify_identity`); `children` comes from
            /// [`Self::live_children`], which read them under a share lock.
            async fn insert_links(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                parent: &str,
                children: &[padron_domain::ChildSummary],
                now: i64,
            ) -> Result<u64, $crate::StoreError> {
                let mut added = 0;
                // `linked_at` grows with the position so that children keep the order given.
                for (pos, child) in children.iter().enumerate() {
                    added += sqlx::query(
                        "insert into identity_children (client_id, environment, parent_id, child_id, linked_at, \
                         child_name, child_email) values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
                    )
                    .bind(&tenant.client_id)
                    .bind(tenant.environment.as_str())
                    .bind(parent)
                    .bind(child.id.to_hex())
                    .bind(now.saturating_mul(1000).saturating_add(pos as i64))
                    .bind(&child.name)
                    .bind(child.email.as_ref().map(|e| e.as_str()))
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                }
                Ok(added)
            }

            /// Fails with [`StoreError::Cycle`] if `parent` can now reach itself.
            async fn refuse_cycle(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                parent: &str,
            ) -> Result<(), $crate::StoreError> {
                // `union` (not `union all`) drops repeats, so the walk ends even on a cycle.
                let (hits,): (i64,) = sqlx::query_as(
                    "with recursive reach(id) as ( \
                       select child_id from identity_children \
                       where client_id = $1 and environment = $2 and parent_id = $3 \
                       union \
                       select c.child_id from identity_children c join reach r on c.parent_id = r.id \
                       where c.client_id = $1 and c.environment = $2 \
                     ) select count(*) from reach where id = $3",
                )
                .bind(&tenant.client_id)
                .bind(tenant.environment.as_str())
                .bind(parent)
                .fetch_one(&mut *conn)
                .await?;
                if hits > 0 { Err($crate::StoreError::Cycle) } else { Ok(()) }
            }

            /// The version of a live identity; `lock` also locks its row until the transaction
            /// ends (where the backend has row locks).
            async fn current_version(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                id: &str,
                lock: bool,
            ) -> Result<Option<i64>, $crate::StoreError> {
                let row: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "select version from identities where client_id = $1 and environment = $2 and id = $3 \
                     and deleted_at is null{}",
                    if lock { Self::FOR_UPDATE } else { "" }
                )))
                .bind(&tenant.client_id)
                .bind(tenant.environment.as_str())
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                Ok(row.map(|(v,)| v))
            }

            /// Fails unless the identity is live and, when `expected` is given, at that version.
            async fn check_version(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                id: &str,
                expected: Option<i64>,
            ) -> Result<i64, $crate::StoreError> {
                match Self::current_version(conn, tenant, id, true).await? {
                    None => Err($crate::StoreError::NotFound),
                    Some(current) if expected.is_some_and(|e| e != current) => {
                        Err($crate::StoreError::VersionMismatch { current })
                    }
                    Some(current) => Ok(current),
                }
            }

            async fn bump_version(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                id: &str,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "update identities set version = version + 1, updated_at = $1 \
                     where client_id = $2 and environment = $3 and id = $4",
                )
                .bind(now)
                .bind(&tenant.client_id)
                .bind(tenant.environment.as_str())
                .bind(id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// A new version for every live parent of `child`: they show it in `children`.
            async fn bump_parents(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                child: &str,
                now: i64,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "update identities set version = version + 1, updated_at = $1 \
                     where client_id = $2 and environment = $3 and deleted_at is null and id in \
                     (select parent_id from identity_children{} where client_id = $2 \
                     and environment = $3 and child_id = $4)",
                    Self::BY_CHILD
                )))
                .bind(now)
                .bind(&tenant.client_id)
                .bind(tenant.environment.as_str())
                .bind(child)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn load_permissions(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &$crate::Tenant,
                id: &str,
            ) -> Result<Vec<$crate::Permission>, $crate::StoreError> {
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "select resource, reference_id, permissions from identity_permissions \
                     where client_id = $1 and environment = $2 and identity_id = $3 \
                     order by granted_at, reference_id",
                )
                .bind(&tenant.client_id)
                .bind(tenant.environment.as_str())
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|(resource, reference, names)| {
                        Ok($crate::Permission {
                            resource,
                            reference: $crate::backend::parse_id(&reference)?,
                            permissions: serde_json::from_str(&names)
                                .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
                        })
                    })
                    .collect()
            }

            /// Turns a failed identity write into [`StoreError::Duplicate`] (naming the identity
            /// that holds the values) when a uniqueness index refused it.
            async fn duplicate_or(
                &self,
                err: sqlx::Error,
                tenant: &$crate::Tenant,
                kind: padron_domain::IdentityKind,
                fields: &padron_domain::IdentityFields,
            ) -> $crate::StoreError {
                let Some(rule) = Self::unique_rule(&err) else { return err.into() };
                let cols = $crate::backend::Columns::of(fields);
                let mut q = sqlx::QueryBuilder::<$db>::new("select id from identities where client_id = ");
                q.push_bind(&tenant.client_id);
                q.push(" and environment = ").push_bind(tenant.environment.as_str());
                // The kind as literal text (a constant of the enum), not a bound value: with the
                // query planner stability guarantee SQLite plans without seeing bound values, and
                // only a literal lets it match the partial unique indexes (`where kind = …`).
                q.push(format!(" and deleted_at is null and kind = '{}'", kind.as_str()));
                q.push(" and country = ").push_bind(fields.country.alpha3());
                q.push(" and document_type = ").push_bind(fields.document_type.as_str());
                q.push(" and document_number = ").push_bind(fields.document_number.as_str().to_owned());
                if rule == $crate::UniqueRule::UserDocumentContact {
                    q.push(" and email_key = ").push_bind(cols.email_key);
                    q.push(" and phone_key = ").push_bind(cols.phone_key);
                }
                q.push(" limit 1");
                let existing: Result<Option<(String,)>, sqlx::Error> =
                    q.build_query_as().fetch_optional(self.reader()).await;
                let existing = existing.ok().flatten().and_then(|(id,)| padron_domain::IdentityId::parse(&id));
                $crate::StoreError::Duplicate { rule, existing }
            }
        }
    };
}

pub(crate) use impl_store;

/// Builds a [`crate::Credential`] from its selected columns.
pub(crate) fn credential_from_row(
    (client_id, environment, api_key_hash, secret_hash, level): (
        String,
        String,
        String,
        String,
        Option<String>,
    ),
) -> Result<crate::Credential, StoreError> {
    Ok(crate::Credential {
        environment: crate::Environment::parse(&environment)
            .ok_or_else(|| corrupt("environment", &environment))?,
        client_id,
        api_key_hash,
        secret_hash,
        validation_level: match level {
            None => None,
            Some(l) => Some(
                padron_domain::ValidationLevel::parse(&l).ok_or_else(|| corrupt("level", &l))?,
            ),
        },
    })
}
