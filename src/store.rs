//! The SQLite repository: every SQL statement of promoterd lives under this module.

mod accrual;
mod audit;
mod backup;
mod changes;
mod chat;
mod chat_links;
mod checkouts;
mod claims;
mod codec;
mod commissions;
mod copy;
mod daily;
mod digests;
mod dump;
mod export;
mod hold;
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
mod promoter_facts;
mod sql;
mod stats;
#[cfg(test)]
pub(crate) mod test_fixture;
mod ticket_types;
mod tx;
mod upgrade;
mod vouchers;

pub use audit::{AuditEntry, NewReplyToken, OutboxRow, QueuedMail};
pub use backup::{COUNTED, FileCheck, check_file};
pub use changes::{LinkChange, LinkChanges};
pub use chat_links::{ChatLink, LinkScope, LinkedAccount};
pub use checkouts::{PromoCodeRow, ShopEvent};
pub use commissions::{RuleSlot, RuleView};
pub use copy::{Copied, copy_sqlite_to_postgres};
pub use daily::{DailyRow, DaySource, FoldedDays};
pub use digests::{ChatMail, Preferences, Recipient, SaleChange};
pub use dump::dump;
pub use export::{ExportFilter, ExportRow};
pub use hold::{Lease, LeaseName, LinkListener};
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
pub use promoter_facts::PromoterFacts;
pub use stats::{ClickFact, OrderCountFact, SalesFact};
pub use ticket_types::TicketTypeUse;
use tx::TxInner;
pub use tx::{TxConn, Unsynced, WriteTx};
pub use vouchers::{VoucherRow, VoucherWanted};

/// Kept here too: callers name them as store types.
pub use crate::domain::{InviteKind, OrganizerRole};

use sql::{On, query_scalar};
use sqlx::SqlitePool;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
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
    /// What this database does not do (a file backup of PostgreSQL): the text says what to do instead.
    #[error("{0}")]
    Unsupported(&'static str),
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

/// The writer's page cache at rest: SQLite's default.
pub const WRITER_CACHE_IDLE_KIB: u32 = 2000;
/// The writer's page cache during an order rush: it holds the index pages that inserts
/// keep touching (at 1M orders, 16 MiB took the webhook from 18k to 22k orders/s).
pub const WRITER_CACHE_BUSY_KIB: u32 = 16384;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of PostgreSQL's write lock (`pg_advisory_xact_lock`): "promoter" in ASCII.
const PG_WRITE_LOCK: i64 = 0x70726f6d6f746572;

/// The database handle, cheap to clone. On SQLite, transactions run on a single writer
/// connection (queued in the pool, not in SQLite's busy loop); reads use their own
/// connections, so a writer that reads on the side can never wait for itself.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// Link changes committed through this handle (and its clones).
    changes: Arc<LinkChanges>,
}

#[derive(Clone, Debug)]
enum Db {
    Sqlite {
        pool: SqlitePool,
        writer: SqlitePool,
        /// How the connections were opened: a backup opens one of its own.
        options: Arc<SqliteConnectOptions>,
        /// The write-ahead log, when commits are to be on disk before they are answered
        /// (`synchronous = "full"`): the order writer syncs it itself (`tx.rs`).
        wal: Option<Arc<tx::WriteAheadLog>>,
    },
    Postgres {
        pool: PgPool,
        /// One connection for this process's writes, as on SQLite: transactions queue
        /// here, so only one connection at a time waits for the database's write lock
        /// (a full pool of waiting writers would starve the holder's own reads).
        writer: PgPool,
    },
}

/// Connections a daemon opens to PostgreSQL when `[database] pool_size` leaves it unset.
pub const PG_POOL_DEFAULT: u32 = 10;

/// A pooled PostgreSQL connection idle longer than this is checked (one round trip)
/// before it is handed out; one in use more recently is not.
const PG_CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);

/// A PostgreSQL pool of `size` connections. sqlx checks every connection it hands out
/// with a round trip by default, which doubles the round trips of a short read; here
/// only a connection that sat idle is checked (one the server or the network may have
/// dropped meanwhile), and a connection that fails its check is replaced.
fn pg_pool_options(size: u32, check_after_idle: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if meta.idle_for > check_after_idle {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
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
        Self::with_options(opts, full).await
    }

    /// Opens a database from a URL: `postgres://…` (or `postgresql://…`), else a
    /// `sqlite:` URL (used by tools and tests).
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        if is_postgres_url(url) {
            return Self::open_postgres(url, PG_POOL_DEFAULT).await;
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        // sqlx's default durability is `FULL`.
        Self::with_options(opts, true).await
    }

    /// Opens a PostgreSQL database with at most `pool_size` connections. Does not migrate.
    pub async fn open_postgres(url: &str, pool_size: u32) -> StoreResult<Self> {
        Self::open_postgres_checking(url, pool_size, PG_CHECK_AFTER_IDLE).await
    }

    /// [`Store::open_postgres`], checking a pooled connection before use once it has
    /// been idle longer than `check_after_idle` (5 s in the daemon).
    pub async fn open_postgres_checking(url: &str, pool_size: u32, check_after_idle: Duration) -> StoreResult<Self> {
        // A transaction left open (its task dropped it and the runtime has not run the
        // rollback yet) holds the write lock: PostgreSQL ends it after a minute at most.
        let opts = PgConnectOptions::from_str(url)?
            .application_name("promoterd")
            .options([("idle_in_transaction_session_timeout", "60s")]);
        let pool = pg_pool_options(pool_size.max(1), check_after_idle)
            .connect_with(opts.clone())
            .await?;
        let writer = pg_pool_options(1, check_after_idle).connect_with(opts).await?;
        Ok(Self {
            db: Db::Postgres { pool, writer },
            changes: Default::default(),
        })
    }

    async fn with_options(opts: SqliteConnectOptions, full: bool) -> StoreResult<Self> {
        // The writer's statement journals (a multi-row insert inside a batch with savepoints)
        // stay in memory: spilled to disk they cost a temp file created and unlinked per batch.
        // `secure_delete` zeroes what a write removes (erased buyers, a sent message's
        // code or token, a dropped attachment's pages) instead of leaving it in free space.
        // A connection is a thread of this process: no network to lose it, and sqlx's
        // check before each acquire would only cost a hand-over to that thread and back.
        let mut writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30));
        if full {
            // The order writer runs its transactions without the commit's own fsync and
            // syncs the log after them (`Store::write_batch`); whoever takes the connection
            // next finds it as configured. A connection that cannot be set back is closed.
            writer = writer.after_release(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(&mut *conn, "PRAGMA synchronous = FULL").await?;
                    Ok(true)
                })
            });
        }
        let writer = writer
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
            .test_before_acquire(false)
            .connect_with(opts.clone().pragma("query_only", "on"))
            .await?;
        let wal = if full { write_ahead_log(&writer).await } else { None };
        Ok(Self {
            db: Db::Sqlite {
                pool,
                writer,
                options: Arc::new(opts),
                wal,
            },
            changes: Default::default(),
        })
    }

    /// Whether this store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres { .. })
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> StoreResult<usize> {
        let before = match &self.db {
            Db::Sqlite { writer, .. } => {
                self.reconcile_released_migrations().await?;
                let before = self.applied_migrations().await.unwrap_or(0);
                MIGRATOR.run(writer).await?;
                before
            }
            Db::Postgres { writer, .. } => {
                let before = self.applied_migrations().await.unwrap_or(0);
                PG_MIGRATOR.run(writer).await?;
                before
            }
        };
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> StoreResult<usize> {
        let n: i64 = query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(self.pool())
            .await?;
        Ok(n as usize)
    }

    /// Starts a write transaction that takes the write lock at once.
    pub async fn write(&self) -> StoreResult<WriteTx> {
        let tx = match &self.db {
            Db::Sqlite { writer, .. } => TxInner::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres { writer, .. } => {
                let mut tx = writer.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                TxInner::Postgres(tx)
            }
        };
        Ok(WriteTx {
            tx: TxConn(tx),
            links: false,
            changes: self.changes.clone(),
            wal: None,
        })
    }

    /// The link changes committed through this store, for the redirect's table.
    pub fn link_changes(&self) -> &Arc<LinkChanges> {
        &self.changes
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        query_scalar::<i64>("SELECT CAST(1 AS BIGINT)")
            .fetch_one(self.pool())
            .await
            .is_ok()
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { pool, writer, .. } => {
                pool.close().await;
                writer.close().await;
            }
            Db::Postgres { pool, writer } => {
                pool.close().await;
                writer.close().await;
            }
        }
    }

    /// Connections for reading (on SQLite read-only ones).
    pub(crate) fn pool(&self) -> On<'_> {
        match &self.db {
            Db::Sqlite { pool, .. } => On::SqlitePool(pool),
            Db::Postgres { pool, .. } => On::PgPool(pool),
        }
    }

    /// The writer connection, for one statement in its own transaction (queued behind
    /// any open [`WriteTx`]; never call it while holding one).
    pub(crate) fn writer(&self) -> On<'_> {
        match &self.db {
            Db::Sqlite { writer, .. } => On::SqlitePool(writer),
            Db::Postgres { writer, .. } => On::PgPool(writer),
        }
    }

    /// SQLite's writer pool (None on PostgreSQL), for what only SQLite has.
    pub(crate) fn sqlite_writer(&self) -> Option<&SqlitePool> {
        match &self.db {
            Db::Sqlite { writer, .. } => Some(writer),
            Db::Postgres { .. } => None,
        }
    }

    /// A read-only transaction that sees one snapshot from its first read to its end
    /// (SQLite's deferred transaction; PostgreSQL's repeatable read).
    pub(crate) async fn snapshot(&self) -> StoreResult<TxConn> {
        Ok(TxConn(match &self.db {
            Db::Sqlite { pool, .. } => TxInner::Sqlite(pool.begin().await?),
            Db::Postgres { pool, .. } => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                TxInner::Postgres(tx)
            }
        }))
    }

    /// How this store's SQLite connections are opened (None on PostgreSQL).
    pub(crate) fn sqlite_options(&self) -> Option<&SqliteConnectOptions> {
        match &self.db {
            Db::Sqlite { options, .. } => Some(options),
            Db::Postgres { .. } => None,
        }
    }
}

/// The write-ahead log of the writer's database, as SQLite names it (its own resolved
/// path, symbolic links followed, plus `-wal`), opened, when it is a file that exists.
/// None otherwise (an in-memory database): the order writer then commits at `FULL`.
async fn write_ahead_log(writer: &SqlitePool) -> Option<Arc<tx::WriteAheadLog>> {
    let file: String = match query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .fetch_one(On::SqlitePool(writer))
        .await
    {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(error = %e, "SQLite did not name its database file: each order batch syncs its own commit");
            return None;
        }
    };
    if file.is_empty() {
        return None;
    }
    let log = tx::WriteAheadLog::at(std::path::PathBuf::from(format!("{file}-wal")));
    if !log.is_open() {
        tracing::warn!(database = %file, "the database's write-ahead log is not where SQLite names it: each order batch syncs its own commit");
        return None;
    }
    Some(Arc::new(log))
}

/// Whether a `[database] url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
