//! SQLite backend: one file, WAL journal, durable commits. Writes go through a pool of exactly
//! one connection, so SQLite's single writer never meets a busy error and transactions are
//! serialized (which is also what makes child-link cycle checks race-free here).

use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{ConnectOptions, StoreError, Tenant, UniqueRule};

/// The SQLite implementation of [`crate::Store`].
#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

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
        let store = Self { reader, writer };
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

    /// SQLite names the columns of a violated unique index, not the index: the two rules are
    /// told apart by whether the contact keys are among them.
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
