//! Sales per day for charts: each order's sale day on its organization's clock, and the
//! per-day rollup (`daily_sales`, kept by the triggers of migration 0011) read back.

use super::sql::{QueryBuilder, query_as, query_scalar};
use super::{Store, StoreError, StoreResult, WriteTx};
use crate::domain::{EventId, LinkId, MembershipId, OrderId, OrgId};
use chrono::{DateTime, NaiveDate, Utc};

use std::collections::HashMap;

/// Orders given their sale day per statement.
const CHUNK: usize = 400;

/// Net tickets of one day through one source, from the rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyRow {
    pub day: NaiveDate,
    /// `None` for the organization's links and direct sales.
    pub membership_id: Option<MembershipId>,
    /// `None` for sales through no link.
    pub link_id: Option<LinkId>,
    /// Tickets net of refunds (a refund lowers the day of its sale).
    pub tickets: i64,
}

/// Where a folded day's tickets came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaySource {
    /// One of the top promoters.
    Promoter(MembershipId),
    /// Every other promoter, together.
    OtherPromoters,
    /// The organization's own links.
    OrganizationLinks,
    /// No link at all.
    Direct,
}

/// An organizer's chart's days: (day, source, net tickets), and how many promoters the
/// [`DaySource::OtherPromoters`] rows sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedDays {
    pub rows: Vec<(NaiveDate, DaySource, i64)>,
    pub other_promoters: usize,
}

/// The day of `t` on the clock of `tz`, as stored.
pub(super) fn sale_day(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).date_naive().format("%Y-%m-%d").to_string()
}

/// A stored time zone, read strictly.
pub(super) fn zone(name: &str) -> StoreResult<chrono_tz::Tz> {
    name.parse()
        .map_err(|_| StoreError::Corrupt(format!("organization time zone `{name}`")))
}

impl Store {
    /// The time zone of each event's organization (each event bound once: an import of
    /// 100,000 orders names a handful).
    pub(super) async fn event_zones(
        &self,
        tx: &mut WriteTx,
        events: impl Iterator<Item = EventId>,
    ) -> StoreResult<HashMap<EventId, chrono_tz::Tz>> {
        let mut q = QueryBuilder::new(
            "SELECT e.id, g.time_zone FROM events e JOIN organizations g ON g.id = e.org_id WHERE e.id IN (",
        );
        // A batch names few events, however many orders it holds.
        let events: std::collections::BTreeSet<EventId> = events.collect();
        if events.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sep = q.separated(", ");
        for e in events {
            sep.push_bind(e);
        }
        q.push(")");
        let rows: Vec<(EventId, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
        rows.into_iter().map(|(e, name)| Ok((e, zone(&name)?))).collect()
    }

    /// Gives every order stored before sale days existed its day (once, after the
    /// migration that added them); the triggers file each into the rollup. Returns how
    /// many orders it dated.
    pub async fn fill_sale_days(&self) -> StoreResult<usize> {
        let mut done = 0;
        loop {
            let mut tx = self.write().await?;
            let rows: Vec<(OrderId, DateTime<Utc>, String)> = query_as(
                "SELECT o.id, o.ordered_at, g.time_zone FROM orders o JOIN events e ON e.id = o.event_id \
                 JOIN organizations g ON g.id = e.org_id WHERE o.sale_day IS NULL ORDER BY o.id LIMIT ?",
            )
            .bind(CHUNK as i64 * 10)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                tx.rollback().await?;
                return Ok(done);
            }
            let mut days = Vec::with_capacity(rows.len());
            for (id, at, tz) in &rows {
                days.push((*id, sale_day(*at, zone(tz)?)));
            }
            self.set_sale_days(&mut tx, &days).await?;
            tx.commit().await?;
            done += rows.len();
        }
    }

    /// Moves every order of an organization to its sale day in `tz` (after a change of
    /// the organization's time zone), in the caller's transaction.
    pub(super) async fn redate_orders_of(&self, tx: &mut WriteTx, org_id: OrgId, tz: chrono_tz::Tz) -> StoreResult<()> {
        let rows: Vec<(OrderId, DateTime<Utc>)> =
            query_as("SELECT o.id, o.ordered_at FROM orders o JOIN events e ON e.id = o.event_id WHERE e.org_id = ?")
                .bind(org_id)
                .fetch_all(&mut **tx)
                .await?;
        let days: Vec<(OrderId, String)> = rows.into_iter().map(|(id, at)| (id, sale_day(at, tz))).collect();
        self.set_sale_days(tx, &days).await
    }

    async fn set_sale_days(&self, tx: &mut WriteTx, days: &[(OrderId, String)]) -> StoreResult<()> {
        for chunk in days.chunks(CHUNK) {
            let mut q = QueryBuilder::new("UPDATE orders SET sale_day = v.column2 FROM (");
            q.push_values(chunk, |mut b, (id, day)| {
                b.push_bind(*id).push_bind(day);
            });
            q.push(") AS v WHERE orders.id = v.column1 AND orders.sale_day IS DISTINCT FROM v.column2");
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The rollup of an event from `first` to `last` as an organizer's chart draws it:
    /// the `top` promoters with the most tickets in those days each on their own (ties:
    /// the earlier membership), every other promoter summed per day, the organization's
    /// links and direct sales apart. A few hundred rows, whatever the number of promoters.
    pub async fn daily_sales_folded(
        &self,
        event_id: EventId,
        first: NaiveDate,
        last: NaiveDate,
        top: usize,
    ) -> StoreResult<FoldedDays> {
        let (first, last) = (
            first.format("%Y-%m-%d").to_string(),
            last.format("%Y-%m-%d").to_string(),
        );
        let rows: Vec<(String, i64, i64, i64)> = query_as(
            "WITH span AS (SELECT day, membership_id, link_id, tickets FROM daily_sales \
               WHERE event_id = ?1 AND day >= ?2 AND day <= ?3 AND tickets <> 0), \
             top AS (SELECT membership_id FROM span WHERE membership_id <> 0 GROUP BY membership_id \
               ORDER BY sum(tickets) DESC, membership_id LIMIT ?4) \
             SELECT day, CASE WHEN membership_id = 0 OR membership_id IN (SELECT membership_id FROM top) \
                         THEN membership_id ELSE -1 END AS who, \
                    CAST(CASE WHEN membership_id = 0 AND link_id <> 0 THEN 1 ELSE 0 END AS BIGINT) AS via_link, \
                    CAST(sum(tickets) AS BIGINT) \
             FROM span GROUP BY day, who, via_link ORDER BY day, who, via_link",
        )
        .bind(event_id)
        .bind(&first)
        .bind(&last)
        .bind(top as i64)
        .fetch_all(self.pool())
        .await?;
        let promoters: i64 = query_scalar(
            "SELECT count(DISTINCT membership_id) FROM daily_sales \
             WHERE event_id = ?1 AND day >= ?2 AND day <= ?3 AND tickets <> 0 AND membership_id <> 0",
        )
        .bind(event_id)
        .bind(&first)
        .bind(&last)
        .fetch_one(self.pool())
        .await?;
        let mut out = FoldedDays {
            rows: Vec::with_capacity(rows.len()),
            other_promoters: usize::try_from(promoters).unwrap_or(0).saturating_sub(top),
        };
        for (day, who, via_link, tickets) in rows {
            let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(format!("sale day `{day}`: {e}")))?;
            let source = match (who, via_link) {
                (-1, _) => DaySource::OtherPromoters,
                (0, 1) => DaySource::OrganizationLinks,
                (0, _) => DaySource::Direct,
                (m, _) => DaySource::Promoter(MembershipId(m)),
            };
            out.rows.push((day, source, tickets));
        }
        Ok(out)
    }

    /// The rollup rows of an event from `first` to `last` (days included), of one
    /// membership or of everyone.
    pub async fn daily_sales(
        &self,
        event_id: EventId,
        membership: Option<MembershipId>,
        first: NaiveDate,
        last: NaiveDate,
    ) -> StoreResult<Vec<DailyRow>> {
        let rows: Vec<(String, i64, i64, i64)> = query_as(
            "SELECT day, membership_id, link_id, tickets FROM daily_sales \
             WHERE event_id = ?1 AND day >= ?2 AND day <= ?3 AND (?4 IS NULL OR membership_id = ?4) AND tickets <> 0 \
             ORDER BY day, membership_id, link_id",
        )
        .bind(event_id)
        .bind(first.format("%Y-%m-%d").to_string())
        .bind(last.format("%Y-%m-%d").to_string())
        .bind(membership)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(day, m, l, tickets)| {
                let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("sale day `{day}`: {e}")))?;
                Ok(DailyRow {
                    day,
                    membership_id: (m != 0).then_some(MembershipId(m)),
                    link_id: (l != 0).then_some(LinkId(l)),
                    tickets,
                })
            })
            .collect()
    }
}
