//! What the load benchmarks share: a throwaway database per engine, settings
//! from the environment, percentiles, and the generated sections of
//! BENCHMARKS.md. Included by each benchmark with `#[path]`.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use inbox::store::ConnectOptions;
use secrecy::SecretString;
use sqlx::Connection;

/// The PostgreSQL server of the development and CI machines (the tests' default).
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `name` from the environment, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not valid")),
        Err(_) => Ok(default),
    }
}

/// A migrated database for one engine: a SQLite file in a temporary folder,
/// or a PostgreSQL database created for the run (dropped by [`BenchDb::remove`]).
pub struct BenchDb {
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl BenchDb {
    /// Creates and migrates the database of `engine` (`sqlite` or `postgres`).
    pub async fn create(engine: &str) -> anyhow::Result<Self> {
        if engine == "sqlite" {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
            let options = ConnectOptions {
                create_if_missing: true,
                ..ConnectOptions::default()
            };
            inbox::store::connect(&SecretString::from(url.clone()), &options)
                .await?
                .migrate()
                .await?;
            return Ok(Self {
                url,
                _dir: Some(dir),
                pg: None,
            });
        }
        let server = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let name = format!("inbox_bench_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .context("PostgreSQL is not reachable at TEST_DATABASE_URL")?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        inbox::store::connect(&SecretString::from(url.clone()), &ConnectOptions::default())
            .await?
            .migrate()
            .await?;
        Ok(Self {
            url,
            _dir: None,
            pg: Some((server.clone(), name)),
        })
    }

    /// Whether this is the PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// One number from the database (`SELECT count(*) …`).
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let (n,): (i64,) = if self.pg.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            sqlx::query_as(sql).fetch_one(&mut conn).await?
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
            sqlx::query_as(sql).fetch_one(&mut conn).await?
        };
        Ok(n)
    }

    /// Drops the PostgreSQL database (the SQLite folder goes with `self`).
    pub async fn remove(self) -> anyhow::Result<()> {
        if let Some((server, name)) = &self.pg {
            let mut admin = sqlx::PgConnection::connect(server).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}

/// The `p` quantile (0..=1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`
/// in BENCHMARKS.md with `block`, or appends it under `heading`.
pub fn write_report(name: &str, heading: &str, block: &str) -> anyhow::Result<()> {
    let begin_marker = format!("<!-- {name}:begin -->");
    let end_marker = format!("<!-- {name}:end -->");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = format!("{begin_marker}\n{}\n{end_marker}", block.trim_end());
    let updated = match (text.find(&begin_marker), text.find(&end_marker)) {
        (Some(begin), Some(end)) if begin < end => format!(
            "{}{generated}{}",
            &text[..begin],
            &text[end + end_marker.len()..]
        ),
        _ => format!("{}\n\n{heading}\n\n{generated}\n", text.trim_end()),
    };
    std::fs::write(&path, updated).context("Failed to write BENCHMARKS.md")
}
