//! Online copies of the database: `VACUUM INTO` from a read snapshot while writers go
//! on, and the check of a copy (integrity and row counts) before it is trusted.

use super::{Store, StoreError, StoreResult};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::Path;

/// Tables whose rows a check counts: what an operator compares after a restore.
pub const COUNTED: &[&str] = &[
    "organizations",
    "people",
    "events",
    "memberships",
    "links",
    "orders",
    "order_lines",
    "commission_entries",
    "payouts",
    "outbox",
    "audit_log",
];

/// What a check of a database file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// `ok`, or SQLite's list of problems.
    pub integrity: String,
    /// Rows per table of [`COUNTED`].
    pub counts: Vec<(&'static str, i64)>,
}

impl FileCheck {
    pub fn is_ok(&self) -> bool {
        self.integrity == "ok"
    }
}

impl Store {
    /// Writes a consistent copy of the database into `target` (which must not exist, or
    /// be empty) from one read snapshot; writes go on meanwhile. It runs on a connection
    /// of its own: the readers are read-only, and the writer must stay free.
    pub async fn vacuum_into(&self, target: &Path) -> StoreResult<()> {
        let target = target
            .to_str()
            .ok_or_else(|| StoreError::Encode(format!("the path {} is not UTF-8", target.display())))?;
        let options = self.sqlite_options().ok_or(StoreError::Unsupported(
            "promoterd backs up SQLite databases; back up PostgreSQL with its own tools (pg_dump)",
        ))?;
        let mut conn = SqliteConnection::connect_with(options).await?;
        let done = sqlx::query("VACUUM INTO ?").bind(target).execute(&mut conn).await;
        conn.close().await?;
        done?;
        Ok(())
    }
}

/// Opens a database file read-only on its own and checks it.
pub async fn check_file(path: &Path) -> StoreResult<FileCheck> {
    let opts = SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = SqliteConnection::connect_with(&opts).await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?;
    let mut counts = Vec::with_capacity(COUNTED.len());
    for table in COUNTED {
        // Table names come from the constant above, not from input.
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut conn)
            .await?;
        counts.push((*table, n));
    }
    conn.close().await?;
    Ok(FileCheck {
        integrity: problems.join("; "),
        counts,
    })
}

impl Store {
    /// Empties SQLite's write-ahead log into the database file (see
    /// [`Store::checkpoint_truncate`]); nothing to do on PostgreSQL.
    pub(super) async fn sqlite_checkpoint_truncate(&self) -> StoreResult<()> {
        let Some(writer) = self.sqlite_writer() else {
            return Ok(());
        };
        let mut conn = writer.acquire().await?;
        // Without waiting for readers: a long one (a backup) would hold every write up.
        sqlx::query("PRAGMA busy_timeout = 0").execute(&mut *conn).await?;
        let done = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *conn).await;
        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
        done?;
        Ok(())
    }
}
