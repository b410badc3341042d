//! Reading the commission ledger (balances per event, earnings by ticket type, one order's
//! entries, the detail file) and recording payouts, each once per reference.

use super::sql::{QueryBuilder, query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::commission::EventLedger;
use crate::domain::{EntryKind, EventId, MembershipId, OrgId, PayoutId, PersonId};
use chrono::{DateTime, Duration, Utc};

/// One person's ledger of one event, with what it takes to show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRow {
    pub person_id: PersonId,
    pub email: String,
    pub display_name: Option<String>,
    pub event_id: EventId,
    pub slug: String,
    pub name: String,
    pub currency: String,
    pub starts_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub hold_days: i64,
    pub earned: i64,
    pub paid: i64,
}

impl LedgerRow {
    /// The end of the holding period (a cancelled event is settled at once).
    pub fn due_at(&self) -> DateTime<Utc> {
        let due = self.starts_at + Duration::days(self.hold_days);
        self.cancelled_at.map_or(due, |c| c.min(due))
    }

    pub fn ledger(&self) -> EventLedger {
        EventLedger {
            event_id: self.event_id,
            due_at: self.due_at(),
            currency: self.currency.clone(),
            earned: self.earned,
            paid: self.paid,
        }
    }
}

/// A payout as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayoutRow {
    pub id: PayoutId,
    pub person_id: PersonId,
    pub currency: String,
    pub amount_minor: i64,
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

/// What recording a payout did.
#[derive(Debug, Clone)]
pub enum Recorded {
    New(PayoutId),
    /// A payout with that reference was recorded before: nothing was paid again.
    Before(PayoutRow),
}

/// One ledger entry of one of a person's orders, for `why`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WhyRow {
    pub external_id: String,
    pub event_slug: String,
    pub currency: String,
    pub ticket_type: Option<String>,
    pub kind: EntryKind,
    pub tickets: i64,
    pub amount_minor: i64,
    pub created_at: DateTime<Utc>,
    pub per_ticket_minor: Option<i64>,
    pub percent_bp: Option<i64>,
    pub rule_event: Option<String>,
    pub rule_ticket_type: Option<String>,
    pub rule_for_person: Option<bool>,
    pub rule_from: Option<DateTime<Utc>>,
    pub event_cancelled: bool,
}

/// One line of the payout file's detail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DetailRow {
    pub id: i64,
    pub email: String,
    pub display_name: Option<String>,
    pub event_slug: String,
    pub external_id: Option<String>,
    pub ticket_type: Option<String>,
    pub kind: EntryKind,
    pub tickets: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

/// One person's ledger per event of an organization (`?1`), read through their rows only.
const LEDGER_OF_PERSON: &str = "SELECT x.person_id, pe.email, pe.display_name, e.id AS event_id, e.slug, e.name, \
       e.currency, e.starts_at, e.cancelled_at, g.commission_hold_days AS hold_days, \
       CAST(sum(x.earned) AS BIGINT) AS earned, CAST(sum(x.paid) AS BIGINT) AS paid FROM (\
     SELECT t.person_id, t.event_id, t.amount_minor AS earned, 0 AS paid FROM commission_totals t \
       WHERE t.person_id = ?2 \
     UNION ALL SELECT p.person_id, p.event_id, 0, p.amount_minor FROM payout_lines p WHERE p.person_id = ?2) x \
     JOIN events e ON e.id = x.event_id JOIN organizations g ON g.id = e.org_id JOIN people pe ON pe.id = x.person_id \
     WHERE e.org_id = ?1 GROUP BY x.person_id, e.id, pe.id, g.id ORDER BY e.starts_at, e.id";

impl Store {
    /// One person's ledger per event of an organization: earned and paid, read through
    /// their own rows only.
    pub async fn commission_ledgers(&self, org_id: OrgId, person: PersonId) -> StoreResult<Vec<LedgerRow>> {
        query_as(LEDGER_OF_PERSON)
            .bind(org_id)
            .bind(person)
            .fetch_all(self.pool())
            .await
    }

    /// One person's, inside a write transaction (a payout decides on what it reads).
    pub async fn commission_ledgers_tx(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        person: PersonId,
    ) -> StoreResult<Vec<LedgerRow>> {
        query_as(LEDGER_OF_PERSON)
            .bind(org_id)
            .bind(person)
            .fetch_all(&mut **tx)
            .await
    }

    /// Records a payout and its split over events, once per (organization, person,
    /// reference).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_payout(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        person_id: PersonId,
        currency: &str,
        lines: &[(EventId, i64)],
        reference: &str,
        by: PersonId,
        now: DateTime<Utc>,
    ) -> StoreResult<Recorded> {
        if let Some(before) = self.payout_by_reference(tx, org_id, person_id, reference).await? {
            return Ok(Recorded::Before(before));
        }
        let amount: i64 = lines.iter().map(|l| l.1).sum();
        let id: PayoutId = query_scalar(
            "INSERT INTO payouts (org_id, person_id, currency, amount_minor, reference, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(currency)
        .bind(amount)
        .bind(reference)
        .bind(by)
        .bind(ts(now))
        .fetch_one(&mut **tx)
        .await?;
        let mut q = QueryBuilder::new("INSERT INTO payout_lines (payout_id, person_id, event_id, amount_minor) ");
        q.push_values(lines, |mut b, (event, amount)| {
            b.push_bind(id)
                .push_bind(person_id)
                .push_bind(*event)
                .push_bind(*amount);
        });
        q.build().execute(&mut **tx).await?;
        Ok(Recorded::New(id))
    }

    /// The payout recorded with this reference, if any.
    pub async fn payout_by_reference(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        person_id: PersonId,
        reference: &str,
    ) -> StoreResult<Option<PayoutRow>> {
        query_as(
            "SELECT id, person_id, currency, amount_minor, reference, created_at FROM payouts \
             WHERE org_id = ? AND person_id = ? AND reference = ?",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(reference)
        .fetch_optional(&mut **tx)
        .await
    }

    /// How many payouts a person has had from an organization (for the next reference).
    pub async fn payout_count(&self, tx: &mut WriteTx, org_id: OrgId, person_id: PersonId) -> StoreResult<i64> {
        query_scalar("SELECT count(*) FROM payouts WHERE org_id = ? AND person_id = ?")
            .bind(org_id)
            .bind(person_id)
            .fetch_one(&mut **tx)
            .await
    }

    /// The events a person has commissions at (any organization).
    pub async fn events_with_commissions_of(&self, person: PersonId) -> StoreResult<Vec<EventId>> {
        query_scalar("SELECT event_id FROM commission_balances WHERE person_id = ? ORDER BY event_id")
            .bind(person)
            .fetch_all(self.pool())
            .await
    }

    /// Whether a person was ever invited to promote for an organization.
    pub async fn ever_promoted_for(&self, org_id: OrgId, person: PersonId) -> StoreResult<bool> {
        Ok(
            query_scalar::<i64>("SELECT count(*) FROM memberships WHERE org_id = ? AND person_id = ?")
                .bind(org_id)
                .bind(person)
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    /// How many payouts each person has had from an organization.
    pub async fn payout_counts(&self, org_id: OrgId) -> StoreResult<std::collections::HashMap<PersonId, i64>> {
        let rows: Vec<(PersonId, i64)> =
            query_as("SELECT person_id, count(*) FROM payouts WHERE org_id = ? GROUP BY person_id")
                .bind(org_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// A person's latest payouts from an organization, newest first.
    pub async fn payouts_of(&self, org_id: OrgId, person_id: PersonId, limit: i64) -> StoreResult<Vec<PayoutRow>> {
        query_as(
            "SELECT id, person_id, currency, amount_minor, reference, created_at FROM payouts \
             WHERE org_id = ? AND person_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// A person's earnings of an event per ticket type: (name, earned, taken back, net).
    pub async fn earnings_by_type(
        &self,
        event: EventId,
        person: PersonId,
    ) -> StoreResult<Vec<(String, i64, i64, i64)>> {
        query_as(
            "SELECT coalesce(tt.name, '(event cancelled)'), t.earned_minor, t.reversed_minor, t.amount_minor \
             FROM commission_totals t LEFT JOIN ticket_types tt ON tt.id = t.ticket_type_id \
             WHERE t.event_id = ? AND t.person_id = ? ORDER BY t.ticket_type_id = 0, tt.id",
        )
        .bind(event)
        .bind(person)
        .fetch_all(self.pool())
        .await
    }

    /// The ledger entries of a person's orders with this shop order id in an organization.
    pub async fn why_order(
        &self,
        org_id: OrgId,
        person: PersonId,
        only: Option<MembershipId>,
        external_id: &str,
    ) -> StoreResult<Vec<WhyRow>> {
        query_as(
            "SELECT o.external_id, e.slug AS event_slug, e.currency, tt.name AS ticket_type, c.kind, c.tickets, \
               c.amount_minor, c.created_at, r.per_ticket_minor, r.percent_bp, re.slug AS rule_event, \
               rt.name AS rule_ticket_type, r.person_id IS NOT NULL AS rule_for_person, r.valid_from AS rule_from, \
               e.cancelled_at IS NOT NULL AS event_cancelled \
             FROM orders o JOIN events e ON e.id = o.event_id \
             JOIN commission_entries c ON c.order_id = o.id AND c.person_id = ?2 \
             LEFT JOIN ticket_types tt ON tt.id = c.ticket_type_id LEFT JOIN commission_rules r ON r.id = c.rule_id \
             LEFT JOIN events re ON re.id = r.event_id LEFT JOIN ticket_types rt ON rt.id = r.ticket_type_id \
             WHERE o.membership_id IN (SELECT id FROM memberships WHERE org_id = ?1 AND person_id = ?2) \
               AND (?4 IS NULL OR o.membership_id = ?4) AND o.external_id = ?3 ORDER BY o.id, c.id",
        )
        .bind(org_id)
        .bind(person)
        .bind(external_id)
        .bind(only)
        .fetch_all(self.pool())
        .await
    }

    /// Whether a person has an order with this shop order id through their links in an
    /// organization (earning or not).
    pub async fn has_referred_order(
        &self,
        org_id: OrgId,
        person: PersonId,
        only: Option<MembershipId>,
        external_id: &str,
    ) -> StoreResult<bool> {
        Ok(query_scalar::<i64>(
            "SELECT count(*) FROM orders o WHERE o.membership_id IN \
               (SELECT id FROM memberships WHERE org_id = ?1 AND person_id = ?2) AND (?4 IS NULL OR o.membership_id = ?4) \
               AND o.external_id = ?3",
        )
        .bind(org_id)
        .bind(person)
        .bind(external_id)
        .bind(only)
        .fetch_one(self.pool())
        .await?
            > 0)
    }

    /// A page of an event's ledger entries after entry `after`, for the payout file's detail.
    pub async fn commission_detail(&self, event: EventId, after: i64, limit: i64) -> StoreResult<Vec<DetailRow>> {
        query_as(
            "SELECT c.id, p.email, p.display_name, e.slug AS event_slug, o.external_id, tt.name AS ticket_type, c.kind, \
               c.tickets, c.amount_minor, e.currency, c.created_at \
             FROM commission_entries c JOIN events e ON e.id = c.event_id JOIN people p ON p.id = c.person_id \
             LEFT JOIN orders o ON o.id = c.order_id LEFT JOIN ticket_types tt ON tt.id = c.ticket_type_id \
             WHERE c.event_id = ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3",
        )
        .bind(event)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// Events not cancelled whose organizers were not told yet that commissions are due,
    /// with some commission: `(event, organization, starts_at, holding days)`.
    pub async fn events_with_unannounced_commissions(&self) -> StoreResult<Vec<(EventId, OrgId, DateTime<Utc>, i64)>> {
        query_as(
            "SELECT e.id, e.org_id, e.starts_at, g.commission_hold_days FROM events e \
             JOIN organizations g ON g.id = e.org_id \
             WHERE e.commission_due_notified_at IS NULL AND e.cancelled_at IS NULL \
               AND EXISTS (SELECT 1 FROM commission_totals t WHERE t.event_id = e.id AND t.amount_minor <> 0)",
        )
        .fetch_all(self.pool())
        .await
    }

    /// Marks an event's due notice sent; false when another pass did first.
    pub async fn mark_commissions_announced(
        &self,
        tx: &mut WriteTx,
        event: EventId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = query(
            "UPDATE events SET commission_due_notified_at = ? WHERE id = ? AND commission_due_notified_at IS NULL",
        )
        .bind(ts(now))
        .bind(event)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
