//! Write transactions on either database, savepoints inside them, the order writer's
//! transactions that sync SQLite's log after the commit, and the writer's page cache.

use super::sql::{On, query};
use super::{Db, LinkChanges, Store, StoreError, StoreResult};
use sqlx::postgres::Postgres;
use sqlx::{SqlSafeStr, Sqlite, Transaction};
use std::path::PathBuf;
use std::sync::Arc;

/// A write transaction: `BEGIN IMMEDIATE` on SQLite's one writer connection; on
/// PostgreSQL a transaction that first takes the database's write lock (a transaction
/// advisory lock), so writes of every daemon on one database run one at a time, as
/// on SQLite. The store's own type: code outside `store/` holds and commits it without
/// naming sqlx. Dropped without [`WriteTx::commit`], it rolls back.
#[derive(Debug)]
pub struct WriteTx {
    pub(super) tx: TxConn,
    /// Whether the transaction changed tracking links: announced once it commits.
    pub(super) links: bool,
    pub(super) changes: Arc<LinkChanges>,
    /// The log to sync after the commit ([`Store::write_batch`] on a `full` SQLite).
    pub(super) wal: Option<Arc<WriteAheadLog>>,
}

/// SQLite's write-ahead log as the order writer syncs it. One descriptor stays open from
/// start-up: Linux reports a failed writeback once to each descriptor open when it
/// happened, so this one hears of it even when SQLite's own descriptor (a checkpoint,
/// another write's commit) synced first. A log replaced since (the last connection
/// closed it) is opened again.
#[derive(Debug)]
pub(crate) struct WriteAheadLog {
    path: PathBuf,
    open: std::sync::Mutex<Option<(std::fs::File, (u64, u64))>>,
}

impl WriteAheadLog {
    /// The log at `path`, opened now if it is there.
    pub(crate) fn at(path: PathBuf) -> Self {
        let open = std::fs::File::open(&path)
            .and_then(|f| Ok((identity(&f.metadata()?), f)))
            .ok()
            .map(|(id, f)| (f, id));
        WriteAheadLog {
            path,
            open: std::sync::Mutex::new(open),
        }
    }

    /// Whether the log was there to open.
    pub(crate) fn is_open(&self) -> bool {
        self.open.lock().expect("log lock").is_some()
    }

    /// Syncs the log's data to disk (blocking).
    fn sync(&self) -> std::io::Result<()> {
        let mut open = self.open.lock().expect("log lock");
        let now = match std::fs::metadata(&self.path) {
            Ok(m) => identity(&m),
            // No log: the last connection closed it, and that checkpoint synced the database.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let log = match open.take() {
            Some((log, id)) if id == now => log,
            _ => std::fs::File::open(&self.path)?,
        };
        let synced = log.sync_data();
        *open = Some((log, now));
        synced
    }
}

/// A file's device and inode.
fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// A committed transaction that may not be on disk yet: the writes are durable once
/// [`Store::make_durable`] has returned for it (or a later one).
#[derive(Debug)]
#[must_use = "the commit is on disk only once Store::make_durable has returned"]
pub struct Unsynced(());

/// The connection of a [`WriteTx`].
#[derive(Debug)]
pub struct TxConn(pub(super) TxInner);

#[derive(Debug)]
pub(super) enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl<'c> From<&'c mut TxConn> for On<'c> {
    fn from(t: &'c mut TxConn) -> Self {
        match &mut t.0 {
            TxInner::Sqlite(tx) => On::SqliteConn(tx),
            TxInner::Postgres(tx) => On::PgConn(tx),
        }
    }
}

impl<'c> From<&'c mut WriteTx> for On<'c> {
    fn from(t: &'c mut WriteTx) -> Self {
        (&mut t.tx).into()
    }
}

impl TxConn {
    /// Ends a read transaction at once (see [`WriteTx::rollback`]).
    pub(crate) async fn rollback(self) -> StoreResult<()> {
        match self.0 {
            TxInner::Sqlite(tx) => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl WriteTx {
    /// Makes every write of the transaction durable (per `[database] synchronous`), then
    /// announces that it changed links, if it did: migration 0017's log names what
    /// changed (for any process); the announcement makes the redirect read it at once.
    pub async fn commit(self) -> StoreResult<()> {
        let wal = self.wal.clone();
        let _committed = self.commit_unsynced().await?;
        match wal {
            Some(wal) => sync_log(wal).await,
            None => Ok(()),
        }
    }

    /// Commits without waiting for the disk where [`Store::write_batch`] allows it: the
    /// caller answers for these writes only after [`Store::make_durable`].
    pub async fn commit_unsynced(self) -> StoreResult<Unsynced> {
        match self.tx.0 {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        if self.links {
            self.changes.announce();
        }
        Ok(Unsynced(()))
    }

    /// Ends the transaction without keeping its writes, at once. (Dropping it does the
    /// same, but on PostgreSQL only once the runtime runs again: until then the write
    /// lock stays taken, which a caller about to block the thread must avoid.)
    pub async fn rollback(self) -> StoreResult<()> {
        self.tx.rollback().await
    }

    /// Notes that this transaction changes tracking links (their liveness or target):
    /// the store functions that do call it.
    pub(super) fn links_changed(&mut self) {
        self.links = true;
    }

    /// Whether this transaction runs on PostgreSQL.
    fn is_pg(&self) -> bool {
        matches!(self.tx.0, TxInner::Postgres(_))
    }
}

impl std::ops::Deref for WriteTx {
    type Target = TxConn;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Store {
    /// A write transaction for the order writer, whose commit can leave the wait for the
    /// disk to [`Store::make_durable`] ([`WriteTx::commit_unsynced`]), so the next batch
    /// is written while this one's is synced. With `synchronous = "full"` on SQLite it
    /// runs with WAL's `NORMAL` (the commit appends to the log without syncing it; the
    /// connection is set back when released); anywhere else it is [`Store::write`].
    pub async fn write_batch(&self) -> StoreResult<WriteTx> {
        let Db::Sqlite {
            writer, wal: Some(wal), ..
        } = &self.db
        else {
            return self.write().await;
        };
        let mut conn = writer.acquire().await?;
        sqlx::Executor::execute(&mut *conn, "PRAGMA synchronous = NORMAL").await?;
        // What sqlx's `Pool::begin_with` does, on a connection taken first: the
        // durability level cannot change inside a transaction.
        let tx = Transaction::begin(conn, Some("BEGIN IMMEDIATE".into_sql_str())).await?;
        Ok(WriteTx {
            tx: TxConn(TxInner::Sqlite(tx)),
            links: false,
            changes: self.changes.clone(),
            wal: Some(wal.clone()),
        })
    }

    /// Returns once every transaction in `commits` is on disk. SQLite: one `fdatasync`
    /// of the log, begun after they committed; the log's frames carry cumulative
    /// checksums, so recovery never keeps a later commit without the earlier ones.
    /// PostgreSQL's commits are durable already.
    pub async fn make_durable(&self, commits: Vec<Unsynced>) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite { wal: Some(wal), .. } if !commits.is_empty() => sync_log(wal.clone()).await,
            _ => Ok(()),
        }
    }

    /// The same store with its write-ahead log taken to be `log`: for tests of a disk
    /// that does not confirm a sync.
    #[cfg(test)]
    pub(crate) fn with_write_ahead_log(mut self, log: PathBuf) -> Self {
        if let Db::Sqlite { wal, .. } = &mut self.db {
            *wal = Some(Arc::new(WriteAheadLog::at(log)));
        }
        self
    }

    /// Sizes the writer's page cache: [`WRITER_CACHE_BUSY_KIB`] while orders pour in,
    /// [`WRITER_CACHE_IDLE_KIB`] otherwise (a smaller cache frees the pages beyond it).
    /// PostgreSQL sizes its own buffers: nothing to do there.
    pub async fn set_writer_cache(&self, tx: &mut WriteTx, kib: u32) -> StoreResult<()> {
        if tx.is_pg() {
            return Ok(());
        }
        query(format!("PRAGMA cache_size = -{kib}")).execute(&mut **tx).await?;
        Ok(())
    }

    /// Opens a savepoint inside a write transaction.
    pub async fn savepoint(&self, tx: &mut WriteTx) -> StoreResult<()> {
        query("SAVEPOINT item").execute(&mut **tx).await?;
        Ok(())
    }

    /// Keeps what was done since the savepoint.
    pub async fn release_savepoint(&self, tx: &mut WriteTx) -> StoreResult<()> {
        query("RELEASE item").execute(&mut **tx).await?;
        Ok(())
    }

    /// Undoes what was done since the savepoint.
    pub async fn rollback_savepoint(&self, tx: &mut WriteTx) -> StoreResult<()> {
        query("ROLLBACK TO item").execute(&mut **tx).await?;
        query("RELEASE item").execute(&mut **tx).await?;
        Ok(())
    }
}

/// Syncs SQLite's write-ahead log to disk, on a blocking thread.
async fn sync_log(wal: Arc<WriteAheadLog>) -> StoreResult<()> {
    let synced = tokio::task::spawn_blocking(move || wal.sync())
        .await
        .map_err(|e| StoreError::File(std::io::Error::other(e)))?;
    Ok(synced?)
}

#[cfg(test)]
mod tests {
    use super::super::sql::query_scalar;
    use super::*;

    /// The durability level the writer connection's next user finds (2 `FULL`, 1 `NORMAL`).
    async fn writer_level(store: &Store) -> i64 {
        query_scalar("PRAGMA synchronous")
            .fetch_one(store.writer())
            .await
            .unwrap()
    }

    async fn level_in(tx: &mut WriteTx) -> i64 {
        query_scalar("PRAGMA synchronous").fetch_one(&mut **tx).await.unwrap()
    }

    async fn store(full: bool) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(&dir.path().join("db.sqlite"), full).await.unwrap();
        query("CREATE TABLE t (x INTEGER)")
            .execute(store.writer())
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn the_order_writer_skips_the_commits_fsync_and_sets_the_level_back() {
        let (_dir, store) = store(true).await;
        assert_eq!(writer_level(&store).await, 2);
        let mut tx = store.write_batch().await.unwrap();
        assert_eq!(level_in(&mut tx).await, 1, "the batch commits without its own fsync");
        query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.unwrap();
        let commit = tx.commit_unsynced().await.unwrap();
        assert_eq!(
            writer_level(&store).await,
            2,
            "the next statement on the writer syncs its commit"
        );
        let mut tx = store.write().await.unwrap();
        assert_eq!(level_in(&mut tx).await, 2, "so does the next transaction");
        tx.rollback().await.unwrap();
        store.make_durable(vec![commit]).await.unwrap();

        // A batch that fails and rolls back gives the connection back as configured too.
        let mut tx = store.write_batch().await.unwrap();
        query("INSERT INTO t VALUES (2)").execute(&mut *tx).await.unwrap();
        drop(tx);
        assert_eq!(writer_level(&store).await, 2);
        let rows: i64 = query_scalar("SELECT count(*) FROM t")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[tokio::test]
    async fn with_normal_durability_nothing_is_switched_or_synced() {
        let (_dir, store) = store(false).await;
        let mut tx = store.write_batch().await.unwrap();
        assert_eq!(level_in(&mut tx).await, 1);
        assert!(tx.wal.is_none(), "no log to sync");
        let commit = tx.commit_unsynced().await.unwrap();
        store.make_durable(vec![commit]).await.unwrap();
        assert_eq!(writer_level(&store).await, 1);
    }

    #[tokio::test]
    async fn the_log_synced_is_the_one_sqlite_writes_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        Store::open_with(&real, true).await.unwrap().close().await;
        let link = dir.path().join("promoterd.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let store = Store::open_with(&link, true).await.unwrap();
        let Db::Sqlite { wal, .. } = &store.db else {
            unreachable!()
        };
        let wal = wal.as_deref().expect("a log to sync");
        assert_eq!(wal.path.file_name().unwrap(), "real.db-wal", "{wal:?}");
        assert!(wal.is_open());
    }

    #[tokio::test]
    async fn syncing_the_log_reads_a_missing_log_as_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite-wal");
        let log = Arc::new(WriteAheadLog::at(path.clone()));
        assert!(!log.is_open());
        sync_log(log.clone()).await.unwrap();
        std::fs::write(&path, b"frames").unwrap();
        sync_log(log.clone()).await.unwrap();
        assert!(log.is_open(), "opened once it is there");
        // Replaced (closed by the last connection, made again by the next): opened again.
        std::fs::remove_file(&path).unwrap();
        sync_log(log.clone()).await.unwrap();
        std::fs::write(&path, b"new frames").unwrap();
        sync_log(log.clone()).await.unwrap();
        let now = log.open.lock().unwrap().as_ref().map(|(_, id)| *id).unwrap();
        assert_eq!(now, identity(&std::fs::metadata(&path).unwrap()));
        // Any other failure is not read as synced (here the log's directory is a file).
        let err = sync_log(Arc::new(WriteAheadLog::at(path.join("child")))).await;
        assert!(err.is_err(), "{err:?}");
    }
}
