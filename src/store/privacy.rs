//! Buyer data hygiene: each organization's retention, erasing buyers' personal data (by
//! time or on request), dropping what the outbox no longer needs, and a promoter leaving.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{EventId, MembershipId, OrderId, OrgId};
use chrono::{DateTime, Duration, Utc};

/// What a scrub sets (`?1`: the time), as a literal for `concat!`.
macro_rules! scrub_set {
    () => {
        "body = '', body_html = NULL, payload = NULL, attachment = NULL, reply_to = NULL, scrubbed_at = ?1"
    };
}
pub(super) use scrub_set;

/// Ids per erasing statement (SQLite's bound-parameter limit is far above).
const CHUNK: usize = 500;

/// Outbox messages given up on keep their content this long for the operator
/// (`promoterd outbox --show`); sent messages drop it when they are sent.
pub const FAILED_KEEP: Duration = Duration::days(7);

/// Keeps the order numbers, attribution and self-referral flag; drops the person.
/// The state hash goes too: a digest of name, email and phone could confirm a guess.
const ERASE_SET: &str =
    "buyer_name = NULL, buyer_email = NULL, buyer_phone = NULL, state_hash = NULL, buyer_erased_at = ?";
/// An order that still holds some buyer data.
const HOLDS_DATA: &str = "(buyer_name IS NOT NULL OR buyer_email IS NOT NULL OR buyer_phone IS NOT NULL)";

/// An event past its organization's retention.
#[derive(Debug, Clone)]
pub struct PastEvent {
    pub id: EventId,
    pub org_id: OrgId,
    pub slug: String,
    /// The retention, in days after the start.
    pub days: i64,
}

impl Store {
    /// Days after an event's start that an organization keeps its buyers' personal
    /// data (`None`: until erased on request), and the time before which retention
    /// erases nothing (the grace after an upgrade; `None`: none).
    pub async fn buyer_retention(&self, org_id: OrgId) -> StoreResult<(Option<i64>, Option<DateTime<Utc>>)> {
        query_as("SELECT buyer_retention_days, buyer_retention_from FROM organizations WHERE id = ?")
            .bind(org_id)
            .fetch_one(self.pool())
            .await
    }

    /// Sets an organization's retention (`None`: never by time), in force at once.
    pub async fn set_buyer_retention(&self, tx: &mut WriteTx, org_id: OrgId, days: Option<i64>) -> StoreResult<()> {
        query("UPDATE organizations SET buyer_retention_days = ?, buyer_retention_from = NULL WHERE id = ?")
            .bind(days)
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Events whose buyers' data is past its organization's retention at `now`.
    pub async fn events_past_retention(&self, now: DateTime<Utc>) -> StoreResult<Vec<PastEvent>> {
        let rows: Vec<(EventId, OrgId, String, DateTime<Utc>, i64)> = query_as(
            "SELECT e.id, e.org_id, e.slug, e.starts_at, g.buyer_retention_days FROM events e \
             JOIN organizations g ON g.id = e.org_id WHERE g.buyer_retention_days IS NOT NULL \
             AND (g.buyer_retention_from IS NULL OR g.buyer_retention_from <= ?) ORDER BY e.id",
        )
        .bind(ts(now))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            // A start so far ahead that adding the days overflows is not past anything.
            .filter(|(_, _, _, starts, days)| {
                starts
                    .checked_add_signed(Duration::days(*days))
                    .is_some_and(|end| end <= now)
            })
            .map(|(id, org_id, slug, _, days)| PastEvent { id, org_id, slug, days })
            .collect())
    }

    /// Orders of `event` that still hold buyer data (read apart from the writer, so
    /// a large past event does not hold the write lock while it is searched).
    pub async fn orders_holding_buyer_data(&self, event_id: EventId) -> StoreResult<Vec<OrderId>> {
        query_scalar(format!("SELECT id FROM orders WHERE event_id = ? AND {HOLDS_DATA}"))
            .bind(event_id)
            .fetch_all(self.pool())
            .await
    }

    /// Erases the buyer data of these orders; returns how many still held some.
    pub async fn erase_buyer_data(&self, tx: &mut WriteTx, ids: &[OrderId], now: DateTime<Utc>) -> StoreResult<u64> {
        self.erase_ids(tx, ids, HOLDS_DATA, None, now).await
    }

    /// Erases the orders of `ids` that meet `filter` (`email` bound to its placeholder),
    /// a statement per [`CHUNK`] ids; returns how many changed.
    async fn erase_ids(
        &self,
        tx: &mut WriteTx,
        ids: &[OrderId],
        filter: &str,
        email: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut n = 0;
        for chunk in ids.chunks(CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("UPDATE orders SET {ERASE_SET} WHERE {filter} AND id IN ({marks})");
            let mut q = query(sql).bind(ts(now));
            if let Some(e) = email {
                q = q.bind(e);
            }
            for id in chunk {
                q = q.bind(*id);
            }
            n += q.execute(&mut **tx).await?.rows_affected();
        }
        Ok(n)
    }

    /// Orders of an organization bought with `email` (any case); read apart from the
    /// writer (a scan of the organization's orders).
    pub async fn orders_of_buyer(&self, org_id: OrgId, email: &str) -> StoreResult<Vec<OrderId>> {
        query_scalar(
            "SELECT o.id FROM events e JOIN orders o ON o.event_id = e.id \
             WHERE e.org_id = ? AND lower(o.buyer_email) = lower(?)",
        )
        .bind(org_id)
        .bind(email)
        .fetch_all(self.pool())
        .await
    }

    /// Erases one buyer's data from these orders (found by [`Store::orders_of_buyer`]),
    /// each still bought with `email`, and from any of the organization's orders stored
    /// since (ids above the highest found); returns how many held some.
    pub async fn forget_buyer(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        ids: &[OrderId],
        email: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut n = self
            .erase_ids(tx, ids, "lower(buyer_email) = lower(?)", Some(email), now)
            .await?;
        // Orders that arrived between the search and this transaction: a range of ids.
        let newest = ids.iter().max().map_or(0, |id| id.get());
        n += query(format!(
            "UPDATE orders SET {ERASE_SET} WHERE id > ? AND lower(buyer_email) = lower(?) \
             AND event_id IN (SELECT id FROM events WHERE org_id = ?)"
        ))
        .bind(ts(now))
        .bind(newest)
        .bind(email)
        .bind(org_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Drops the content of messages given up on before `before`, and of sent ones
    /// that still have it (sent before content was dropped on sending): body, HTML, chat
    /// payload, attachment and Reply-To (which carries a reply token). Recipient, kind,
    /// subject, Message-ID and times stay for threading, bounces and the operator's view.
    /// Returns how many were dropped.
    pub async fn scrub_outbox(&self, tx: &mut WriteTx, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64> {
        Ok(query(concat!(
            "UPDATE outbox SET ",
            scrub_set!(),
            " WHERE id IN (SELECT id FROM outbox WHERE scrubbed_at IS NULL) \
             AND (sent_at IS NOT NULL OR failed_at < ?2)"
        ))
        .bind(ts(now))
        .bind(ts(before))
        .execute(&mut **tx)
        .await?
        .rows_affected())
    }

    /// Writes the log's frames into the database file and empties the log, so content
    /// just erased is not left in old frames of `-wal`. Best effort: a reader still
    /// inside an old snapshot keeps the log until it is done. PostgreSQL has no such
    /// file to empty (its own vacuum reclaims dead rows).
    pub async fn checkpoint_truncate(&self) -> StoreResult<()> {
        self.sqlite_checkpoint_truncate().await
    }

    /// Ends a membership because its promoter left: status `revoked` with `left_at`.
    pub async fn leave_membership(&self, tx: &mut WriteTx, id: MembershipId, now: DateTime<Utc>) -> StoreResult<()> {
        tx.links_changed();
        query("UPDATE memberships SET status = 'revoked', left_at = ?1, updated_at = ?1 WHERE id = ?2")
            .bind(ts(now))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
