//! The daemon lock on a PostgreSQL database: one session advisory lock, held by a
//! connection of its own for as long as the daemon runs (SQLite's is the file lock).

use super::{Db, Store, StoreResult};

/// The key of the session advisory lock a daemon holds on its PostgreSQL database.
const PG_DAEMON_LOCK: i64 = super::PG_WRITE_LOCK + 1;

/// Whether this daemon holds its database.
#[derive(Debug)]
pub enum Hold {
    /// Held until the value is dropped (PostgreSQL: a connection holding an advisory lock).
    Held(DatabaseHold),
    /// Another daemon holds it.
    Taken,
    /// SQLite: the file lock does it.
    NotNeeded,
}

/// A connection that holds the database's daemon lock; dropping it closes the
/// connection, which releases the lock (so does the daemon's death).
#[derive(Debug)]
pub struct DatabaseHold(#[allow(dead_code)] sqlx::PgConnection);

impl Store {
    /// Takes the lock that makes one daemon the database's only one.
    pub async fn hold_database(&self) -> StoreResult<Hold> {
        let Db::Postgres { pool, .. } = &self.db else {
            return Ok(Hold::NotNeeded);
        };
        let mut conn = pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(PG_DAEMON_LOCK)
            .fetch_one(&mut conn)
            .await?;
        Ok(if got {
            Hold::Held(DatabaseHold(conn))
        } else {
            Hold::Taken
        })
    }
}
