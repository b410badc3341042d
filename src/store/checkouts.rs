//! Which shop sells an event's tickets, the shop's ids for it, and the event a shop's
//! id names within an organization.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{EventId, OrgId, Shop};

/// An event as a shop's delivery reaches it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ShopEvent {
    pub id: EventId,
    pub slug: String,
    pub currency: String,
}

impl Store {
    /// Sets the shop of an event and the shop's ids for it (replacing the ones it had);
    /// `Ok(Err((id, slug)))` when another event of the organization already has one of
    /// them at that shop (nothing changed).
    pub async fn set_event_checkout(
        &self,
        tx: &mut WriteTx,
        event: EventId,
        shop: Shop,
        keys: &[String],
    ) -> StoreResult<Result<(), (String, String)>> {
        tx.links_changed();
        for key in keys {
            let taken: Option<String> = query_scalar(
                "SELECT o.slug FROM event_checkout_keys k JOIN events o ON o.id = k.event_id \
                 JOIN events e ON e.id = ?1 \
                 WHERE k.org_id = e.org_id AND k.checkout = ?2 AND k.key = ?3 AND k.event_id <> ?1",
            )
            .bind(event)
            .bind(shop)
            .bind(key)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(slug) = taken {
                return Ok(Err((key.clone(), slug)));
            }
        }
        query("DELETE FROM event_checkout_keys WHERE event_id = ?")
            .bind(event)
            .execute(&mut **tx)
            .await?;
        for key in keys {
            query(
                "INSERT INTO event_checkout_keys (org_id, checkout, key, event_id) \
                 SELECT org_id, ?, ?, id FROM events WHERE id = ? ON CONFLICT DO NOTHING",
            )
            .bind(shop)
            .bind(key)
            .bind(event)
            .execute(&mut **tx)
            .await?;
        }
        query("UPDATE events SET checkout = ? WHERE id = ?")
            .bind(shop)
            .bind(event)
            .execute(&mut **tx)
            .await?;
        Ok(Ok(()))
    }

    /// The shop's ids for an event.
    pub async fn event_checkout_keys(&self, event: EventId) -> StoreResult<Vec<String>> {
        query_scalar("SELECT key FROM event_checkout_keys WHERE event_id = ? ORDER BY key")
            .bind(event)
            .fetch_all(self.pool())
            .await
    }

    /// The organization's event that `key` names at `shop`.
    pub async fn event_for_shop(&self, org: OrgId, shop: Shop, key: &str) -> StoreResult<Option<ShopEvent>> {
        query_as(
            "SELECT e.id, e.slug, e.currency FROM event_checkout_keys k JOIN events e ON e.id = k.event_id \
             WHERE k.org_id = ? AND k.checkout = ? AND k.key = ? AND e.checkout = k.checkout",
        )
        .bind(org)
        .bind(shop)
        .bind(key)
        .fetch_optional(self.pool())
        .await
    }

    /// The organization's events sold at `shop`, with the shop's ids for each.
    pub async fn events_at_shop(&self, org: OrgId, shop: Shop) -> StoreResult<Vec<(ShopEvent, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            event: ShopEvent,
            key: String,
        }
        let rows: Vec<Row> = query_as(
            "SELECT e.id, e.slug, e.currency, k.key FROM event_checkout_keys k JOIN events e ON e.id = k.event_id \
             WHERE k.org_id = ? AND k.checkout = ? AND e.checkout = k.checkout ORDER BY e.id, k.key",
        )
        .bind(org)
        .bind(shop)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| (r.event, r.key)).collect())
    }

    /// The code of the link a promo code stands for at `event`: a promoter's promo code,
    /// or a code equal to one of the event's link codes.
    pub async fn link_code_for_promo(&self, event: EventId, code: &str) -> StoreResult<Option<String>> {
        let code = code.trim().to_lowercase();
        if code.is_empty() || code.len() > 100 {
            return Ok(None);
        }
        query_scalar(
            "SELECT l.code FROM promo_codes p JOIN links l ON l.id = p.link_id \
             WHERE p.event_id = ?1 AND p.code = ?2 AND p.approved_at IS NOT NULL \
             UNION ALL SELECT code FROM links WHERE event_id = ?1 AND code = ?2 LIMIT 1",
        )
        .bind(event)
        .bind(&code)
        .fetch_optional(self.pool())
        .await
    }
}

impl Store {
    /// Gives the link `link` the promo code `code` at `event` (replacing the link's
    /// code), approved or asked for; `Ok(Err(()))` when the event already has that code
    /// for another link or a link of that code (nothing changed).
    pub async fn set_promo_code(
        &self,
        tx: &mut WriteTx,
        event: EventId,
        link: crate::domain::LinkId,
        code: &str,
        approved: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Result<(), ()>> {
        let taken: Option<i64> = query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM promo_codes WHERE event_id = ?1 AND code = ?2 AND link_id <> ?3 \
             UNION ALL SELECT CAST(1 AS BIGINT) FROM links WHERE event_id = ?1 AND code = ?2 AND id <> ?3 LIMIT 1",
        )
        .bind(event)
        .bind(code)
        .bind(link)
        .fetch_optional(&mut **tx)
        .await?;
        if taken.is_some() {
            return Ok(Err(()));
        }
        query("DELETE FROM promo_codes WHERE link_id = ?")
            .bind(link)
            .execute(&mut **tx)
            .await?;
        let at = ts(now);
        query("INSERT INTO promo_codes (event_id, code, link_id, created_at, approved_at) VALUES (?, ?, ?, ?, ?)")
            .bind(event)
            .bind(code)
            .bind(link)
            .bind(at)
            .bind(approved.then_some(&at))
            .execute(&mut **tx)
            .await?;
        Ok(Ok(()))
    }

    /// Takes a link's promo code away; whether it had one.
    pub async fn remove_promo_code(&self, tx: &mut WriteTx, link: crate::domain::LinkId) -> StoreResult<bool> {
        let done = query("DELETE FROM promo_codes WHERE link_id = ?")
            .bind(link)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The promo code of a membership's main link for an event.
    pub async fn promo_code_of(
        &self,
        membership: crate::domain::MembershipId,
        event: EventId,
    ) -> StoreResult<Option<(String, bool)>> {
        query_as(
            "SELECT p.code, p.approved_at IS NOT NULL FROM promo_codes p JOIN links l ON l.id = p.link_id \
             WHERE l.membership_id = ? AND l.event_id = ? AND l.kind = 'main'",
        )
        .bind(membership)
        .bind(event)
        .fetch_optional(self.pool())
        .await
    }
}

impl Store {
    /// The event an order of `source` was stored for.
    pub async fn order_event(&self, source: &str, external_id: &str) -> StoreResult<Option<EventId>> {
        query_scalar("SELECT event_id FROM orders WHERE source = ? AND external_id = ?")
            .bind(source)
            .bind(external_id)
            .fetch_optional(self.pool())
            .await
    }
}

/// A promo code of an event as organizers list it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PromoCodeRow {
    pub code: String,
    /// The promoter's address.
    pub email: String,
    pub approved: bool,
}

impl Store {
    /// An event's promo codes with their promoters, asked-for ones first.
    pub async fn promo_codes_of_event(&self, event: EventId) -> StoreResult<Vec<PromoCodeRow>> {
        query_as(
            "SELECT p.code, pe.email, p.approved_at IS NOT NULL AS approved FROM promo_codes p \
             JOIN links l ON l.id = p.link_id JOIN memberships m ON m.id = l.membership_id \
             JOIN people pe ON pe.id = m.person_id WHERE p.event_id = ? ORDER BY approved, p.code",
        )
        .bind(event)
        .fetch_all(self.pool())
        .await
    }
}

impl Store {
    /// Whether `code` is one of the event's links that orders are attributed to (not
    /// revoked), as ingestion reads a ref.
    pub async fn is_link_of_event(&self, event: EventId, code: &str) -> StoreResult<bool> {
        let code = code.trim().to_lowercase();
        Ok(query_scalar::<i64>(
            "SELECT CAST(1 AS BIGINT) FROM links WHERE event_id = ? AND code = ? AND revoked_at IS NULL",
        )
        .bind(event)
        .bind(&code)
        .fetch_optional(self.pool())
        .await?
        .is_some())
    }
}
