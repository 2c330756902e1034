//! PostgreSQL backend: the production store, shared by several stateless Padron processes.
//! Child-link changes of one tenant are serialized with a transaction-scoped advisory lock so
//! that two concurrent links can never close a cycle together.

use std::str::FromStr;
use std::sync::LazyLock;

use padron_domain::IdentityId;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, PgValueFormat};
use sqlx::{Row, ValueRef};

use crate::backend::{
    ChildrenColumns, IDENTITY_COLUMN_COUNT, IDENTITY_COLUMNS, IdentityRow, IdentityWithChildrenRow,
    Link, ListQuery,
};
use crate::{ConnectOptions, StoreError, Tenant, UniqueRule};

/// The PostgreSQL implementation of [`crate::Store`].
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and applies migrations when asked.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let timeout_ms = options.statement_timeout.as_millis().to_string();
        // Custom plans for every execution: sqlx prepares each statement once per connection, and
        // after five runs PostgreSQL may switch to a generic plan that cannot see the ids and
        // scans. Measured in one run: get-by-id 386 req/s with generic plans, 2,802 with custom
        // ones (list pages ~10% slower from the extra planning).
        let connect = PgConnectOptions::from_str(url)?.options([
            ("statement_timeout", timeout_ms.as_str()),
            ("plan_cache_mode", "force_custom_plan"),
        ]);
        // Waiting longer for a pooled connection than a statement may run helps nobody.
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.statement_timeout)
            .connect_with(connect)
            .await?;
        let store = Self { pool };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies pending migrations (sqlx holds an advisory lock meanwhile, so concurrent starts
    /// apply each migration once).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// Nothing runs beside the pool.
    fn alive(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn stats(&self) -> crate::PoolStats {
        crate::PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    async fn lock_links(conn: &mut sqlx::PgConnection, tenant: &Tenant) -> Result<(), sqlx::Error> {
        sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!(
                "padron-links:{}:{}",
                tenant.client_id,
                tenant.environment.as_str()
            ))
            .execute(conn)
            .await?;
        Ok(())
    }

    const FOR_SHARE: &'static str = " for share";
    const FOR_UPDATE: &'static str = " for update";
    /// The planner, with table statistics, finds `identity_children_child_idx` by itself.
    const BY_CHILD: &'static str = "";

    /// Children of the identity aliased `i`: ids, names, emails and link times, one array each
    /// (`backend::IdentityWithChildrenRow` sorts them), all NULL without any; from
    /// [`Self::CHILDREN_FROM`]. Arrays rather than JSON: for 10,000 children
    /// `json_agg(json_build_array(…))` took 12.5 ms in the database, the four `array_agg` 5.7 ms,
    /// and they arrive in the binary format, read in place (see the `FromRow` below).
    const CHILDREN_COLUMNS: &'static str = "ch.ids, ch.names, ch.emails, ch.linked_at";
    /// The lateral subquery behind [`Self::CHILDREN_COLUMNS`] (an aggregate: one row per
    /// identity). The link rows carry each child's name and email, and
    /// `identity_children_order_idx` includes them: one index range scan, no lookup per child.
    /// The inner ORDER BY is there for the planner, not for the result: it matches that index,
    /// so the index (parent id in its condition) wins even when the table's statistics are
    /// stale. Without it, after links were added faster than autovacuum analyses, the planner
    /// took `identity_children_child_idx` and read every link of the tenant for each parent (a
    /// list page fell from 2,800 to 145 requests/s).
    const CHILDREN_FROM: &'static str = " cross join lateral (select array_agg(x.child_id) as ids, \
         array_agg(x.child_name) as names, array_agg(x.child_email) as emails, \
         array_agg(x.linked_at) as linked_at from (select lc.child_id, lc.child_name, \
         lc.child_email, lc.linked_at from identity_children lc \
         where lc.client_id = i.client_id and lc.environment = i.environment \
         and lc.parent_id = i.id order by lc.linked_at, lc.child_id) x) ch";

    /// Nothing of its own to close before the pool.
    fn before_close(&self) {}

    /// A read of one identity: on a pooled connection.
    async fn find(
        &self,
        tenant: &Tenant,
        id: IdentityId,
    ) -> Result<Option<padron_domain::Identity>, StoreError> {
        self.find_pooled(tenant, id).await
    }

    /// A list page: one row per identity, its children in the arrays of [`Self::CHILDREN_FROM`].
    fn list_head() -> &'static str {
        static HEAD: LazyLock<String> = LazyLock::new(|| {
            format!(
                "select {IDENTITY_COLUMNS}, {} from identities i{} where i.client_id = ",
                PostgresStore::CHILDREN_COLUMNS,
                PostgresStore::CHILDREN_FROM,
            )
        });
        &HEAD
    }
    const LIST_TAIL: &'static str = "";

    async fn list_page(
        &self,
        query: &ListQuery,
    ) -> Result<Vec<IdentityWithChildrenRow>, StoreError> {
        let mut statement = sqlx::query_as(sqlx::AssertSqlSafe(query.sql.as_str()));
        for text in &query.texts {
            statement = statement.bind(text);
        }
        Ok(statement.bind(query.limit).fetch_all(self.reader()).await?)
    }

    /// One transaction per create, retried on serialization failures. A create without children
    /// is a single INSERT, run in autocommit: one round trip instead of three (BEGIN, INSERT,
    /// COMMIT), with the same atomicity.
    async fn create_new(
        &self,
        new: crate::backend::NewIdentity,
    ) -> Result<Vec<padron_domain::ChildSummary>, StoreError> {
        crate::backend::retry!({
            if new.children.is_empty() {
                let mut conn = self.pool.acquire().await?;
                return Self::insert_new(&mut conn, &new).await;
            }
            let mut tx = self.begin_write().await?;
            let summaries = Self::insert_new(&mut tx, &new).await?;
            tx.commit().await?;
            Ok(summaries)
        })
    }

    fn unique_rule(err: &sqlx::Error) -> Option<UniqueRule> {
        match err.as_database_error()?.constraint()? {
            "identities_org_document_key" => Some(UniqueRule::OrganizationDocument),
            "identities_user_document_contact_key" => Some(UniqueRule::UserDocumentContact),
            _ => None,
        }
    }
}

crate::backend::impl_store!(PostgresStore, sqlx::Postgres, "postgres");

/// The identity's columns, then the four arrays of [`PostgresStore::CHILDREN_COLUMNS`]. The
/// arrays are read in place from PostgreSQL's binary format: sqlx's `Vec<String>` gives each
/// element an allocation of its own, which for 10,000 children was a quarter of the Rust side
/// of the read; here an id is parsed from the received bytes, and only names and emails are
/// copied out.
impl<'r> sqlx::FromRow<'r, PgRow> for IdentityWithChildrenRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let first = IDENTITY_COLUMN_COUNT;
        let mut ids = BinaryArray::of(row, first, TEXT_OID)?;
        let mut names = BinaryArray::of(row, first + 1, TEXT_OID)?;
        let mut emails = BinaryArray::of(row, first + 2, TEXT_OID)?;
        let mut linked_at = BinaryArray::of(row, first + 3, INT8_OID)?;
        let len = ids.len;
        if [names.len, emails.len, linked_at.len] != [len; 3] {
            return Err(ids.error("children arrays of different lengths"));
        }
        let mut links = Vec::with_capacity(len);
        for _ in 0..len {
            let id = ids.next_text()?.ok_or_else(|| ids.error("NULL child id"))?;
            let id = IdentityId::parse(id).ok_or_else(|| ids.error(format!("child id {id:?}")))?;
            let name = names.next_text()?.ok_or_else(|| names.error("NULL name"))?;
            let email = emails.next_text()?;
            let at = linked_at.next_int8()?;
            links.push(Link {
                linked_at: at.ok_or_else(|| linked_at.error("NULL link time"))?,
                id,
                name: name.to_owned(),
                email: email.map(str::to_owned),
            });
        }
        Ok(IdentityWithChildrenRow {
            row: IdentityRow::from_columns(crate::backend::SqlxRow(row))?,
            children: ChildrenColumns::Links(links),
        })
    }
}

/// PostgreSQL's type oids of the array elements read here.
const TEXT_OID: i32 = 25;
const INT8_OID: i32 = 20;

/// One column holding a one-dimensional array in PostgreSQL's binary format (`array_send`:
/// dimensions, flags, element type, length and lower bound, then each element as its length
/// and bytes, length -1 for NULL), walked in place.
struct BinaryArray<'r> {
    column: usize,
    rest: &'r [u8],
    len: usize,
}

impl<'r> BinaryArray<'r> {
    /// Column `column` of `row`, an array of elements of type `element` (an oid); NULL (the
    /// aggregate of no rows) reads as empty.
    fn of(row: &'r PgRow, column: usize, element: i32) -> Result<Self, sqlx::Error> {
        let mut array = BinaryArray {
            column,
            rest: &[],
            len: 0,
        };
        let value = row.try_get_raw(column)?;
        if value.is_null() {
            return Ok(array);
        }
        if value.format() != PgValueFormat::Binary {
            return Err(array.error("array not in binary format"));
        }
        array.rest = value.as_bytes().map_err(|e| array.error(e))?;
        match array.word()? {
            0 => return Ok(array),
            1 => {}
            n => return Err(array.error(format!("array of {n} dimensions"))),
        }
        let _flags = array.word()?;
        let oid = array.word()?;
        if oid != element {
            return Err(array.error(format!("array of type {oid}, not {element}")));
        }
        let len = array.word()?;
        let _lower_bound = array.word()?;
        array.len = usize::try_from(len).map_err(|_| array.error("negative array length"))?;
        Ok(array)
    }

    /// A decoding failure of this column.
    fn error(&self, why: impl Into<sqlx::error::BoxDynError>) -> sqlx::Error {
        sqlx::Error::ColumnDecode {
            index: self.column.to_string(),
            source: why.into(),
        }
    }

    /// The next big-endian 32-bit integer.
    fn word(&mut self) -> Result<i32, sqlx::Error> {
        let Some((word, rest)) = self.rest.split_first_chunk::<4>() else {
            return Err(self.error("truncated array"));
        };
        self.rest = rest;
        Ok(i32::from_be_bytes(*word))
    }

    /// The next element's bytes, `None` for NULL.
    fn next_element(&mut self) -> Result<Option<&'r [u8]>, sqlx::Error> {
        let Ok(len) = usize::try_from(self.word()?) else {
            return Ok(None);
        };
        if self.rest.len() < len {
            return Err(self.error("truncated array"));
        }
        let (element, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(Some(element))
    }

    /// The next element of a `text[]`: its UTF-8 bytes as they are (binary `text` is the text).
    fn next_text(&mut self) -> Result<Option<&'r str>, sqlx::Error> {
        match self.next_element()? {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|e| self.error(e)),
        }
    }

    /// The next element of a `bigint[]`: 8 bytes, big-endian.
    fn next_int8(&mut self) -> Result<Option<i64>, sqlx::Error> {
        match self.next_element()? {
            None => Ok(None),
            Some(bytes) => <[u8; 8]>::try_from(bytes)
                .map(|b| Some(i64::from_be_bytes(b)))
                .map_err(|_| self.error("bigint of other than 8 bytes")),
        }
    }
}
