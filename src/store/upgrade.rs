//! What sqlx's migrator cannot do alone: migration 0012 was released in two versions (the
//! second also held what 0013 holds now); a database migrated with that one is brought in
//! line once, before migrating.

use super::{MIGRATOR, Store, StoreResult};
use sha2::{Digest, Sha384};

/// Migration 0012 as released in d2cc9ef, before its later lines moved to 0013.
const LONG_0012: &str = include_str!("history/0012_buyer_data_as_landed_in_d2cc9ef.sql");

impl Store {
    /// A database that applied the longer 0012 has 0013's column and index already:
    /// records 0012 as the shorter one and 0013 as applied, in one transaction, so the
    /// migrator neither refuses the changed checksum nor adds the column twice. Returns
    /// whether it did.
    pub(super) async fn reconcile_released_migrations(&self) -> StoreResult<bool> {
        let Some(writer) = self.sqlite_writer() else {
            return Ok(false);
        };
        let tracked: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_one(writer)
                .await?;
        if tracked == 0 {
            return Ok(false);
        }
        let applied: Option<Vec<u8>> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 12")
            .fetch_optional(writer)
            .await?;
        if applied.as_deref() != Some(Sha384::digest(LONG_0012.as_bytes()).as_slice()) {
            return Ok(false);
        }
        let find = |v: i64| {
            MIGRATOR
                .iter()
                .find(|m| m.version == v && !m.migration_type.is_down_migration())
                .ok_or_else(|| super::StoreError::Corrupt(format!("migration {v} is not built in")))
        };
        let (short, grace) = (find(12)?, find(13)?);
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE _sqlx_migrations SET checksum = ? WHERE version = 12")
            .bind(&*short.checksum)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (13, ?, TRUE, ?, -1) ON CONFLICT (version) DO NOTHING",
        )
        .bind(&*grace.description)
        .bind(&*grace.checksum)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!("migration 0012 as released in d2cc9ef recorded as 0012 and 0013");
        Ok(true)
    }
}
