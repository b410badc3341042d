//! pretix vouchers for tracking links: which links want one, and what promoterd made.

use super::sql::{query, query_as, ts};
use super::{Store, StoreResult};
use crate::domain::{LinkId, OrgId};

/// A live link of an event sold through pretix, with the pretix event it sells in.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoucherWanted {
    pub link_id: LinkId,
    pub code: String,
    pub label: String,
    pub event_key: String,
}

/// A voucher promoterd made.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoucherRow {
    pub link_id: LinkId,
    pub event_key: String,
    pub voucher_id: i64,
    /// `live` or `disabled`.
    pub state: String,
}

impl Store {
    /// The organization's live links on events sold through pretix.
    pub async fn vouchers_wanted(&self, org: OrgId) -> StoreResult<Vec<VoucherWanted>> {
        query_as(
            "SELECT l.id AS link_id, l.code, l.label, k.key AS event_key FROM links l \
             JOIN events e ON e.id = l.event_id \
             JOIN event_checkout_keys k ON k.event_id = e.id AND k.checkout = e.checkout \
             WHERE e.org_id = ? AND e.checkout = 'pretix' AND l.revoked_at IS NULL \
             AND (l.membership_id IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.id = l.membership_id AND m.status = 'active')) \
             ORDER BY l.id, k.key",
        )
        .bind(org)
        .fetch_all(self.pool())
        .await
    }

    /// The vouchers promoterd made for the organization's links.
    pub async fn vouchers_made(&self, org: OrgId) -> StoreResult<Vec<VoucherRow>> {
        query_as(
            "SELECT v.link_id, v.event_key, v.voucher_id, v.state FROM shop_vouchers v \
             JOIN links l ON l.id = v.link_id WHERE l.org_id = ? ORDER BY v.link_id, v.event_key",
        )
        .bind(org)
        .fetch_all(self.pool())
        .await
    }

    /// Records a voucher's state.
    pub async fn save_voucher(&self, row: &VoucherRow, now: chrono::DateTime<chrono::Utc>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        tx.links_changed();
        query(
            "INSERT INTO shop_vouchers (link_id, event_key, voucher_id, state, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (link_id, event_key) DO UPDATE SET voucher_id = excluded.voucher_id, state = excluded.state, \
             updated_at = excluded.updated_at",
        )
        .bind(row.link_id)
        .bind(&row.event_key)
        .bind(row.voucher_id)
        .bind(&row.state)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
