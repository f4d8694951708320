//! Both engines behind one handle, so that each query is written once as an
//! ordinary function: [`Db`] holds either engine's pool or connection, and
//! [`on_engine!`] expands one body for each arm. The SQL and the code are the
//! same on both; only sqlx's types differ. No SQL here.

use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

use super::workspace::SearchTuning;
use super::{Engine, StoreError};

/// One value per engine.
#[derive(Debug, Clone, Copy)]
pub enum Db<S, P> {
    /// SQLite's.
    Sqlite(S),
    /// PostgreSQL's.
    Postgres(P),
}

/// A pool that runs single statements (a store's reader or writer).
pub type Pool<'a> = Db<&'a SqlitePool, &'a PgPool>;

/// The connection of an open transaction.
pub type Conn<'a> = Db<&'a mut SqliteConnection, &'a mut PgConnection>;

/// An open write transaction; dropping it rolls back.
pub type Transaction = Db<sqlx::Transaction<'static, Sqlite>, sqlx::Transaction<'static, Postgres>>;

/// Runs `body` with `c` bound to the engine's own value, for either arm of a
/// [`Db`]: `on_engine!(pool, |c| sqlx::query(SQL).execute(c).await?)`.
/// Both arms must give the same type, so results that differ per engine
/// (`rows_affected()`) are read inside the body.
macro_rules! on_engine {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::store::engine::Db::Sqlite($c) => $body,
            $crate::store::engine::Db::Postgres($c) => $body,
        }
    };
}
pub(super) use on_engine;

impl Pool<'_> {
    /// Which engine this pool is on.
    pub fn engine(self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Starts a transaction on this pool.
    pub async fn begin(self) -> Result<Transaction, StoreError> {
        Ok(match self {
            Db::Sqlite(pool) => Db::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Db::Postgres(pool.begin().await?),
        })
    }
}

impl Conn<'_> {
    /// The same connection for one more statement.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Db::Sqlite(c) => Db::Sqlite(&mut **c),
            Db::Postgres(c) => Db::Postgres(&mut **c),
        }
    }
}

impl Transaction {
    /// Its connection, for one statement.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Db::Sqlite(tx) => Db::Sqlite(&mut **tx),
            Db::Postgres(tx) => Db::Postgres(&mut **tx),
        }
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        on_engine!(self, |tx| tx.commit().await?);
        Ok(())
    }
}

/// What a store of either engine gives the shared trait impls: its pools.
/// Everything else (which engine, how a transaction starts, the statements
/// that differ) follows from the pool's arm.
pub trait Backend: Send + Sync + 'static {
    /// The pool for reads: SQLite's read-only pool, PostgreSQL's pool.
    fn reader(&self) -> Pool<'_>;
    /// The pool for writes: SQLite's single writer connection, PostgreSQL's pool.
    fn writer(&self) -> Pool<'_>;
    /// How the inbox search chooses its plan.
    fn search_tuning(&self) -> SearchTuning;
}

/// What a transaction of either engine gives the shared trait impls.
pub trait BackendTx: Send {
    /// Its connection, for one statement.
    fn conn(&mut self) -> Conn<'_>;
    /// The transaction itself, to commit.
    fn into_transaction(self: Box<Self>) -> Transaction;
}
