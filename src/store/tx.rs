//! Write transactions on either database, savepoints inside them, and the writer's
//! page cache (SQLite) sized for a rush of orders.

use super::sql::{On, query};
use super::{LinkChanges, Store, StoreResult};
use sqlx::postgres::Postgres;
use sqlx::{Sqlite, Transaction};
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
}

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
        match self.tx.0 {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        if self.links {
            self.changes.announce();
        }
        Ok(())
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
