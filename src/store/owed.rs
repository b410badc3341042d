//! What an organization owes its promoters, read for `payouts`, the transfer file and
//! digests and due notices: per promoter, from running totals, without crossing a row
//! per event.

use super::sql::{QueryBuilder, query_as, ts};
use super::{Store, StoreResult};
use crate::domain::commission::EventLedger;
use crate::domain::{EventId, OrgId, PersonId};
use chrono::{DateTime, Duration, Utc};

use std::collections::HashMap;

/// An event with what decides when its commissions are due.
#[derive(Debug, sqlx::FromRow)]
struct EventTerms {
    id: EventId,
    currency: String,
    starts_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    hold_days: i64,
}

impl EventTerms {
    fn due_at(&self) -> DateTime<Utc> {
        let due = self.starts_at + Duration::days(self.hold_days);
        self.cancelled_at.map_or(due, |c| c.min(due))
    }
}

/// One promoter's commissions of an organization, summed per currency and due state.
#[derive(Debug, Clone)]
pub struct PersonSummary {
    pub person_id: PersonId,
    pub email: String,
    pub display_name: Option<String>,
    /// Stand-in events whose balances are the promoter's (see `commission_summary`).
    pub ledgers: Vec<EventLedger>,
}

#[derive(Debug, sqlx::FromRow)]
struct SummaryRow {
    person_id: PersonId,
    email: String,
    display_name: Option<String>,
    due_earned: i64,
    pending_earned: i64,
    next_due: Option<DateTime<Utc>>,
    /// Paid of the events past their holding period, and of those in it (an event moved
    /// later after a payout).
    paid_due: i64,
    paid_pending: i64,
}

impl Store {
    /// What each promoter of an organization earned and was paid, per currency, split into
    /// events past their holding period at `now` and events still in it: one row per
    /// (promoter, currency, due or not) crosses from SQLite, not one per event.
    pub async fn commission_summary(
        &self,
        org_id: OrgId,
        event: Option<EventId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<PersonSummary>> {
        let events: Vec<EventTerms> = query_as(
            "SELECT e.id, e.currency, e.starts_at, e.cancelled_at, g.commission_hold_days AS hold_days \
             FROM events e JOIN organizations g ON g.id = e.org_id WHERE e.org_id = ?1 AND (?2 IS NULL OR e.id = ?2)",
        )
        .bind(org_id)
        .bind(event)
        .fetch_all(self.pool())
        .await?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut currencies: Vec<&str> = events.iter().map(|e| e.currency.as_str()).collect();
        currencies.sort_unstable();
        currencies.dedup();
        let mut out: HashMap<PersonId, PersonSummary> = HashMap::new();
        for currency in currencies {
            let of: Vec<&EventTerms> = events.iter().filter(|e| e.currency == currency).collect();
            for r in self.summary_rows(org_id, &of, now).await? {
                let p = out.entry(r.person_id).or_insert_with(|| PersonSummary {
                    person_id: r.person_id,
                    email: r.email.clone(),
                    display_name: r.display_name.clone(),
                    ledgers: Vec::new(),
                });
                let next_due = r.next_due.unwrap_or(DateTime::<Utc>::MAX_UTC);
                // Two stand-in events: the due ones, due now; the pending ones, due at the
                // earliest of their dates.
                for (due_at, earned, paid) in [
                    (now, r.due_earned, r.paid_due),
                    (next_due, r.pending_earned, r.paid_pending),
                ] {
                    p.ledgers.push(EventLedger {
                        event_id: EventId(0),
                        due_at,
                        currency: currency.to_string(),
                        earned,
                        paid,
                    });
                }
            }
        }
        let mut out: Vec<PersonSummary> = out.into_values().collect();
        out.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(out)
    }

    /// Per promoter of the organization with commissions at these events (one currency):
    /// sums of the due and the pending ones, the next due date, what was paid. Read in
    /// person order from `commission_balances`, no sort.
    async fn summary_rows(
        &self,
        org_id: OrgId,
        events: &[&EventTerms],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SummaryRow>> {
        let mut q = QueryBuilder::new("WITH ev(id, due, due_at) AS (");
        q.push_values(events, |mut b, e| {
            let due_at = e.due_at();
            b.push_bind(e.id).push_bind(due_at <= now).push_bind(ts(due_at));
        });
        q.push(
            ") SELECT s.person_id, p.email, p.display_name, s.due_earned, s.pending_earned, s.next_due, \
               CAST(coalesce((SELECT sum(CASE WHEN ev.due THEN l.amount_minor ELSE 0 END) FROM payout_lines l \
                 JOIN ev ON ev.id = l.event_id WHERE l.person_id = s.person_id), 0) AS BIGINT) AS paid_due, \
               CAST(coalesce((SELECT sum(CASE WHEN ev.due THEN 0 ELSE l.amount_minor END) FROM payout_lines l \
                 JOIN ev ON ev.id = l.event_id WHERE l.person_id = s.person_id), 0) AS BIGINT) AS paid_pending \
             FROM (SELECT b.person_id, \
                 CAST(sum(CASE WHEN ev.due THEN b.amount_minor ELSE 0 END) AS BIGINT) AS due_earned, \
                 CAST(sum(CASE WHEN ev.due THEN 0 ELSE b.amount_minor END) AS BIGINT) AS pending_earned, \
                 min(CASE WHEN NOT ev.due AND b.amount_minor <> 0 THEN ev.due_at END) AS next_due \
               FROM commission_balances b JOIN ev ON ev.id = b.event_id \
               WHERE b.person_id IN (SELECT person_id FROM memberships WHERE org_id = ",
        );
        q.push_bind(org_id);
        q.push(") GROUP BY b.person_id) s JOIN people p ON p.id = s.person_id");
        q.build_query_as().fetch_all(self.pool()).await
    }
}
