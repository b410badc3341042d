//! The audit log (who did what) and the outbound message queue.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{InviteId, OrgId, OutboxId, PersonId};
use chrono::{DateTime, Utc};

/// A reply token to store with a queued mail.
#[derive(Debug, Clone)]
pub struct NewReplyToken {
    pub hash: String,
    /// `invite` (accept/ignore answer that invite) or `reply` (commands as the recipient).
    pub purpose: &'static str,
    pub invite_id: Option<InviteId>,
    pub expires_at: DateTime<Utc>,
}

/// An email to queue.
#[derive(Debug, Clone)]
pub struct QueuedMail<'a> {
    pub to: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// `<id@domain>`, fixed at queue time so a resend reuses it.
    pub message_id: String,
    pub reply_to: Option<String>,
    pub in_reply_to: Option<&'a str>,
    /// (file name, MIME type, bytes).
    pub attachment: Option<(&'a str, &'a str, &'a [u8])>,
    pub token: Option<NewReplyToken>,
    /// The sender's display name (cleaned by the caller); `None`: the configured name.
    pub from_name: Option<&'a str>,
    /// An HTML alternative of `body`.
    pub body_html: Option<&'a str>,
    /// A reply's References (space-separated `<id>` tokens, bounded by the caller).
    pub references_chain: Option<&'a str>,
}

/// One line of the audit log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// The person who acted; `None` for the daemon itself (retention, expiry).
    pub actor: Option<String>,
    pub action: String,
    pub detail: String,
}

/// An outbound message waiting in the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: OutboxId,
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// Mail only: our Reply-To address (with the reply token) and Message-ID.
    pub reply_to: Option<String>,
    pub message_id: Option<String>,
}

impl Store {
    /// Appends an audit entry.
    pub async fn audit(
        &self,
        tx: &mut WriteTx,
        org_id: Option<OrgId>,
        actor_id: Option<PersonId>,
        action: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        query("INSERT INTO audit_log (at, org_id, actor_id, action, detail) VALUES (?, ?, ?, ?, ?)")
            .bind(ts(now))
            .bind(org_id)
            .bind(actor_id)
            .bind(action)
            .bind(detail)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// An organization's audit entries since `since`, newest first, at most `limit`;
    /// and how many there are in all since then.
    pub async fn audit_since(
        &self,
        org_id: OrgId,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<(Vec<AuditEntry>, i64)> {
        let rows = query_as(
            "SELECT a.at, p.email AS actor, a.action, a.detail FROM audit_log a LEFT JOIN people p ON p.id = a.actor_id \
             WHERE a.org_id = ? AND a.at >= ? ORDER BY a.id DESC LIMIT ?",
        )
        .bind(org_id)
        .bind(ts(since))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let total = query_scalar("SELECT count(*) FROM audit_log WHERE org_id = ? AND at >= ?")
            .bind(org_id)
            .bind(ts(since))
            .fetch_one(self.pool())
            .await?;
        Ok((rows, total))
    }

    /// Queues an email with its headers, reply token and attachment, in the caller's transaction.
    pub async fn enqueue_mail(
        &self,
        tx: &mut WriteTx,
        mail: &QueuedMail<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<OutboxId> {
        if let Some(t) = &mail.token {
            query(
                "INSERT INTO reply_tokens (token_hash, email, purpose, invite_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&t.hash)
            .bind(mail.to)
            .bind(t.purpose)
            .bind(t.invite_id)
            .bind(ts(now))
            .bind(ts(t.expires_at))
            .execute(&mut **tx)
            .await?;
        }
        let (name, mime, data) = match mail.attachment {
            Some((n, m, d)) => (Some(n), Some(m), Some(d)),
            None => (None, None, None),
        };
        query_scalar(
            "INSERT INTO outbox (channel, recipient, kind, subject, body, created_at, next_try_at, message_id, reply_to, \
             in_reply_to, attachment_name, attachment_mime, attachment, token_hash, from_name, body_html, references_chain) \
             VALUES ('email', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(mail.to)
        .bind(mail.kind)
        .bind(mail.subject)
        .bind(mail.body)
        .bind(ts(now))
        .bind(ts(now))
        .bind(&mail.message_id)
        .bind(&mail.reply_to)
        .bind(mail.in_reply_to)
        .bind(name)
        .bind(mime)
        .bind(data)
        .bind(mail.token.as_ref().map(|t| t.hash.as_str()))
        .bind(mail.from_name)
        .bind(mail.body_html)
        .bind(mail.references_chain)
        .fetch_one(&mut **tx)
        .await
    }

    /// Unsent messages for a recipient, oldest first.
    pub async fn pending_messages_to(&self, recipient: &str) -> StoreResult<Vec<OutboxRow>> {
        query_as(
            "SELECT id, channel, recipient, kind, subject, body, reply_to, message_id FROM outbox \
             WHERE recipient = ? AND sent_at IS NULL AND failed_at IS NULL ORDER BY id",
        )
        .bind(recipient)
        .fetch_all(self.pool())
        .await
    }
}
