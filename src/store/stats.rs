//! Sales and click facts for the stats, leaderboard and digest views.

use super::sql::{BothRow, query_as};
use super::{Store, StoreResult};
use crate::domain::{EventId, LinkId, MembershipId};

/// Tickets and money of one (membership, link, ticket type) cell of an event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SalesFact {
    pub membership_id: Option<MembershipId>,
    pub link_id: Option<LinkId>,
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
    pub membership_id: Option<MembershipId>,
    pub link_id: Option<LinkId>,
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
    pub link_id: LinkId,
    pub clicks: i64,
    pub uniques: i64,
}

impl Store {
    /// Runs a facts query of an event; `{membership}` becomes `AND <column> = ?2` when
    /// the facts are for one membership (so the index on it serves).
    async fn event_facts<T>(
        &self,
        sql: &str,
        column: &str,
        event_id: EventId,
        membership_id: Option<MembershipId>,
    ) -> StoreResult<Vec<T>>
    where
        T: BothRow,
    {
        let filter = match membership_id {
            Some(_) => format!("AND {column} = ?2"),
            None => "AND ?2 IS NULL".to_string(),
        };
        query_as(sql.replace("{membership}", &filter))
            .bind(event_id)
            .bind(membership_id)
            .fetch_all(self.pool())
            .await
    }

    /// Sales of an event, per membership, link and ticket type; one membership when given.
    /// Read from the running totals (migration 0006).
    pub async fn sales_facts(
        &self,
        event_id: EventId,
        membership_id: Option<MembershipId>,
    ) -> StoreResult<Vec<SalesFact>> {
        self.event_facts(
            "SELECT nullif(s.membership_id, 0) AS membership_id, nullif(s.link_id, 0) AS link_id, \
               t.name AS ticket_type, s.sold, s.tickets, s.gross_minor, s.net_minor, s.self_tickets \
             FROM sales_totals s JOIN ticket_types t ON t.id = s.ticket_type_id \
             WHERE s.event_id = ?1 {membership} AND s.lines > 0 ORDER BY s.ticket_type_id",
            "s.membership_id",
            event_id,
            membership_id,
        )
        .await
    }

    /// Order counts of an event per membership and link; one membership when given.
    pub async fn order_counts(
        &self,
        event_id: EventId,
        membership_id: Option<MembershipId>,
    ) -> StoreResult<Vec<OrderCountFact>> {
        self.event_facts(
            "SELECT nullif(membership_id, 0) AS membership_id, nullif(link_id, 0) AS link_id, orders, refunded, \
               self_orders FROM order_totals WHERE event_id = ?1 {membership} AND all_orders > 0",
            "membership_id",
            event_id,
            membership_id,
        )
        .await
    }

    /// Clicks per link of an event; one membership's links when given.
    pub async fn click_facts(
        &self,
        event_id: EventId,
        membership_id: Option<MembershipId>,
    ) -> StoreResult<Vec<ClickFact>> {
        self.event_facts(
            "SELECT c.link_id, CAST(sum(c.clicks) AS BIGINT) AS clicks, CAST(sum(c.uniques) AS BIGINT) AS uniques \
             FROM links l JOIN clicks c ON c.link_id = l.id \
             WHERE l.event_id = ?1 {membership} GROUP BY c.link_id",
            "l.membership_id",
            event_id,
            membership_id,
        )
        .await
    }
}
