//! The PostgreSQL store, for several gateway processes sharing one database.
//!
//! Queue rows are claimed with `FOR UPDATE SKIP LOCKED`, so processes never
//! wait on or double-claim each other's rows; reference numbers come from a
//! counter row locked by the transaction that increments it, so they stay
//! unique and gap-free across processes.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, Pool, Postgres};

use super::engine::{Backend, BackendTx, Conn, Db, Pool as DbPool, Transaction};
use super::{ConnectOptions, Engine, MailboxLock, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
    search: super::workspace::SearchTuning,
}

/// A write transaction.
pub struct PostgresTx {
    pub(super) tx: sqlx::Transaction<'static, Postgres>,
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
}

impl Backend for PostgresStore {
    fn reader(&self) -> DbPool<'_> {
        Db::Postgres(&self.pool)
    }

    fn writer(&self) -> DbPool<'_> {
        Db::Postgres(&self.pool)
    }

    fn search_tuning(&self) -> super::workspace::SearchTuning {
        self.search
    }
}

impl BackendTx for PostgresTx {
    fn conn(&mut self) -> Conn<'_> {
        Db::Postgres(&mut *self.tx)
    }

    fn into_transaction(self: Box<Self>) -> Transaction {
        Db::Postgres(self.tx)
    }
}

/// Applies the PostgreSQL migrations.
pub(super) async fn migrate(pool: &Pool<Postgres>) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await.map_err(|e| {
        StoreError::Internal(anyhow::Error::new(e).context("Failed to run migrations"))
    })
}

/// Serialises the transaction with every other one that takes the same
/// `key`: a transaction-scoped advisory lock on the key's hash, released at
/// commit or rollback.
pub(super) async fn serialize_on(conn: &mut PgConnection, key: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Claims the next due outbox row of one of `channels` (comma-joined); rows
/// another process holds are skipped, never waited on. Returns its id.
pub(super) async fn claim_outbox_row(
    pool: &Pool<Postgres>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    channels: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE outbox
         SET state = 'sending', attempts = attempts + 1, lease_until = $1, updated_at = $2
         WHERE id = (
             SELECT id FROM outbox
             WHERE state = 'pending' AND next_attempt_at <= $2
               AND (',' || $3 || ',') LIKE ('%,' || channel || ',%')
             ORDER BY next_attempt_at, id
             LIMIT 1
             FOR UPDATE SKIP LOCKED
         )
         RETURNING id",
    )
    .bind(until)
    .bind(now)
    .bind(channels)
    .fetch_optional(pool)
    .await?)
}

/// Leases up to `limit` classification jobs whose lease is free or has run
/// out, oldest first, skipping rows another process holds; returns their
/// message ids.
pub(super) async fn claim_classify_jobs(
    pool: &Pool<Postgres>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE classify_jobs
         SET lease_until = $1, attempts = attempts + 1
         WHERE message_id IN (
             SELECT message_id FROM classify_jobs
             WHERE lease_until IS NULL OR lease_until < $2
             ORDER BY created_at, message_id
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         )
         RETURNING message_id",
    )
    .bind(until)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}

/// Leases up to `limit` unprocessed webhook bodies, oldest first, skipping
/// rows another process holds: `(id, source, body, attempts)`.
pub(super) async fn claim_webhooks(
    pool: &Pool<Postgres>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(String, String, Vec<u8>, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "UPDATE webhook_events
         SET lease_until = $1, attempts = attempts + 1
         WHERE id IN (
             SELECT id FROM webhook_events
             WHERE processed_at IS NULL AND (lease_until IS NULL OR lease_until < $2)
             ORDER BY id
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         )
         RETURNING id, source, body, attempts",
    )
    .bind(until)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}

/// Takes the mailbox's session-level advisory lock on a connection of its
/// own, taken out of the pool: the lock lives exactly as long as that
/// connection, so a process that dies releases it at once.
pub(super) async fn lock_mailbox(
    pool: &Pool<Postgres>,
    mailbox: &str,
) -> Result<Option<Box<dyn MailboxLock>>, StoreError> {
    let mut conn = pool.acquire().await?.detach();
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

/// How many messages match the words `term` (French stemming, accents
/// ignored, the stored `search_vector`), as the planner estimates it from
/// the column's statistics of its most common words. Counting would visit a
/// heap row per match, as dear as the search itself.
pub(super) async fn search_matches(
    pool: &Pool<Postgres>,
    term: &str,
    cap: i64,
) -> Result<i64, StoreError> {
    let (plan,): (serde_json::Value,) = sqlx::query_as(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM messages
         WHERE search_vector @@ plainto_tsquery('french', inbox_unaccent($1))",
    )
    .bind(term)
    .fetch_one(pool)
    .await?;
    let rows = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0);
    // A float estimate, made whole and kept within the cap.
    #[allow(clippy::cast_possible_truncation)]
    Ok((rows.max(0.0).min(cap as f64)) as i64)
}

/// Thread `t` is among the threads of every message matching `$Q`.
/// `OFFSET 0` keeps the planner from folding this into a walk of the inbox
/// order: the matches come from the GIN index first, then the page is cut.
pub(super) const SEARCH_COLLECT_SQL: &str = "t.id IN (SELECT thread_id FROM (
         SELECT m.thread_id FROM messages m
         WHERE m.search_vector @@ plainto_tsquery('french', inbox_unaccent($Q))
         OFFSET 0
     ) hits)";

/// Thread `t` has a message matching `$Q`, tested thread by thread in
/// inbox order: a scalar subquery with `LIMIT 1` stays a per-row test,
/// where `EXISTS` could be planned as a join over every match.
pub(super) const SEARCH_WALK_SQL: &str = "(SELECT true FROM messages m WHERE m.thread_id = t.id
     AND m.search_vector @@ plainto_tsquery('french', inbox_unaccent($Q)) LIMIT 1)";

/// What someone typed, as the words of a `plainto_tsquery`.
pub(super) fn search_term(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(500).collect())
}
