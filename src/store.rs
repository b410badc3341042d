//! The SQLite repository: every SQL statement of promoterd lives under this module.

mod accrual;
mod audit;
mod backup;
mod changes;
mod chat;
mod chat_links;
mod checkouts;
mod codec;
mod commissions;
mod daily;
mod digests;
mod export;
#[cfg(test)]
mod link_log_tests;
mod links;
mod mail;
#[cfg(test)]
mod notify_tests;
mod order_batch;
mod orders;
mod orgs;
mod outbox;
mod owed;
mod payouts;
mod people;
mod personal;
mod privacy;
mod programs;
mod stats;
#[cfg(test)]
mod test_fixture;
mod ticket_types;
mod upgrade;
mod vouchers;

pub use audit::{AuditEntry, NewReplyToken, OutboxRow, QueuedMail};
pub use backup::{COUNTED, FileCheck, check_file};
pub use changes::{LinkChange, LinkChanges};
pub use chat_links::{ChatLink, LinkScope, LinkedAccount};
pub use checkouts::{PromoCodeRow, ShopEvent};
pub use commissions::{RuleSlot, RuleView};
pub use daily::{DailyRow, DaySource, FoldedDays};
pub use digests::{ChatMail, Preferences, Recipient, SaleChange};
pub use export::{ExportFilter, ExportRow};
pub use links::{
    ClickBatch, EventPage, LinkLogRow, LinkRow, LinkState, LinkTableHead, LinkTarget, LiveLink, NewLink,
    shown_link_label,
};
pub use mail::{OutboxMail, OutboxStatus, ReplyToken};
pub use orders::{IngestOutcome, OrderRow};
pub use orgs::{EventField, EventRow, OrgRow, TicketTypeRow};
pub use outbox::OutboxEntry;
pub use owed::PersonSummary;
pub use payouts::{DetailRow, LedgerRow, PayoutRow, Recorded, WhyRow};
pub use people::{ChatAccount, ConnectOutcome, PersonRow};
pub use privacy::{FAILED_KEEP, PastEvent};
pub use programs::{InviteRow, MembershipRow, NewInvite};
pub use stats::{ClickFact, OrderCountFact, SalesFact};
pub use ticket_types::TicketTypeUse;
pub use vouchers::{VoucherRow, VoucherWanted};

/// Kept here too: callers name them as store types.
pub use crate::domain::{InviteKind, OrganizerRole};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// A failure of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The database file could not be created.
    #[error("database file: {0}")]
    File(#[from] std::io::Error),
    /// A value to be stored could not be encoded (a bug: nothing was written).
    #[error("encoding a value to store: {0}")]
    Encode(String),
}

/// Creates a new, empty file readable and writable by its owner only (mode 0600); fails
/// when the path exists. Database files and backups hold buyer data.
pub fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path)
}

/// Creates a missing database file readable and writable by its owner only: it holds
/// buyers' names and addresses. SQLite gives the `-wal` and `-shm` files the database
/// file's permissions. An existing file keeps the permissions its operator gave it.
fn create_private(path: &Path) -> StoreResult<()> {
    match new_private_file(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::File(e)),
    }
}

impl From<sqlx::Error> for StoreError {
    /// A stored word outside its set, or a value its column type cannot read, is corrupt
    /// data, not a database failure.
    fn from(e: sqlx::Error) -> Self {
        if let Some(word) = codec::unknown_word(&e) {
            return StoreError::Corrupt(word.to_string());
        }
        match e {
            // A stored value its type cannot read (a malformed time, say) is corrupt data.
            sqlx::Error::ColumnDecode { index, source } => StoreError::Corrupt(format!("column {index}: {source}")),
            e => StoreError::Sqlx(e),
        }
    }
}

impl From<crate::domain::UnknownWord> for StoreError {
    fn from(e: crate::domain::UnknownWord) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A write transaction (`BEGIN IMMEDIATE`) on the writer connection. The store's own
/// type: code outside `store/` holds and commits it without naming sqlx. Dropped
/// without [`WriteTx::commit`], it rolls back.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    /// Whether the transaction changed tracking links: announced once it commits.
    links: bool,
    changes: Arc<LinkChanges>,
}

impl WriteTx {
    /// Makes every write of the transaction durable (per `[database] synchronous`), then
    /// announces that it changed links, if it did: migration 0017's log names what
    /// changed (for any process); the announcement makes the redirect read it at once.
    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        if self.links {
            self.changes.announce();
        }
        Ok(())
    }

    /// Notes that this transaction changes tracking links (their liveness or target):
    /// the store functions that do call it.
    fn links_changed(&mut self) {
        self.links = true;
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The writer's page cache at rest: SQLite's default.
pub const WRITER_CACHE_IDLE_KIB: u32 = 2000;
/// The writer's page cache during an order rush: it holds the index pages that inserts
/// keep touching (at 1M orders, 16 MiB took the webhook from 18k to 22k orders/s).
pub const WRITER_CACHE_BUSY_KIB: u32 = 16384;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The database handle, cheap to clone. Transactions run on a single writer connection
/// (queued in the pool, not in SQLite's busy loop); reads use their own connections, so
/// a writer that reads on the side can never wait for itself.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    writer: SqlitePool,
    /// Link changes committed through this handle (and its clones).
    changes: Arc<LinkChanges>,
    /// How the connections were opened: a backup opens one of its own.
    options: Arc<SqliteConnectOptions>,
}

impl Store {
    /// Opens (creating if missing) the SQLite file in WAL mode. Does not migrate.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with(path, true).await
    }

    /// Opens with a chosen durability: `full` fsyncs every commit (survives power loss);
    /// otherwise WAL's `NORMAL` (survives any crash of the process, not of the machine).
    pub async fn open_with(path: &Path, full: bool) -> StoreResult<Self> {
        create_private(path)?;
        let sync = if full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        };
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Rows reach the async side in bursts rather than one wake-up per row.
            .row_buffer_size(1024);
        Self::with_options(opts).await
    }

    /// Opens a database from a `sqlite:` URL (used by tools and tests).
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        Self::with_options(opts).await
    }

    async fn with_options(opts: SqliteConnectOptions) -> StoreResult<Self> {
        // The writer's statement journals (a multi-row insert inside a batch with savepoints)
        // stay in memory: spilled to disk they cost a temp file created and unlinked per batch.
        // `secure_delete` zeroes what a write removes (erased buyers, a sent message's
        // code or token, a dropped attachment's pages) instead of leaving it in free space.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(
                opts.clone()
                    .pragma("temp_store", "memory")
                    .pragma("secure_delete", "on"),
            )
            .await?;
        // Readers are read-only (SQLite refuses a write on them): every write waits its
        // turn in the writer's queue, never in SQLite's busy loop, where a steady stream
        // of order batches could keep it waiting for seconds.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts.clone().pragma("query_only", "on"))
            .await?;
        Ok(Self {
            pool,
            writer,
            changes: Default::default(),
            options: Arc::new(opts),
        })
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> StoreResult<usize> {
        self.reconcile_released_migrations().await?;
        let before = self.applied_migrations().await.unwrap_or(0);
        MIGRATOR.run(&self.writer).await?;
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> StoreResult<usize> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as usize)
    }

    /// Starts a write transaction that takes the write lock at once.
    pub async fn write(&self) -> StoreResult<WriteTx> {
        Ok(WriteTx {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
            links: false,
            changes: self.changes.clone(),
        })
    }

    /// The link changes committed through this store, for the redirect's table.
    pub fn link_changes(&self) -> &Arc<LinkChanges> {
        &self.changes
    }

    /// Sizes the writer's page cache: [`WRITER_CACHE_BUSY_KIB`] while orders pour in,
    /// [`WRITER_CACHE_IDLE_KIB`] otherwise (a smaller cache frees the pages beyond it).
    pub async fn set_writer_cache(&self, tx: &mut WriteTx, kib: u32) -> StoreResult<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA cache_size = -{kib}")))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Opens a savepoint inside a write transaction.
    pub async fn savepoint(&self, tx: &mut WriteTx) -> StoreResult<()> {
        sqlx::query("SAVEPOINT item").execute(&mut **tx).await?;
        Ok(())
    }

    /// Keeps what was done since the savepoint.
    pub async fn release_savepoint(&self, tx: &mut WriteTx) -> StoreResult<()> {
        sqlx::query("RELEASE item").execute(&mut **tx).await?;
        Ok(())
    }

    /// Undoes what was done since the savepoint.
    pub async fn rollback_savepoint(&self, tx: &mut WriteTx) -> StoreResult<()> {
        sqlx::query("ROLLBACK TO item").execute(&mut **tx).await?;
        sqlx::query("RELEASE item").execute(&mut **tx).await?;
        Ok(())
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .is_ok()
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The writer connection, for one statement in its own transaction (queued behind
    /// any open [`WriteTx`]; never call it while holding one).
    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// How this store's connections are opened.
    pub(crate) fn options(&self) -> &SqliteConnectOptions {
        &self.options
    }
}

/// Every row of every table as text, in a stable order: tests compare two dumps to
/// prove that a refused request changed nothing.
pub async fn dump(store: &Store) -> StoreResult<String> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(store.pool())
    .await?;
    let mut out = String::new();
    for name in names {
        let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            .bind(&name)
            .fetch_all(store.pool())
            .await?;
        let row = cols
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        // Table and column names come from sqlite_master, not from input.
        let rows: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {row} FROM \"{name}\" ORDER BY 1")))
                .fetch_all(store.pool())
                .await?;
        out.push_str(&format!("## {name}\n"));
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    Ok(out)
}
