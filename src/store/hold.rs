//! Leases on a PostgreSQL database: a session advisory lock held by a connection of its
//! own, for the jobs only one daemon may run at a time (SQLite's file lock makes every
//! daemon on it the only one).

use super::{Db, Store, StoreResult};
use sqlx::Connection;

/// The advisory lock keys of the leases, apart from the write lock's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseName {
    /// Mail polling and sending, chat polling and gateways, the outbox senders, the
    /// digest scheduler and the hourly chores.
    Jobs,
}

impl LeaseName {
    fn key(self) -> i64 {
        match self {
            LeaseName::Jobs => super::PG_WRITE_LOCK + 1,
        }
    }
}

/// A lease this daemon holds. On PostgreSQL, the connection that holds the lock: it is
/// released when the value is dropped, when the connection breaks, or when the process
/// dies (PostgreSQL ends the session as soon as its socket closes).
#[derive(Debug)]
pub struct Lease(Option<sqlx::PgConnection>);

impl Store {
    /// Takes the lease when no other session holds it; None when one does.
    pub async fn try_lease(&self, name: LeaseName) -> StoreResult<Option<Lease>> {
        let Db::Postgres { pool, .. } = &self.db else {
            return Ok(Some(Lease(None)));
        };
        let mut conn = pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(name.key())
            .fetch_one(&mut conn)
            .await?;
        if got {
            return Ok(Some(Lease(Some(conn))));
        }
        conn.close().await?;
        Ok(None)
    }
}

impl Lease {
    /// Whether the lease is still held: its connection answers (a broken connection has
    /// lost the lock, and another daemon may hold it already).
    pub async fn held(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(conn) => conn.ping().await.is_ok(),
        }
    }
}

/// Wakes this process's link table when another process commits a link change, while
/// it lives (dropping it stops listening).
#[derive(Debug)]
pub struct LinkListener(tokio::task::JoinHandle<()>);

impl Drop for LinkListener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The channel the link log's triggers notify (migrations/postgres/0001_schema.sql).
const LINKS_CHANNEL: &str = "promoterd_links";

impl Store {
    /// On PostgreSQL, listens for the link log's notifications (every daemon's link
    /// changes) and wakes the link table, which then reads the log. A lost connection
    /// wakes it too once it is back: notifications sent meanwhile are lost, the log is
    /// not. None on SQLite, where other processes' changes are found at the table's
    /// next look.
    pub async fn listen_for_link_changes(&self) -> StoreResult<Option<LinkListener>> {
        let Db::Postgres { pool, .. } = &self.db else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(LINKS_CHANNEL).await?;
        let changes = self.changes.clone();
        Ok(Some(LinkListener(tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(_)) => changes.announce(),
                    // The connection broke; the next call reconnects and listens again.
                    Ok(None) => changes.announce(),
                    Err(e) => {
                        tracing::warn!(error = %e, "link changes: listening on PostgreSQL failed; trying again");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        changes.announce();
                    }
                }
            }
        }))))
    }
}
