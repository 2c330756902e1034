//! SQLite backend: one file, WAL journal, durable commits. Writes go through a pool of exactly
//! one connection, so SQLite's single writer never meets a busy error and transactions are
//! serialized (which is also what makes child-link cycle checks race-free here).
//!
//! Creates are group-committed: concurrent creates queue up, and one task writes each queue's
//! worth in one transaction (one fsync), each create undone on its own if it fails (a one-statement
//! create by SQLite's statement rollback, one with children in a savepoint), so every caller still
//! gets its own answer and its own uniqueness verdict, and only after the commit is on disk.

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use padron_domain::{ChildSummary, Identity, IdentityId};
use rusqlite::OptionalExtension;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{
    ChildrenColumns, IDENTITY_COLUMN_COUNT, IDENTITY_COLUMNS, IdentityRow, IdentityWithChildrenRow,
    ListQuery, NewIdentity,
};
use crate::{ConnectOptions, StoreError, Tenant, UniqueRule};

/// The SQLite implementation of [`crate::Store`].
#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    creates: mpsc::Sender<CreateJob>,
    /// Reads made on the calling thread; `None` for an in-memory database, whose readers must
    /// share the writer's connection, and for a URL with `vfs=` or `immutable=`.
    direct: Option<Arc<DirectReads>>,
}

/// Read-only connections on which a read runs on the calling thread, outside sqlx. Through
/// sqlx every statement is a round trip to the connection's own worker thread (a command sent,
/// that thread woken, the rows sent back, the task woken): on two cores those wake-ups were a
/// third of a read's cost. A read from the page cache takes tens of microseconds, less than the
/// hand-over, so it runs where the request is. A read never waits for anything else while it
/// holds a connection, so there are at most as many in use as threads reading at once.
struct DirectReads {
    path: std::path::PathBuf,
    busy_timeout: std::time::Duration,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// Set by [`SqliteStore::close`]: no read starts, and connections are closed, not kept, so
    /// that the writer's connection is the last one and checkpoints the WAL when it closes.
    closed: std::sync::atomic::AtomicBool,
}

impl DirectReads {
    /// Runs `read` on an idle connection, opening one when none is idle.
    fn run<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.closed.load(Ordering::Acquire) {
            idle.push(conn);
        }
        drop(idle);
        Ok(result?)
    }

    /// Stops new reads and closes the idle connections.
    fn close(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        self.closed.store(true, Ordering::Release);
        idle.clear();
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.busy_timeout)?;
        // Each filter combination of a list page is its own statement.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// A list page's JSON (see [`SqliteStore::list_page`]).
    fn page(&self, query: &ListQuery) -> Result<String, StoreError> {
        self.run(|conn| {
            let mut statement = conn.prepare_cached(&query.sql)?;
            let mut params: Vec<&dyn rusqlite::ToSql> = query
                .texts
                .iter()
                .map(|t| t as &dyn rusqlite::ToSql)
                .collect();
            params.push(&query.limit);
            statement.query_row(params.as_slice(), |row| row.get(0))
        })
    }

    fn find(&self, tenant: &Tenant, id: IdentityId) -> Result<Option<Identity>, StoreError> {
        let id_hex = id.to_hex();
        let row = self.run(|conn| {
            let mut statement = conn.prepare_cached(SqliteStore::find_sql())?;
            let params = (
                tenant.client_id.as_str(),
                tenant.environment.as_str(),
                id_hex.as_str(),
            );
            statement
                .query_row(params, |row| {
                    Ok(IdentityWithChildrenRow {
                        row: IdentityRow::from_columns(row)?,
                        children: ChildrenColumns::Json(row.get(IDENTITY_COLUMN_COUNT)?),
                    })
                })
                .optional()
        })?;
        row.map(IdentityWithChildrenRow::into_identity).transpose()
    }
}

/// One queued create and where its answer goes.
struct CreateJob {
    new: NewIdentity,
    reply: oneshot::Sender<Result<Vec<ChildSummary>, StoreError>>,
}

/// Most creates one transaction commits together.
const MAX_BATCH: usize = 128;

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path.db`) and applies
    /// migrations when asked.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.statement_timeout);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let path = connect.get_filename().to_owned();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(
                options
                    .statement_timeout
                    .max(std::time::Duration::from_secs(5)),
            )
            .connect_with(connect.clone())
            .await?;
        // An in-memory database exists once per connection: readers must share the writer.
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .connect_with(connect.read_only(true))
                .await?
        };
        let (creates, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(group_commit(writer.clone(), queue));
        // A URL that chooses the VFS or declares the file immutable changes how SQLite opens
        // and locks it: such databases are read through sqlx only.
        let plain_file = !in_memory && !url.contains("vfs=") && !url.contains("immutable=");
        let direct = plain_file.then(|| {
            Arc::new(DirectReads {
                path,
                busy_timeout: options.statement_timeout,
                idle: Mutex::new(Vec::new()),
                closed: std::sync::atomic::AtomicBool::new(false),
            })
        });
        let store = Self {
            reader,
            writer,
            creates,
            direct,
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await?;
        Ok(())
    }

    /// The group-commit task is still there to take creates.
    fn alive(&self) -> Result<(), StoreError> {
        if self.creates.is_closed() {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    fn stats(&self) -> crate::PoolStats {
        let pools: &[&SqlitePool] = if self.reader.options().get_max_connections() == 1
            && self.writer.size() == self.reader.size()
        {
            &[&self.writer]
        } else {
            &[&self.reader, &self.writer]
        };
        pools
            .iter()
            .fold(crate::PoolStats::default(), |acc, p| crate::PoolStats {
                size: acc.size + p.size(),
                idle: acc.idle + p.num_idle() as u32,
                max: acc.max + p.options().get_max_connections(),
            })
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// `BEGIN IMMEDIATE` takes SQLite's write lock at the start, so a transaction that reads
    /// before it writes cannot fail half-way because another process (a `padron client …`
    /// command, say) wrote in between.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// Nothing to lock: the single writer connection already serializes every write.
    async fn lock_links(
        _conn: &mut sqlx::SqliteConnection,
        _tenant: &Tenant,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }

    const FOR_SHARE: &'static str = "";
    const FOR_UPDATE: &'static str = "";

    /// Without table statistics SQLite guesses that `client_id = ? and environment = ?` already
    /// leaves about ten rows, and for a statement that changes the link rows it prefers that
    /// range of the primary key (every link of the tenant) to `identity_children_child_idx`
    /// and a lookup: named here, the child's links are found by the index.
    const BY_CHILD: &'static str = " indexed by identity_children_child_idx";

    /// Children of the identity aliased `i`, as one JSON column `[[id, name, email, linkedAt],
    /// …]` in no particular order (`backend::IdentityWithChildrenRow` sorts them); `[]` without
    /// any. One range scan of the parent's link rows, which carry each child's name and email
    /// (a WITHOUT ROWID table: the rows are the primary key's leaves); no lookup per child. An
    /// ORDER BY in the aggregate would sort in a temporary b-tree: 4 of the 11 ms SQLite spent
    /// on an organization with 10,000 children.
    const CHILDREN_COLUMNS: &'static str = "(select json_group_array(json_array(lc.child_id, \
         lc.child_name, lc.child_email, lc.linked_at)) from identity_children lc \
         where lc.client_id = i.client_id and lc.environment = i.environment \
         and lc.parent_id = i.id)";
    /// Nothing to join: the children are a scalar subquery.
    const CHILDREN_FROM: &'static str = "";

    /// Closes the direct read connections before the pools (see [`DirectReads::closed`]).
    fn before_close(&self) {
        if let Some(direct) = &self.direct {
            direct.close();
        }
    }

    /// A read of one identity: on the calling thread (see [`DirectReads`]).
    async fn find(&self, tenant: &Tenant, id: IdentityId) -> Result<Option<Identity>, StoreError> {
        match &self.direct {
            Some(direct) => direct.find(tenant, id),
            None => self.find_pooled(tenant, id).await,
        }
    }

    /// A list page as one JSON value, `[[[the IDENTITY_COLUMNS…], children], …]`: one value copied
    /// out of SQLite and read in place, instead of one row per identity with each of its ~15
    /// columns copied and decoded on its own (and, through sqlx, each row its own message
    /// between threads). Run on the calling thread ([`DirectReads`]) for a database file.
    /// `json(…)` around the children: a subquery's result loses its JSON subtype, and would be
    /// quoted as a string.
    fn list_head() -> &'static str {
        static HEAD: LazyLock<String> = LazyLock::new(|| {
            format!(
                "select json_group_array(json_array(json_array({IDENTITY_COLUMNS}), json({}))) from \
                 (select client_id, environment, {IDENTITY_COLUMNS} from identities i \
                 where i.client_id = ",
                SqliteStore::CHILDREN_COLUMNS
            )
        });
        &HEAD
    }
    const LIST_TAIL: &'static str = ") i";

    async fn list_page(
        &self,
        query: &ListQuery,
    ) -> Result<Vec<IdentityWithChildrenRow>, StoreError> {
        // A page that may walk the whole tenant runs on sqlx's connection thread, not on the
        // request's: it must not hold up the other requests of this worker.
        let page: String = match &self.direct {
            Some(direct) if query.selective => direct.page(query)?,
            _ => {
                let mut statement = sqlx::query_scalar(sqlx::AssertSqlSafe(query.sql.as_str()));
                for text in &query.texts {
                    statement = statement.bind(text);
                }
                statement.bind(query.limit).fetch_one(self.reader()).await?
            }
        };
        IdentityWithChildrenRow::from_json_page(&page)
    }

    /// SQLite names the columns of a violated unique index, not the index: the two rules are
    /// told apart by whether the contact keys are among them.
    /// Queues the create for the group-commit task and waits for its own verdict.
    async fn create_new(&self, new: NewIdentity) -> Result<Vec<ChildSummary>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.creates
            .send(CreateJob { new, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    fn unique_rule(err: &sqlx::Error) -> Option<UniqueRule> {
        let db = err.as_database_error()?;
        if !db.is_unique_violation() {
            return None;
        }
        let message = db.message();
        if message.contains("identities.email_key") {
            Some(UniqueRule::UserDocumentContact)
        } else if message.contains("identities.document_number") {
            Some(UniqueRule::OrganizationDocument)
        } else {
            None
        }
    }
}

crate::backend::impl_store!(SqliteStore, sqlx::Sqlite, "sqlite");

/// The identity's columns, then [`SqliteStore::CHILDREN_COLUMNS`].
impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for IdentityWithChildrenRow {
    fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(IdentityWithChildrenRow {
            row: IdentityRow::from_columns(crate::backend::SqlxRow(row))?,
            children: ChildrenColumns::Json(row.try_get(IDENTITY_COLUMN_COUNT)?),
        })
    }
}

/// Takes whatever creates are queued (at least one, at most [`MAX_BATCH`]) and commits them
/// together; runs until the store is dropped.
async fn group_commit(writer: SqlitePool, mut queue: mpsc::Receiver<CreateJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&writer, std::mem::take(&mut batch)).await;
    }
}

/// A constraint violation (SQLite's `SQLITE_CONSTRAINT` family): the statement was undone, the
/// transaction goes on.
fn is_constraint_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| !matches!(db.kind(), sqlx::error::ErrorKind::Other))
}

/// The failure that ends a batch, for everyone's answer (a `sqlx::Error` cannot be cloned).
fn clone_error(err: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(err.to_string())
}

/// Commits a batch in one transaction: a create of several statements in a savepoint, so one
/// bad create cannot fail the others.
async fn commit_batch(writer: &SqlitePool, batch: Vec<CreateJob>) {
    let mut outcomes = Vec::with_capacity(batch.len());
    let committed: Result<(), sqlx::Error> = async {
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
        for job in &batch {
            if job.new.children.is_empty() {
                // One statement: SQLite undoes a statement that breaks a constraint by itself
                // and keeps the transaction, so no savepoint is needed (one round trip to the
                // connection's thread instead of three). Any other failure may have ended the
                // transaction, so it ends the batch: nobody is told "created" or "failed"
                // before the commit decides.
                let outcome = SqliteStore::insert_new(&mut tx, &job.new).await;
                if let Err(StoreError::Database(err)) = &outcome
                    && !is_constraint_violation(err)
                {
                    return Err(clone_error(err));
                }
                outcomes.push(outcome);
                continue;
            }
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            let outcome = SqliteStore::insert_new(&mut savepoint, &job.new).await;
            if outcome.is_ok() {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
            outcomes.push(outcome);
        }
        tx.commit().await
    }
    .await;
    match committed {
        Ok(()) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                // A caller that went away still had its identity created, as after any commit.
                let _ = job.reply.send(outcome);
            }
        }
        Err(err) => {
            // The transaction failed, or a create failed in a way that may have ended it (each
            // create's constraint errors stay with its statement or savepoint): the database is
            // busy or failing, and nothing of the batch was written. Everyone hears so at once;
            // trying each create again would only queue the wait.
            tracing::warn!(error = %err, size = batch.len(), "group commit failed");
            let reason = err.to_string();
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Unavailable(reason.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    /// Reads made on the calling thread keep connections of their own: closing the store closes
    /// them first, so that the writer is the last connection and removes the WAL, and no read
    /// starts after it.
    #[tokio::test]
    async fn closing_ends_the_direct_reads_and_checkpoints_the_wal() {
        use crate::Store;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("close.db");
        let url = format!("sqlite://{}", file.display());
        let options = ConnectOptions {
            migrate: true,
            ..ConnectOptions::default()
        };
        let store = SqliteStore::connect(&url, &options).await.unwrap();
        let tenant = Tenant {
            client_id: "cli".into(),
            environment: crate::Environment::Sandbox,
        };
        let id = IdentityId::generate();
        assert!(store.find_identity(&tenant, id).await.unwrap().is_none());
        let filter = crate::IdentityFilter::default();
        let page = store.list_identities(&tenant, &filter, None, 20).await;
        assert!(page.unwrap().is_empty());
        let wal = dir.path().join("close.db-wal");
        assert!(wal.exists(), "WAL mode");
        assert!(
            store
                .direct
                .as_ref()
                .is_some_and(|d| d.idle.lock().unwrap().len() == 1)
        );
        store.close().await;
        assert!(!wal.exists(), "the WAL file was left behind");
        let after = store.find_identity(&tenant, id).await;
        assert!(matches!(after, Err(StoreError::Closed)), "{after:?}");
    }

    /// Only a page that an index serves is read on the request's thread: one that filters by
    /// type, status, country, document type or parent alone may walk the whole tenant.
    #[test]
    fn only_index_served_pages_are_read_on_the_calling_thread() {
        use crate::IdentityFilter;
        let tenant = Tenant {
            client_id: "cli".into(),
            environment: crate::Environment::Sandbox,
        };
        let selective = |filter: IdentityFilter| {
            let query = ListQuery::new(
                "select 1 where i.client_id = ",
                "",
                &tenant,
                &filter,
                None,
                20,
            );
            // Each value is bound once, in order, and the limit last.
            let n = query.texts.len();
            for k in 1..=n + 1 {
                assert_eq!(
                    query.sql.matches(&format!("${k}")).count(),
                    1,
                    "{}",
                    query.sql
                );
            }
            assert!(
                query.sql.ends_with(&format!("limit ${}", n + 1)),
                "{}",
                query.sql
            );
            query.selective
        };
        let email = || Some("a@b.cl".to_owned());
        assert!(selective(IdentityFilter::default()));
        assert!(selective(IdentityFilter {
            email_key: email(),
            ..IdentityFilter::default()
        }));
        let status = || Some("BLOCKED".to_owned());
        assert!(!selective(IdentityFilter {
            status: status(),
            ..IdentityFilter::default()
        }));
        assert!(!selective(IdentityFilter {
            parent_id: Some(IdentityId::generate()),
            ..IdentityFilter::default()
        }));
        assert!(selective(IdentityFilter {
            status: status(),
            external_id: Some("x".to_owned()),
            ..IdentityFilter::default()
        }));
    }

    /// `.cargo/config.toml` builds the bundled SQLite with `SQLITE_ENABLE_QPSG`: without it, the
    /// partial indexes make SQLite re-plan the get-by-id, list and children statements on every
    /// execution (sqlx clears a cached statement's bindings before each use, which expires any
    /// statement whose plan looked at a bound value).
    #[tokio::test]
    async fn bundled_sqlite_has_the_query_planner_stability_guarantee() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let options: Vec<String> =
            sqlx::query_scalar("select compile_options from pragma_compile_options")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert!(
            options.iter().any(|o| o == "ENABLE_QPSG"),
            "SQLite built without ENABLE_QPSG: {options:?}"
        );
    }

    /// With plans fixed at prepare time, the reads must still find their indexes without
    /// seeing the bound values.
    #[tokio::test]
    async fn reads_use_their_indexes_without_seeing_bound_values() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let options = ConnectOptions {
            migrate: true,
            ..ConnectOptions::default()
        };
        let store = SqliteStore::connect(&url, &options).await.unwrap();
        // Every `$n` bound to a string: the planner sees none of them.
        let plan = |sql: String| {
            let pool = store.reader.clone();
            async move {
                let mut query =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("explain query plan {sql}")));
                for n in 1..=sql.matches('$').count() {
                    query = query.bind(format!("value {n}"));
                }
                let rows: Vec<(i64, i64, i64, String)> = query.fetch_all(&pool).await.unwrap();
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
            }
        };
        let by_id = plan(format!(
            "select {} from identities where client_id = $1 and environment = $2 and id = $3 \
             and deleted_at is null",
            crate::backend::IDENTITY_COLUMNS
        ))
        .await;
        assert!(
            by_id.contains("USING INDEX") && !by_id.starts_with("SCAN"),
            "{by_id}"
        );
        let by_email = plan(format!(
            "select {} from identities i where i.client_id = $1 and i.environment = $2 \
             and i.deleted_at is null and i.email_key = $3 order by i.id limit 20",
            crate::backend::IDENTITY_COLUMNS
        ))
        .await;
        assert!(by_email.contains("identities_email_idx"), "{by_email}");
        // A list page as `list_identities` sends it: a keyset range of an index in id order (no
        // sort), the children of each identity from the link table's primary key.
        for (filter, index) in [
            ("", "identities_live_idx"),
            (" and i.email_key = $4", "identities_email_idx"),
        ] {
            let page = plan(format!(
                "{}$1 and i.environment = $2 and i.deleted_at is null and i.id > $3{filter} \
                 order by i.id limit 20{}",
                SqliteStore::list_head(),
                SqliteStore::LIST_TAIL
            ))
            .await;
            assert!(page.contains(index) && page.contains("id>?"), "{page}");
            assert!(!page.contains("TEMP B-TREE"), "{page}");
            assert!(page.contains("SEARCH lc USING PRIMARY KEY"), "{page}");
        }
        // The children as every read selects them.
        // The lookups that name the holder of a duplicate (`duplicate_or`), with the kind as
        // literal text: each must use its rule's partial unique index.
        for (kind, contact, index) in [
            ("ORGANIZATION", "", "identities_org_document_key"),
            (
                "USER",
                " and email_key = $6 and phone_key = $7",
                "identities_user_document_contact_key",
            ),
        ] {
            let holder = plan(format!(
                "select id from identities where client_id = $1 and environment = $2 \
                 and deleted_at is null and kind = '{kind}' and country = $3 \
                 and document_type = $4 and document_number = $5{contact} limit 1"
            ))
            .await;
            assert!(holder.contains(index), "{kind}: {holder}");
        }
        let children = plan(format!(
            "select {}, {} from identities i where i.client_id = $1 and i.environment = $2 \
             and i.id = $3 and i.deleted_at is null",
            crate::backend::IDENTITY_COLUMNS,
            SqliteStore::CHILDREN_COLUMNS
        ))
        .await;
        // The parent's link rows in one range of the link table's own b-tree (WITHOUT ROWID):
        // no index to look rows up from, and no lookup of the children's identity rows.
        assert!(
            children.contains(
                "SEARCH lc USING PRIMARY KEY (client_id=? AND environment=? AND parent_id=?)"
            ),
            "{children}"
        );
        assert_eq!(children.matches("SEARCH").count(), 2, "{children}");
        assert!(!children.contains("SCAN"), "{children}");
        assert!(!children.contains("TEMP B-TREE"), "{children}");
        // A child's new name or email, written into its parents' links.
        let renamed = plan(format!(
            "update identity_children{} set child_name = $1, child_email = $2 \
             where client_id = $3 and environment = $4 and child_id = $5",
            SqliteStore::BY_CHILD
        ))
        .await;
        assert_eq!(
            renamed,
            "SEARCH identity_children USING INDEX identity_children_child_idx \
             (client_id=? AND environment=? AND child_id=?)"
        );
    }
}
