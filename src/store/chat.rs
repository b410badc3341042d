//! Chat front-end bookkeeping: applied updates and unreachable accounts.

use super::{Store, StoreResult};
use crate::clock::ts;
use crate::domain::Platform;
use chrono::{DateTime, Utc};

impl Store {
    /// Whether an update (Telegram `update_id`, Discord interaction id) was applied.
    pub async fn chat_update_seen(&self, platform: Platform, id: &str) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM chat_updates WHERE platform = ? AND update_id = ?")
                .bind(platform)
                .bind(id)
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    /// Records an applied update; false when it was recorded before.
    pub async fn record_chat_update(&self, platform: Platform, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO chat_updates (platform, update_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(platform)
        .bind(id)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a chat account unreachable (blocked the bot, closed DMs).
    pub async fn mark_chat_unreachable(
        &self,
        platform: Platform,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE chat_accounts SET unreachable_at = ?, unreachable_reason = ? WHERE platform = ? AND external_id = ?")
            .bind(ts(now))
            .bind(reason)
            .bind(platform)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Clears the unreachable mark of a chat account (it wrote to us again).
    pub async fn clear_chat_unreachable(&self, platform: Platform, id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE chat_accounts SET unreachable_at = NULL, unreachable_reason = NULL \
             WHERE platform = ? AND external_id = ? AND unreachable_at IS NOT NULL",
        )
        .bind(platform)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether a chat account was marked unreachable.
    pub async fn chat_unreachable(&self, platform: Platform, id: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM chat_accounts WHERE platform = ? AND external_id = ? AND unreachable_at IS NOT NULL",
        )
        .bind(platform)
        .bind(id)
        .fetch_one(self.pool())
        .await?
            > 0)
    }

    /// Chat accounts of people who organize at least one organization.
    pub async fn organizer_chat_accounts(&self, platform: Platform) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT c.external_id FROM chat_accounts c JOIN organizers o ON o.person_id = c.person_id \
             WHERE c.platform = ? AND c.scope = 'full' ORDER BY c.external_id",
        )
        .bind(platform)
        .fetch_all(self.pool())
        .await?)
    }
}
