//! The outbox as an operator sees it (`promoterd outbox`): what waits to be sent on
//! each channel, what failed lately, and for invite mails where their invite stands.

use super::sql::{query_as, ts};
use super::{Store, StoreResult};
use crate::domain::{Channel, InviteKind, InviteStatus, OutboxId};
use chrono::{DateTime, Utc};

/// A message not sent yet (or given up), with its invite's state for an invite mail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub channel: Channel,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub next_try_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Claimed by a sender until then (see `claims.rs`).
    pub claimed_until: Option<DateTime<Utc>>,
    /// An invite mail that a newer invite mail replaced.
    pub invite_replaced: bool,
    /// An invite mail's invite status.
    pub invite_status: Option<InviteStatus>,
    pub invite_expires_at: Option<DateTime<Utc>>,
    /// The hash of the invite's current code (a resend replaces it).
    pub invite_code_hash: Option<String>,
    pub invite_kind: Option<InviteKind>,
    pub invite_org: Option<String>,
    /// The event of a one-event promoter invite.
    pub invite_event: Option<String>,
}

const ENTRY_SELECT: &str = "SELECT o.id, o.channel, o.recipient, o.kind, o.subject, o.body, o.attachment_name, \
       o.created_at, o.attempts, o.next_try_at, o.sent_at, o.failed_at, o.last_error, o.claimed_until, \
       coalesce(t.purpose = 'replaced', false) AS invite_replaced, i.status AS invite_status, \
       i.expires_at AS invite_expires_at, i.code_hash AS invite_code_hash, i.kind AS invite_kind, \
       g.name AS invite_org, e.name AS invite_event \
     FROM outbox o \
     LEFT JOIN reply_tokens t ON o.kind = 'invite' AND t.token_hash = o.token_hash \
     LEFT JOIN invites i ON i.id = t.invite_id \
     LEFT JOIN organizations g ON g.id = i.org_id \
     LEFT JOIN events e ON e.id = i.event_id";

impl Store {
    /// Messages not sent yet, and those given up on since `failed_since`, of one
    /// channel or all; by channel, oldest first.
    pub async fn outbox_entries(
        &self,
        channel: Option<Channel>,
        failed_since: DateTime<Utc>,
    ) -> StoreResult<Vec<OutboxEntry>> {
        query_as(format!(
            "{ENTRY_SELECT} WHERE o.sent_at IS NULL AND (o.failed_at IS NULL OR o.failed_at >= ?1) \
             AND (?2 IS NULL OR o.channel = ?2) ORDER BY o.channel, o.id"
        ))
        .bind(ts(failed_since))
        .bind(channel)
        .fetch_all(self.pool())
        .await
    }

    /// One message of the outbox, sent or not.
    pub async fn outbox_entry(&self, id: OutboxId) -> StoreResult<Option<OutboxEntry>> {
        query_as(format!("{ENTRY_SELECT} WHERE o.id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }
}
