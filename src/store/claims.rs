//! Claiming outbox rows before sending them: one statement marks the due rows
//! `claimed_until` a time and returns them, skipping rows another sender holds
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer serializes claims).

use super::sql::{BothRow, On, query, query_as, ts};
use super::{Db, Store, StoreResult};
use crate::commands::Platform;
use crate::domain::OutboxId;
use crate::store::{ChatMail, OutboxMail};
use chrono::{DateTime, Utc};

/// The rows a claim may take: due, unsent, not given up, and not held by a live claim.
const CLAIMABLE: &str = "sent_at IS NULL AND failed_at IS NULL AND next_try_at <= ?1 \
     AND (claimed_until IS NULL OR claimed_until <= ?1)";

const MAIL_COLUMNS: &str = "id, recipient, kind, subject, body, attempts, message_id, reply_to, in_reply_to, \
     attachment_name, attachment_mime, attachment, from_name, body_html, references_chain, created_at";

const CHAT_COLUMNS: &str = "id, recipient, payload, body, subject, kind, attempts, fallback_email, from_name";

/// The claim statement over `channel` (bound as ?4): due rows, oldest first, up to ?3,
/// marked claimed until ?2, returning `columns`. PostgreSQL skips rows another
/// transaction is claiming instead of waiting for it.
fn claim_sql(columns: &str, lock: &str) -> String {
    format!(
        "UPDATE outbox SET claimed_until = ?2 WHERE id IN \
           (SELECT id FROM outbox WHERE channel = ?4 AND {CLAIMABLE} ORDER BY id LIMIT ?3{lock}) \
         RETURNING {columns}"
    )
}

/// A claimed row's id (RETURNING gives no order: rows are sorted by it).
trait HasId {
    fn id(&self) -> OutboxId;
}

impl HasId for OutboxMail {
    fn id(&self) -> OutboxId {
        self.id
    }
}

impl HasId for ChatMail {
    fn id(&self) -> OutboxId {
        self.id
    }
}

impl Store {
    /// Where a claim runs: SQLite's writer; any PostgreSQL connection (the claim is
    /// one statement, and `SKIP LOCKED` keeps concurrent claims apart).
    fn claimer(&self) -> On<'_> {
        match &self.db {
            Db::Sqlite { writer, .. } => On::SqlitePool(writer),
            Db::Postgres { pool, .. } => On::PgPool(pool),
        }
    }

    /// Claims up to `limit` due emails until `until`, oldest first.
    pub async fn claim_mails(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxMail>> {
        self.claim(MAIL_COLUMNS, "email", now, until, limit).await
    }

    /// Claims up to `limit` due chat messages of a channel until `until`, oldest first.
    pub async fn claim_chat(
        &self,
        channel: Platform,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ChatMail>> {
        self.claim(CHAT_COLUMNS, channel.as_str(), now, until, limit).await
    }

    async fn claim<T: BothRow + HasId>(
        &self,
        columns: &str,
        channel: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<T>> {
        let mut rows: Vec<T> = query_as(claim_sql(columns, ""))
            .pg(claim_sql(columns, " FOR UPDATE SKIP LOCKED"))
            .bind(ts(now))
            .bind(ts(until))
            .bind(limit)
            .bind(channel)
            .fetch_all(self.claimer())
            .await?;
        rows.sort_by_key(|r| r.id());
        Ok(rows)
    }

    /// Gives claimed rows back unsent (a sender that ran out of its claim's time): the
    /// next claim takes them at once.
    pub async fn release_claims(&self, ids: &[OutboxId]) -> StoreResult<()> {
        for id in ids {
            query("UPDATE outbox SET claimed_until = NULL WHERE id = ? AND sent_at IS NULL")
                .bind(*id)
                .execute(self.claimer())
                .await?;
        }
        Ok(())
    }

    /// Drops every claim. Only for a database no other sender can reach: a SQLite file
    /// at daemon start, whose claims were left by a process that died. Returns how many.
    pub async fn release_all_claims(&self) -> StoreResult<u64> {
        let done = query("UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL")
            .execute(self.claimer())
            .await?;
        Ok(done.rows_affected())
    }
}
