//! Chat front-end bookkeeping: applied updates and unreachable accounts.

use super::sql::{query, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::Platform;
use chrono::{DateTime, Utc};

impl Store {
    /// Whether an update (Telegram `update_id`, Discord interaction id) was applied.
    pub async fn chat_update_seen(&self, platform: Platform, id: &str) -> StoreResult<bool> {
        Ok(
            query_scalar::<i64>("SELECT count(*) FROM chat_updates WHERE platform = ? AND update_id = ?")
                .bind(platform)
                .bind(id)
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    /// Records an applied update; false when it was recorded before.
    pub async fn record_chat_update(&self, platform: Platform, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = query(
            "INSERT INTO chat_updates (platform, update_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(platform)
        .bind(id)
        .bind(ts(now))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets the applied updates received before `before`: Telegram keeps an update
    /// for 24 hours and Discord retries an interaction for minutes, so an older id never
    /// comes again. Returns how many were forgotten.
    pub async fn prune_chat_updates(&self, tx: &mut WriteTx, before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(query("DELETE FROM chat_updates WHERE received_at < ?")
            .bind(ts(before))
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }

    /// Marks a chat account unreachable (blocked the bot, closed DMs).
    pub async fn mark_chat_unreachable(
        &self,
        platform: Platform,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        query("UPDATE chat_accounts SET unreachable_at = ?, unreachable_reason = ? WHERE platform = ? AND external_id = ?")
            .bind(ts(now))
            .bind(reason)
            .bind(platform)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Clears the unreachable mark of a chat account (it wrote to us again). Called for
    /// every message and every send: it writes only when the mark is there.
    pub async fn clear_chat_unreachable(&self, platform: Platform, id: &str) -> StoreResult<()> {
        if !self.chat_unreachable(platform, id).await? {
            return Ok(());
        }
        query(
            "UPDATE chat_accounts SET unreachable_at = NULL, unreachable_reason = NULL \
             WHERE platform = ? AND external_id = ? AND unreachable_at IS NOT NULL",
        )
        .bind(platform)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Whether a chat account was marked unreachable.
    pub async fn chat_unreachable(&self, platform: Platform, id: &str) -> StoreResult<bool> {
        Ok(query_scalar::<i64>(
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
        query_scalar(
            "SELECT DISTINCT c.external_id FROM chat_accounts c JOIN organizers o ON o.person_id = c.person_id \
             WHERE c.platform = ? AND c.scope = 'full' ORDER BY c.external_id",
        )
        .bind(platform)
        .fetch_all(self.pool())
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The readers refuse writes: a write on one would wait in SQLite's busy loop behind
    /// the writer's batches instead of in the writer's queue. Chat bookkeeping writes
    /// through the writer, and a chat update waits for an open transaction to end.
    #[tokio::test]
    async fn readers_refuse_writes_and_chat_bookkeeping_goes_through_the_writer() {
        let (f, tx) = crate::store::test_fixture::store_with_an_event().await;
        tx.commit().await.unwrap();
        let (store, person) = (f.store, f.owner);
        let refused = query("INSERT INTO settings (key, value) VALUES ('k', x'00')")
            .execute(store.pool())
            .await;
        assert!(refused.is_err(), "a reader accepted a write");
        let now = Utc::now();
        let tx = store.write().await.unwrap();
        let waiting = tokio::spawn({
            let store = store.clone();
            async move { store.record_chat_update(Platform::Telegram, "41", now).await }
        });
        tx.commit().await.unwrap();
        assert!(waiting.await.unwrap().unwrap(), "the first record of an update");
        assert!(!store.record_chat_update(Platform::Telegram, "41", now).await.unwrap());
        let mut tx = store.write().await.unwrap();
        query(
            "INSERT INTO chat_accounts (platform, external_id, person_id, linked_at) VALUES ('telegram', '41', ?, ?)",
        )
        .bind(person)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        store
            .mark_chat_unreachable(Platform::Telegram, "41", "blocked", now)
            .await
            .unwrap();
        assert!(store.chat_unreachable(Platform::Telegram, "41").await.unwrap());
        store.clear_chat_unreachable(Platform::Telegram, "41").await.unwrap();
        assert!(!store.chat_unreachable(Platform::Telegram, "41").await.unwrap());
    }
}
