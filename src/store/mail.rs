//! Email bookkeeping: the outbox as the SMTP sender sees it, reply tokens, the IMAP
//! cursor, processed inbound messages, and suppressed addresses.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{InviteId, OrgId, OutboxId, PersonId};
use chrono::{DateTime, Utc};

/// A queued email, everything needed to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMail {
    pub id: OutboxId,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    pub message_id: Option<String>,
    pub reply_to: Option<String>,
    pub in_reply_to: Option<String>,
    pub attachment_name: Option<String>,
    pub attachment_mime: Option<String>,
    pub attachment: Option<Vec<u8>>,
    /// The sender's display name (an organization's); `None`: the configured name.
    pub from_name: Option<String>,
    /// The HTML alternative of `body`.
    pub body_html: Option<String>,
    /// A reply's References: space-separated `<id>` tokens ending with the parent.
    pub references_chain: Option<String>,
    /// When it was queued: a mail the server never took is given up some hours later.
    pub created_at: DateTime<Utc>,
}

/// Where one outbound message stands (for operators and tests).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxStatus {
    pub id: OutboxId,
    pub kind: String,
    pub attempts: i64,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Held by a sender until then (`None`: no sender holds it).
    pub claimed_until: Option<DateTime<Utc>>,
}

/// A reply token as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReplyToken {
    pub email: String,
    pub purpose: String,
    pub invite_id: Option<InviteId>,
    pub expires_at: DateTime<Utc>,
    /// The display name the mail carrying the token was sent under, if not ours: a
    /// reply in that thread keeps it.
    pub from_name: Option<String>,
}

impl Store {
    /// Of these claimed invite mails, drops those whose invite no longer waits for an
    /// answer (accepted, declined, cancelled, expired) or that a newer invite mail
    /// replaced: sending them would only confuse. They are marked failed with the
    /// reason (and unclaimed); returns their ids. Only the caller's own claimed rows
    /// are touched: another sender's are its to judge.
    pub async fn drop_stale_invite_mails(&self, ids: &[OutboxId], now: DateTime<Utc>) -> StoreResult<Vec<OutboxId>> {
        let mut tx = self.write().await?;
        let mut dropped = Vec::new();
        for id in ids {
            let gone: Option<OutboxId> = query_scalar(
                "UPDATE outbox SET failed_at = ?, claimed_until = NULL, last_error = 'dropped before sending: ' || \
                   (SELECT CASE WHEN t.purpose = 'replaced' THEN 'a newer invite mail replaced it' \
                                ELSE 'the invite is ' || i.status END \
                    FROM reply_tokens t JOIN invites i ON i.id = t.invite_id WHERE t.token_hash = outbox.token_hash) \
                 WHERE id = ? AND channel = 'email' AND kind = 'invite' AND sent_at IS NULL AND failed_at IS NULL \
                   AND EXISTS (SELECT 1 FROM reply_tokens t JOIN invites i ON i.id = t.invite_id \
                               WHERE t.token_hash = outbox.token_hash AND (i.status <> 'pending' OR t.purpose = 'replaced')) \
                 RETURNING id",
            )
            .bind(ts(now))
            .bind(*id)
            .fetch_optional(&mut *tx)
            .await?;
            dropped.extend(gone);
        }
        tx.commit().await?;
        Ok(dropped)
    }

    /// The latest invite mail of each invite of an organization: (invite id, sent_at,
    /// failed_at, last_error).
    pub async fn invite_mail_states(
        &self,
        org_id: OrgId,
    ) -> StoreResult<Vec<(InviteId, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<String>)>> {
        query_as(
            "SELECT t.invite_id, o.sent_at, o.failed_at, o.last_error FROM outbox o \
             JOIN reply_tokens t ON t.token_hash = o.token_hash JOIN invites i ON i.id = t.invite_id \
             WHERE i.org_id = ? AND o.kind = 'invite' \
             AND o.id = (SELECT max(o2.id) FROM outbox o2 JOIN reply_tokens t2 ON t2.token_hash = o2.token_hash \
                         WHERE t2.invite_id = t.invite_id AND o2.kind = 'invite')",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await
    }

    /// Every message to a recipient, sent or not, oldest first.
    pub async fn outbox_of(&self, recipient: &str) -> StoreResult<Vec<OutboxStatus>> {
        query_as(
            "SELECT id, kind, attempts, sent_at, failed_at, last_error, claimed_until FROM outbox WHERE recipient = ? \
             ORDER BY id",
        )
        .bind(recipient)
        .fetch_all(self.pool())
        .await
    }

    /// For an invite mail: (inviter's person id, the invited address, organization id).
    pub async fn inviter_of_mail(&self, outbox_id: OutboxId) -> StoreResult<Option<(PersonId, String, OrgId)>> {
        query_as(
            "SELECT i.invited_by, i.email, i.org_id FROM outbox o JOIN reply_tokens t ON t.token_hash = o.token_hash \
             JOIN invites i ON i.id = t.invite_id WHERE o.id = ? AND o.kind = 'invite'",
        )
        .bind(outbox_id)
        .fetch_optional(self.pool())
        .await
    }

    /// Marks a message sent and drops its content (see `privacy::scrub_set!`), on the writer.
    pub async fn mark_sent(&self, id: OutboxId, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        // Nothing resends a sent message (a new invite or reply is a new message), so
        // what it carried (codes, reply tokens, exported buyers) goes now.
        query(concat!(
            "UPDATE outbox SET sent_at = ?1, attempts = attempts + 1, last_error = NULL, claimed_until = NULL, ",
            super::privacy::scrub_set!(),
            " WHERE id = ?2"
        ))
        .bind(ts(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `next_try`, or given up when `None`.
    pub async fn mark_attempt_failed(
        &self,
        id: OutboxId,
        error: &str,
        next_try: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Retried: due again at `next_try`; given up: failed now. Either way unclaimed.
        let (column, at) = match next_try {
            Some(t) => ("next_try_at", t),
            None => ("failed_at", now),
        };
        query(format!(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, {column} = ?, claimed_until = NULL WHERE id = ?"
        ))
        .bind(error)
        .bind(ts(at))
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The (lowercased) recipients of the messages we sent with these Message-IDs
    /// (`<id>`); one query.
    pub async fn recipients_of_messages(&self, message_ids: &[String]) -> StoreResult<Vec<String>> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; message_ids.len()].join(", ");
        let sql = format!("SELECT DISTINCT lower(recipient) FROM outbox WHERE message_id IN ({marks})");
        let mut q = query_scalar(sql);
        for id in message_ids {
            q = q.bind(id);
        }
        q.fetch_all(self.pool()).await
    }

    /// Lifts a suppression; true when the address was suppressed.
    pub async fn unsuppress(&self, email: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM mail_suppressed WHERE email = ?")
            .bind(email.to_lowercase())
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether an address must not be mailed (hard bounce or complaint).
    pub async fn is_suppressed(&self, email: &str) -> StoreResult<bool> {
        Ok(
            query_scalar::<i64>("SELECT count(*) FROM mail_suppressed WHERE email = ?")
                .bind(email.to_lowercase())
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    /// Stops mailing an address.
    pub async fn suppress(&self, tx: &mut WriteTx, email: &str, reason: &str, now: DateTime<Utc>) -> StoreResult<()> {
        query("INSERT INTO mail_suppressed (email, reason, at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING")
            .bind(email.to_lowercase())
            .bind(reason)
            .bind(ts(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The reply token with this hash.
    pub async fn reply_token(&self, hash: &str) -> StoreResult<Option<ReplyToken>> {
        query_as(
                "SELECT t.email, t.purpose, t.invite_id, t.expires_at, \
                   (SELECT o.from_name FROM outbox o WHERE o.token_hash = t.token_hash ORDER BY o.id DESC LIMIT 1) AS from_name \
                 FROM reply_tokens t WHERE t.token_hash = ?",
            )
            .bind(hash)
            .fetch_optional(self.pool())
            .await
    }

    /// The reply token of a mail we sent, by its Message-ID (with or without `<>`).
    pub async fn reply_token_of_message(&self, message_id: &str) -> StoreResult<Option<ReplyToken>> {
        let id = format!("<{}>", message_id.trim().trim_matches(|c| c == '<' || c == '>'));
        query_as(
            "SELECT t.email, t.purpose, t.invite_id, t.expires_at, o.from_name FROM outbox o \
             JOIN reply_tokens t ON t.token_hash = o.token_hash WHERE o.message_id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    /// How many error replies went to `email` since `since`.
    pub async fn error_replies_since(&self, email: &str, since: DateTime<Utc>) -> StoreResult<i64> {
        query_scalar("SELECT count(*) FROM outbox WHERE recipient = ? AND kind = 'error' AND created_at >= ?")
            .bind(email)
            .bind(ts(since))
            .fetch_one(self.pool())
            .await
    }

    /// The IMAP cursor of a mailbox: (UIDVALIDITY, last processed UID).
    pub async fn imap_state(&self, mailbox: &str) -> StoreResult<Option<(u32, u32)>> {
        let row: Option<(i64, i64)> = query_as("SELECT uid_validity, last_uid FROM imap_state WHERE mailbox = ?")
            .bind(mailbox)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(v, u)| (v as u32, u as u32)))
    }

    /// Moves the IMAP cursor.
    pub async fn set_imap_state(
        &self,
        tx: &mut WriteTx,
        mailbox: &str,
        uid_validity: u32,
        last_uid: u32,
    ) -> StoreResult<()> {
        query(
            "INSERT INTO imap_state (mailbox, uid_validity, last_uid) VALUES (?, ?, ?) \
             ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid",
        )
        .bind(mailbox)
        .bind(i64::from(uid_validity))
        .bind(i64::from(last_uid))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Whether a message was processed already.
    pub async fn mail_processed(&self, key: &str) -> StoreResult<bool> {
        Ok(
            query_scalar::<i64>("SELECT count(*) FROM mail_processed WHERE message_key = ?")
                .bind(key)
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    /// Records a processed message; false when it was recorded before (nothing to do).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_processed(
        &self,
        tx: &mut WriteTx,
        key: &str,
        mailbox: &str,
        uid_validity: u32,
        uid: u32,
        kind: &str,
        sender: Option<&str>,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = query(
            "INSERT INTO mail_processed (message_key, mailbox, uid_validity, uid, kind, sender, outcome, processed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_key) DO NOTHING",
        )
        .bind(key)
        .bind(mailbox)
        .bind(i64::from(uid_validity))
        .bind(i64::from(uid))
        .bind(kind)
        .bind(sender)
        .bind(outcome)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Processed inbound messages, oldest first: (key, kind, sender, outcome).
    pub async fn processed_mail(&self) -> StoreResult<Vec<(String, String, Option<String>, String)>> {
        query_as("SELECT message_key, kind, sender, outcome FROM mail_processed ORDER BY processed_at, uid")
            .fetch_all(self.pool())
            .await
    }

    /// Whether the person with this address sent `stop`.
    pub async fn mail_opted_out(&self, email: &str) -> StoreResult<bool> {
        Ok(
            query_scalar::<i64>("SELECT count(*) FROM people WHERE email = ? AND mail_opt_out")
                .bind(email)
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    /// Gives up on an outbox message inside a transaction.
    pub async fn fail_in(&self, tx: &mut WriteTx, id: OutboxId, error: &str, now: DateTime<Utc>) -> StoreResult<()> {
        query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed_at = ?, claimed_until = NULL \
                     WHERE id = ?",
        )
        .bind(error)
        .bind(ts(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Marks a person as not wanting digest and notification mail.
    pub async fn set_mail_opt_out(&self, tx: &mut WriteTx, person_id: PersonId, out: bool) -> StoreResult<()> {
        query("UPDATE people SET mail_opt_out = ? WHERE id = ?")
            .bind(out)
            .bind(person_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
