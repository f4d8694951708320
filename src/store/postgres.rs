//! The PostgreSQL store, for several gateway processes sharing one database.
//!
//! Queue rows are claimed with `FOR UPDATE SKIP LOCKED`, so processes never
//! wait on or double-claim each other's rows; reference numbers come from a
//! counter row locked by the transaction that increments it, so they stay
//! unique and gap-free across processes.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, Pool, Postgres};

use super::contacts::impl_contacts;
use super::shared::impl_shared_store;
use super::workspace::impl_workspace;
use super::{ConnectOptions, Engine, MailboxLock, StoreError};

const ENGINE: Engine = Engine::Postgres;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A transaction-scoped advisory lock on the key's hash, released at commit.
const SERIALIZE_SQL: Option<&str> = Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");

const CLAIM_OUTBOX_SQL: &str = "UPDATE outbox
     SET state = 'sending', attempts = attempts + 1, lease_until = $1, updated_at = $2
     WHERE id = (
         SELECT id FROM outbox
         WHERE state = 'pending' AND next_attempt_at <= $2
           AND (',' || $3 || ',') LIKE ('%,' || channel || ',%')
         ORDER BY next_attempt_at, id
         LIMIT 1
         FOR UPDATE SKIP LOCKED
     )
     RETURNING id";

const CLAIM_CLASSIFY_SQL: &str = "UPDATE classify_jobs
     SET lease_until = $1, attempts = attempts + 1
     WHERE message_id IN (
         SELECT message_id FROM classify_jobs
         WHERE lease_until IS NULL OR lease_until < $2
         ORDER BY created_at, message_id
         LIMIT $3
         FOR UPDATE SKIP LOCKED
     )
     RETURNING message_id";

const CLAIM_WEBHOOKS_SQL: &str = "UPDATE webhook_events
     SET lease_until = $1, attempts = attempts + 1
     WHERE id IN (
         SELECT id FROM webhook_events
         WHERE processed_at IS NULL AND (lease_until IS NULL OR lease_until < $2)
         ORDER BY id
         LIMIT $3
         FOR UPDATE SKIP LOCKED
     )
     RETURNING id, source, body, attempts";

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
    search: super::workspace::SearchTuning,
}

/// A write transaction.
pub struct PostgresTx {
    tx: sqlx::Transaction<'static, Postgres>,
}

impl PostgresStore {
    /// Connects to the server named by `url`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Unavailable(
                anyhow::Error::new(e).context("Failed to parse the PostgreSQL URL"),
            )
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| {
                StoreError::Unavailable(
                    anyhow::Error::new(e).context("Failed to connect to PostgreSQL"),
                )
            })?;
        Ok(Self {
            pool,
            search: options
                .search
                .unwrap_or(super::workspace::SearchTuning::for_engine(Engine::Postgres)),
        })
    }

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }
}

impl PostgresStore {
    /// Takes the mailbox's session-level advisory lock on a connection of its
    /// own, taken out of the pool: the lock lives exactly as long as that
    /// connection, so a process that dies releases it at once.
    async fn lock_mailbox(
        &self,
        mailbox: &str,
        _owner: &str,
        _now: chrono::DateTime<chrono::Utc>,
        _ttl: std::time::Duration,
    ) -> Result<Option<Box<dyn MailboxLock>>, StoreError> {
        let mut conn = self.pool.acquire().await?.detach();
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
            .bind(advisory_key(mailbox))
            .fetch_one(&mut conn)
            .await?;
        if held {
            Ok(Some(Box::new(PgMailboxLock {
                conn: Some(conn),
                mailbox: mailbox.to_owned(),
            })))
        } else {
            if let Err(error) = conn.close().await {
                tracing::debug!(%error, "Failed to close the advisory lock connection");
            }
            Ok(None)
        }
    }
}

/// The text hashed into the advisory lock key of a mailbox.
fn advisory_key(mailbox: &str) -> String {
    format!("inbox.mailbox:{mailbox}")
}

/// A held advisory lock and the connection that holds it.
struct PgMailboxLock {
    conn: Option<PgConnection>,
    mailbox: String,
}

#[async_trait::async_trait]
impl MailboxLock for PgMailboxLock {
    async fn renew(&mut self, _now: chrono::DateTime<chrono::Utc>) -> Result<bool, StoreError> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        // The lock is the connection's: while it answers, the lock is held.
        match sqlx::query("SELECT 1").execute(&mut *conn).await {
            Ok(_) => Ok(true),
            Err(error) => {
                tracing::warn!(mailbox = %self.mailbox, %error, "Lost the connection holding the mailbox lock");
                self.conn = None;
                Ok(false)
            }
        }
    }

    async fn release(mut self: Box<Self>) {
        if let Some(mut conn) = self.conn.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind(advisory_key(&self.mailbox))
                .execute(&mut conn)
                .await;
            if let Err(error) = unlocked {
                tracing::debug!(%error, "Failed to unlock the mailbox; closing the connection releases it");
            }
            if let Err(error) = conn.close().await {
                tracing::debug!(%error, "Failed to close the advisory lock connection");
            }
        }
    }
}

impl_shared_store!(PostgresStore, PostgresTx, Postgres);
impl_workspace!(PostgresStore, Postgres);
impl_contacts!(PostgresStore, PostgresTx);

impl PostgresStore {
    /// How many messages match the words `term` (French stemming, accents
    /// ignored, the stored `search_vector`), as the planner estimates it
    /// from the column's statistics of its most common words. Counting
    /// would visit a heap row per match, as dear as the search itself.
    async fn search_matches(&self, term: &str, cap: i64) -> Result<i64, StoreError> {
        let (plan,): (serde_json::Value,) = sqlx::query_as(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM messages
             WHERE search_vector @@ plainto_tsquery('french', inbox_unaccent($1))",
        )
        .bind(term)
        .fetch_one(&self.pool)
        .await?;
        let rows = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0);
        // A float estimate, made whole and kept within the cap.
        #[allow(clippy::cast_possible_truncation)]
        Ok((rows.max(0.0).min(cap as f64)) as i64)
    }
}

/// Thread `t` is among the threads of every message matching `$Q`.
/// `OFFSET 0` keeps the planner from folding this into a walk of the inbox
/// order: the matches come from the GIN index first, then the page is cut.
const SEARCH_COLLECT_SQL: &str = "t.id IN (SELECT thread_id FROM (
         SELECT m.thread_id FROM messages m
         WHERE m.search_vector @@ plainto_tsquery('french', inbox_unaccent($Q))
         OFFSET 0
     ) hits)";

/// Thread `t` has a message matching `$Q`, tested thread by thread in
/// inbox order: a scalar subquery with `LIMIT 1` stays a per-row test,
/// where `EXISTS` could be planned as a join over every match.
const SEARCH_WALK_SQL: &str = "(SELECT true FROM messages m WHERE m.thread_id = t.id
     AND m.search_vector @@ plainto_tsquery('french', inbox_unaccent($Q)) LIMIT 1)";

/// What someone typed, as the words of a `plainto_tsquery`.
fn search_term(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(500).collect())
}
