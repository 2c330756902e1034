//! PostgreSQL backend: the production store, shared by several stateless Padron processes.
//! Child-link changes of one tenant are serialized with a transaction-scoped advisory lock so
//! that two concurrent links can never close a cycle together.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

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

    /// Children of the identity aliased `i`, as `[[id, name, email, linkedAt], …]` (see
    /// `backend::IdentityWithChildrenRow`, which sorts them); NULL without any. The inner
    /// ORDER BY is there for the planner, not for the result: it matches
    /// `identity_children_order_idx`, so that index (parent id in its condition) wins even when
    /// the table's statistics are stale. Without it, after links were added faster than
    /// autovacuum analyses, the planner took `identity_children_child_idx` and read every link
    /// of the tenant for each parent (a list page fell from 2,800 to 145 requests/s).
    const CHILDREN_JSON: &'static str = "(select json_agg(json_build_array(x.child_id, x.name, \
         x.email, x.linked_at))::text from (select lc.child_id, lk.name, lk.email, lc.linked_at \
         from identity_children lc join identities lk on lk.client_id = lc.client_id \
         and lk.environment = lc.environment and lk.id = lc.child_id and lk.deleted_at is null \
         where lc.client_id = i.client_id and lc.environment = i.environment \
         and lc.parent_id = i.id order by lc.linked_at, lc.child_id) x)";

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
