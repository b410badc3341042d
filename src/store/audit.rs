//! The audit log (who did what) and the outbound message queue.

use super::{Store, StoreResult, WriteTx};
use crate::clock::ts;
use chrono::{DateTime, Utc};

/// An outbound message waiting in the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
}

impl Store {
    /// Appends an audit entry.
    pub async fn audit(
        &self,
        tx: &mut WriteTx,
        org_id: Option<i64>,
        actor_id: Option<i64>,
        action: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_log (at, org_id, actor_id, action, detail) VALUES (?, ?, ?, ?, ?)")
            .bind(ts(now))
            .bind(org_id)
            .bind(actor_id)
            .bind(action)
            .bind(detail)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The latest audit entries of an organization: (time, actor email, action, detail).
    pub async fn audit_entries(
        &self,
        org_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<(String, Option<String>, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT a.at, p.email, a.action, a.detail FROM audit_log a LEFT JOIN people p ON p.id = a.actor_id \
             WHERE a.org_id = ? ORDER BY a.id DESC LIMIT ?",
        )
        .bind(org_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Queues an outbound message in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue(
        &self,
        tx: &mut WriteTx,
        channel: &str,
        recipient: &str,
        kind: &str,
        subject: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO outbox (channel, recipient, kind, subject, body, created_at, next_try_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(channel)
        .bind(recipient)
        .bind(kind)
        .bind(subject)
        .bind(body)
        .bind(ts(now))
        .bind(ts(now))
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Unsent messages for a recipient, oldest first.
    pub async fn pending_messages_to(&self, recipient: &str) -> StoreResult<Vec<OutboxRow>> {
        Ok(sqlx::query_as(
            "SELECT id, channel, recipient, kind, subject, body FROM outbox \
             WHERE recipient = ? AND sent_at IS NULL AND failed_at IS NULL ORDER BY id",
        )
        .bind(recipient)
        .fetch_all(self.pool())
        .await?)
    }
}
