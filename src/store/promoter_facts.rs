//! One promoter's facts for an event (links, sales, orders, clicks, ticket types, promo
//! code), as `mystats` reads them: on PostgreSQL in one statement, one round trip.

use super::sql::query_as;
use super::stats::{ClickFact, OrderCountFact, SalesFact};
use super::{LinkRow, Store, StoreError, StoreResult, TicketTypeRow};
use crate::domain::{EventId, LinkId, LinkKind, MembershipId, OrgId, PersonId, TicketTypeId};
use serde::de::DeserializeOwned;

/// What one promoter's report of an event is built from.
#[derive(Debug, Clone)]
pub struct PromoterFacts {
    /// The membership's links of the event, by id.
    pub links: Vec<LinkRow>,
    pub sales: Vec<SalesFact>,
    pub counts: Vec<OrderCountFact>,
    pub clicks: Vec<ClickFact>,
    /// The event's ticket types, by id.
    pub types: Vec<TicketTypeRow>,
    /// The promo code of the membership's main link, and whether it is approved.
    pub promo_code: Option<(String, bool)>,
}

/// [`Store::promoter_facts`] on PostgreSQL: the reads of the SQLite side, each folded into
/// a JSON array (as text) of its rows in the same order, all in one statement. `?1` is
/// the membership, `?2` the event.
const FACTS_SQL_PG: &str = "SELECT \
     CAST((SELECT coalesce(json_agg(json_build_array(id, code, org_id, event_id, membership_id, parent_id, kind, \
         label, sub_promoter, revoked_at IS NOT NULL, disabled_by) ORDER BY id), '[]') \
       FROM links WHERE membership_id = ?1 AND event_id = ?2) AS TEXT), \
     CAST((SELECT coalesce(json_agg(json_build_array(nullif(s.membership_id, 0), nullif(s.link_id, 0), t.name, \
         s.sold, s.tickets, s.gross_minor, s.net_minor, s.self_tickets) ORDER BY s.ticket_type_id), '[]') \
       FROM sales_totals s JOIN ticket_types t ON t.id = s.ticket_type_id \
       WHERE s.event_id = ?2 AND s.membership_id = ?1 AND s.lines > 0) AS TEXT), \
     CAST((SELECT coalesce(json_agg(json_build_array(nullif(membership_id, 0), nullif(link_id, 0), orders, refunded, \
         self_orders)), '[]') \
       FROM order_totals WHERE event_id = ?2 AND membership_id = ?1 AND all_orders > 0) AS TEXT), \
     CAST((SELECT coalesce(json_agg(json_build_array(c.link_id, c.clicks, c.uniques)), '[]') \
       FROM (SELECT c.link_id, CAST(sum(c.clicks) AS BIGINT) AS clicks, CAST(sum(c.uniques) AS BIGINT) AS uniques \
         FROM links l JOIN clicks c ON c.link_id = l.id \
         WHERE l.event_id = ?2 AND l.membership_id = ?1 GROUP BY c.link_id) c) AS TEXT), \
     CAST((SELECT coalesce(json_agg(json_build_array(id, event_id, name, price_minor) ORDER BY id), '[]') \
       FROM ticket_types WHERE event_id = ?2) AS TEXT), \
     CAST((SELECT json_build_array(p.code, p.approved_at IS NOT NULL) FROM promo_codes p JOIN links l ON l.id = p.link_id \
       WHERE l.membership_id = ?1 AND l.event_id = ?2 AND l.kind = 'main' LIMIT 1) AS TEXT)";

/// The six columns of [`FACTS_SQL_PG`].
type FactsText = (String, String, String, String, String, Option<String>);

/// A link as [`FACTS_SQL_PG`] writes it.
type LinkJson = (
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    Option<String>,
    bool,
    Option<i64>,
);

impl Store {
    /// One promoter's facts for an event. The reads are independent: on SQLite they run
    /// at once, each on its own reader; on PostgreSQL they are one statement, since each
    /// read there is a round trip and a server process to wake.
    pub async fn promoter_facts(&self, membership: MembershipId, event: EventId) -> StoreResult<PromoterFacts> {
        if self.is_postgres() {
            return self.promoter_facts_pg(membership, event).await;
        }
        let (links, sales, counts, clicks, types, promo_code) = futures::try_join!(
            self.links_of_membership(membership, event),
            self.sales_facts(event, Some(membership)),
            self.order_counts(event, Some(membership)),
            self.click_facts(event, Some(membership)),
            self.ticket_types(event),
            self.promo_code_of(membership, event),
        )?;
        Ok(PromoterFacts {
            links,
            sales,
            counts,
            clicks,
            types,
            promo_code,
        })
    }

    async fn promoter_facts_pg(&self, membership: MembershipId, event: EventId) -> StoreResult<PromoterFacts> {
        let (links, sales, counts, clicks, types, promo): FactsText = query_as(FACTS_SQL_PG)
            .bind(membership)
            .bind(event)
            .fetch_one(self.pool())
            .await?;
        let links = decode::<Vec<LinkJson>>(&links, "links")?
            .into_iter()
            .map(link_row)
            .collect::<StoreResult<_>>()?;
        type Sales = (Option<i64>, Option<i64>, String, i64, i64, i64, i64, i64);
        let sales = rows(&sales, "sales", |s: Sales| SalesFact {
            membership_id: s.0.map(MembershipId),
            link_id: s.1.map(LinkId),
            ticket_type: s.2,
            sold: s.3,
            tickets: s.4,
            gross_minor: s.5,
            net_minor: s.6,
            self_tickets: s.7,
        })?;
        type Counts = (Option<i64>, Option<i64>, i64, i64, i64);
        let counts = rows(&counts, "order counts", |c: Counts| OrderCountFact {
            membership_id: c.0.map(MembershipId),
            link_id: c.1.map(LinkId),
            orders: c.2,
            refunded: c.3,
            self_orders: c.4,
        })?;
        let clicks = rows(&clicks, "clicks", |c: (i64, i64, i64)| ClickFact {
            link_id: LinkId(c.0),
            clicks: c.1,
            uniques: c.2,
        })?;
        let types = rows(&types, "ticket types", |t: (i64, i64, String, Option<i64>)| {
            TicketTypeRow {
                id: TicketTypeId(t.0),
                event_id: EventId(t.1),
                name: t.2,
                price_minor: t.3,
            }
        })?;
        let promo_code = promo.map(|p| decode::<(String, bool)>(&p, "promo code")).transpose()?;
        Ok(PromoterFacts {
            links,
            sales,
            counts,
            clicks,
            types,
            promo_code,
        })
    }
}

/// A link row from its JSON array; a kind this version does not know is refused.
fn link_row(l: LinkJson) -> StoreResult<LinkRow> {
    Ok(LinkRow {
        id: LinkId(l.0),
        code: l.1,
        org_id: OrgId(l.2),
        event_id: EventId(l.3),
        membership_id: l.4.map(MembershipId),
        parent_id: l.5.map(LinkId),
        kind: LinkKind::from_stored(&l.6).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        label: l.7,
        sub_promoter: l.8,
        revoked: l.9,
        disabled_by: l.10.map(PersonId),
    })
}

/// The rows of a JSON array the statement wrote, each made into `R`.
fn rows<T: DeserializeOwned, R>(json: &str, what: &str, each: impl Fn(T) -> R) -> StoreResult<Vec<R>> {
    Ok(decode::<Vec<T>>(json, what)?.into_iter().map(each).collect())
}

/// A JSON value the statement wrote; anything else is refused, never defaulted.
fn decode<T: DeserializeOwned>(json: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("a promoter's {what} did not decode: {e}")))
}
