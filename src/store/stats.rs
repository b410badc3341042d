//! Sales and click facts for the stats, leaderboard and digest views.

use super::{Store, StoreResult};

/// Tickets and money of one (membership, link, ticket type) cell of an event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SalesFact {
    pub membership_id: Option<i64>,
    pub link_id: Option<i64>,
    pub ticket_type: String,
    /// Tickets sold, before refunds (cancelled orders excluded).
    pub sold: i64,
    /// Tickets after refunds.
    pub tickets: i64,
    pub gross_minor: i64,
    pub net_minor: i64,
    /// Net tickets bought by the promoter themself.
    pub self_tickets: i64,
}

/// Orders of one (membership, link) of an event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderCountFact {
    pub membership_id: Option<i64>,
    pub link_id: Option<i64>,
    /// Orders with tickets left after refunds.
    pub orders: i64,
    /// Orders fully refunded.
    pub refunded: i64,
    /// Orders whose buyer is the promoter themself.
    pub self_orders: i64,
}

/// Clicks of one link of an event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClickFact {
    pub link_id: i64,
    pub clicks: i64,
    pub uniques: i64,
}

impl Store {
    /// Sales of an event, per membership, link and ticket type; one membership when given.
    pub async fn sales_facts(&self, event_id: i64, membership_id: Option<i64>) -> StoreResult<Vec<SalesFact>> {
        Ok(sqlx::query_as(
            "SELECT o.membership_id, o.link_id, t.name AS ticket_type, \
               sum(ol.quantity) AS sold, sum(ol.quantity - ol.refunded_quantity) AS tickets, \
               sum(ol.quantity * ol.unit_price_minor) AS gross_minor, \
               sum((ol.quantity - ol.refunded_quantity) * ol.unit_price_minor) AS net_minor, \
               sum(CASE WHEN o.self_referral = 1 THEN ol.quantity - ol.refunded_quantity ELSE 0 END) AS self_tickets \
             FROM orders o JOIN order_lines ol ON ol.order_id = o.id JOIN ticket_types t ON t.id = ol.ticket_type_id \
             WHERE o.event_id = ?1 AND o.status <> 'cancelled' AND (?2 IS NULL OR o.membership_id = ?2) \
             GROUP BY o.membership_id, o.link_id, t.id ORDER BY t.id",
        )
        .bind(event_id)
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Order counts of an event per membership and link; one membership when given.
    pub async fn order_counts(&self, event_id: i64, membership_id: Option<i64>) -> StoreResult<Vec<OrderCountFact>> {
        Ok(sqlx::query_as(
            "SELECT membership_id, link_id, \
               sum(CASE WHEN status IN ('paid', 'partially_refunded') THEN 1 ELSE 0 END) AS orders, \
               sum(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS refunded, \
               sum(CASE WHEN self_referral = 1 AND status IN ('paid', 'partially_refunded') THEN 1 ELSE 0 END) AS self_orders \
             FROM orders WHERE event_id = ?1 AND (?2 IS NULL OR membership_id = ?2) \
             GROUP BY membership_id, link_id",
        )
        .bind(event_id)
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Clicks per link of an event; one membership's links when given.
    pub async fn click_facts(&self, event_id: i64, membership_id: Option<i64>) -> StoreResult<Vec<ClickFact>> {
        Ok(sqlx::query_as(
            "SELECT c.link_id, sum(c.clicks) AS clicks, sum(c.uniques) AS uniques \
             FROM clicks c JOIN links l ON l.id = c.link_id \
             WHERE l.event_id = ?1 AND (?2 IS NULL OR l.membership_id = ?2) GROUP BY c.link_id",
        )
        .bind(event_id)
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }
}
