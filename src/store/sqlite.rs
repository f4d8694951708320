//! The embedded SQLite store: one file in WAL mode.
//!
//! Writes go through a single-connection pool, so SQLite's one writer is
//! never contended inside the process and transactions never fail with
//! `SQLITE_BUSY` on lock upgrade; reads use a separate pool and see WAL
//! snapshots. `synchronous = NORMAL` keeps every committed transaction across
//! a process crash (kill -9); only a power loss may lose the last commits.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use super::engine::{Backend, BackendTx, Conn, Db, Pool as DbPool, Transaction};
use super::{ConnectOptions, Engine, MailboxLock, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits on a lock held by another process (for
/// example `inbox migrate` running beside a server) before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: Pool<Sqlite>,
    reader: Pool<Sqlite>,
    search: super::workspace::SearchTuning,
}

/// A write transaction on the writer connection.
pub struct SqliteTx {
    pub(super) tx: sqlx::Transaction<'static, Sqlite>,
}

impl SqliteStore {
    /// Opens (and, when allowed, creates) the database file named by `url`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or is
    /// missing and creation is not allowed.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                StoreError::Unavailable(
                    anyhow::Error::new(e).context("Failed to parse the SQLite URL"),
                )
            })?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .create_if_missing(options.create_if_missing);
        if options.create_if_missing {
            let file = Path::new(base.get_filename());
            if let Some(parent) = file.parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Unavailable(
                            anyhow::Error::new(e).context("Failed to create the data folder"),
                        )
                    })?;
                }
            }
            create_private(file)?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.clone())
            .await
            .map_err(|e| {
                StoreError::Unavailable(
                    anyhow::Error::new(e).context("Failed to open the SQLite database"),
                )
            })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.create_if_missing(false).read_only(true))
            .await
            .map_err(|e| {
                StoreError::Unavailable(
                    anyhow::Error::new(e).context("Failed to open the SQLite database for reading"),
                )
            })?;
        Ok(Self {
            writer,
            reader,
            search: options
                .search
                .unwrap_or(super::workspace::SearchTuning::for_engine(Engine::Sqlite)),
        })
    }
}

impl Backend for SqliteStore {
    fn reader(&self) -> DbPool<'_> {
        Db::Sqlite(&self.reader)
    }

    fn writer(&self) -> DbPool<'_> {
        Db::Sqlite(&self.writer)
    }

    fn search_tuning(&self) -> super::workspace::SearchTuning {
        self.search
    }
}

impl BackendTx for SqliteTx {
    fn conn(&mut self) -> Conn<'_> {
        Db::Sqlite(&mut *self.tx)
    }

    fn into_transaction(self: Box<Self>) -> Transaction {
        Db::Sqlite(self.tx)
    }
}

/// Applies the SQLite migrations.
pub(super) async fn migrate(writer: &Pool<Sqlite>) -> Result<(), StoreError> {
    MIGRATOR.run(writer).await.map_err(|e| {
        StoreError::Internal(anyhow::Error::new(e).context("Failed to run migrations"))
    })
}

/// Claims the next due outbox row of one of `channels` (comma-joined) with
/// one atomic `UPDATE … RETURNING`; the single writer connection makes it
/// exclusive. Returns its id.
pub(super) async fn claim_outbox_row(
    writer: &Pool<Sqlite>,
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
         )
         RETURNING id",
    )
    .bind(until)
    .bind(now)
    .bind(channels)
    .fetch_optional(writer)
    .await?)
}

/// Leases up to `limit` classification jobs whose lease is free or has run
/// out, oldest first; returns their message ids.
pub(super) async fn claim_classify_jobs(
    writer: &Pool<Sqlite>,
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
         )
         RETURNING message_id",
    )
    .bind(until)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(writer)
    .await?)
}

/// Leases up to `limit` unprocessed webhook bodies, oldest first: `(id,
/// source, body, attempts)`.
pub(super) async fn claim_webhooks(
    writer: &Pool<Sqlite>,
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
         )
         RETURNING id, source, body, attempts",
    )
    .bind(until)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(writer)
    .await?)
}

/// Takes the mailbox lease when it is free, expired, or already ours.
pub(super) async fn lock_mailbox(
    writer: &Pool<Sqlite>,
    mailbox: &str,
    owner: &str,
    now: DateTime<Utc>,
    ttl: std::time::Duration,
) -> Result<Option<Box<dyn MailboxLock>>, StoreError> {
    let mut lease = SqliteMailboxLease {
        pool: writer.clone(),
        mailbox: mailbox.to_owned(),
        owner: owner.to_owned(),
        ttl: chrono::Duration::from_std(ttl).map_err(|e| StoreError::Internal(e.into()))?,
    };
    Ok(lease
        .renew(now)
        .await?
        .then(|| Box::new(lease) as Box<dyn MailboxLock>))
}

/// A mailbox lease row: another process may take it once `lease_until` has
/// passed, so a holder that dies is replaced after at most one lease time.
struct SqliteMailboxLease {
    pool: Pool<Sqlite>,
    mailbox: String,
    owner: String,
    ttl: chrono::Duration,
}

#[async_trait::async_trait]
impl MailboxLock for SqliteMailboxLease {
    async fn renew(&mut self, now: chrono::DateTime<chrono::Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO mailbox_leases (mailbox, owner, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (mailbox) DO UPDATE
             SET owner = excluded.owner, lease_until = excluded.lease_until
             WHERE mailbox_leases.owner = excluded.owner OR mailbox_leases.lease_until < $4",
        )
        .bind(&self.mailbox)
        .bind(&self.owner)
        .bind(now + self.ttl)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(self: Box<Self>) {
        let result = sqlx::query("DELETE FROM mailbox_leases WHERE mailbox = $1 AND owner = $2")
            .bind(&self.mailbox)
            .bind(&self.owner)
            .execute(&self.pool)
            .await;
        if let Err(error) = result {
            tracing::warn!(mailbox = %self.mailbox, %error, "Failed to release the mailbox lease; it will expire");
        }
    }
}

/// Creates the database file readable by its owner only (0600) when it
/// does not exist yet; SQLite gives its WAL and shared-memory files the
/// database file's mode.
fn create_private(file: &Path) -> Result<(), StoreError> {
    if file.as_os_str().is_empty() || file == Path::new(":memory:") || file.exists() {
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Unavailable(
            anyhow::Error::new(e).context("Failed to create the SQLite database file"),
        )),
    }
}

/// Messages matching the FTS5 query `term`, counted up to `cap`: the
/// index's document lists alone, a few milliseconds for thousands.
pub(super) async fn search_matches(
    reader: &Pool<Sqlite>,
    term: &str,
    cap: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM messages_fts WHERE messages_fts MATCH $1 LIMIT $2)",
    )
    .bind(term)
    .bind(cap)
    .fetch_one(reader)
    .await?)
}

/// Thread `t` is among the threads of every message matching `$Q`: the
/// matches are read first, then the page is cut.
pub(super) const SEARCH_COLLECT_SQL: &str = "t.id IN (SELECT m.thread_id FROM messages m
     WHERE m.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH $Q))";

/// Thread `t` has a message matching `$Q`, tested thread by thread in
/// inbox order (the matching rowids are read once into a set).
pub(super) const SEARCH_WALK_SQL: &str = "EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id
     AND m.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH $Q))";

/// What someone typed, as an FTS5 query.
pub(super) fn search_term(text: &str) -> Option<String> {
    super::workspace::fts5_query(text)
}
