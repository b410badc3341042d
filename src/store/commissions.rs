//! Commission rules and the ledger's writes: accrual in the transaction of every order
//! change, `recompute` of an event, and the void of a cancelled event.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::commission::{Delta, Rate, Rule};
use crate::domain::{EntryKind, EventId, OrderId, OrgId, PersonId, RuleId, TicketTypeId};
use chrono::{DateTime, Utc};

/// Where a rule applies: the organization's events or one, all ticket types or one,
/// everyone or one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSlot {
    pub org_id: OrgId,
    pub event_id: Option<EventId>,
    pub ticket_type_id: Option<TicketTypeId>,
    pub person_id: Option<PersonId>,
}

/// A live rule with the names it applies to, for `commissions`.
#[derive(Debug, Clone)]
pub struct RuleView {
    pub rule: Rule,
    pub event: Option<String>,
    pub ticket_type: Option<String>,
    pub person: Option<String>,
    pub currency: Option<String>,
}

/// A rule version as stored.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct RuleRow {
    id: RuleId,
    event_id: Option<EventId>,
    ticket_type_id: Option<TicketTypeId>,
    person_id: Option<PersonId>,
    per_ticket_minor: i64,
    percent_bp: i64,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
}

pub(super) fn rule_of(r: RuleRow) -> Rule {
    Rule {
        id: r.id,
        event_id: r.event_id,
        ticket_type_id: r.ticket_type_id,
        person_id: r.person_id,
        rate: Rate {
            per_ticket_minor: r.per_ticket_minor,
            percent_bp: r.percent_bp,
        },
        valid_from: r.valid_from,
        valid_until: r.valid_until,
    }
}

/// A live rule with names.
#[derive(Debug, sqlx::FromRow)]
struct RuleViewRow {
    #[sqlx(flatten)]
    rule: RuleRow,
    slug: Option<String>,
    ticket_type: Option<String>,
    email: Option<String>,
    currency: Option<String>,
}

/// A rule version with its organization.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct OrgRuleRow {
    pub(super) org_id: OrgId,
    #[sqlx(flatten)]
    pub(super) rule: RuleRow,
}

/// The columns of a rule version, as a literal for `concat!`.
macro_rules! rule_columns {
    () => {
        "r.id, r.event_id, r.ticket_type_id, r.person_id, r.per_ticket_minor, r.percent_bp, r.valid_from, r.valid_until"
    };
}
pub(super) const RULE_COLUMNS: &str = rule_columns!();

impl Store {
    /// Every version of an organization's rules.
    pub async fn commission_rules(&self, org_id: OrgId) -> StoreResult<Vec<Rule>> {
        let rows: Vec<RuleRow> = query_as(concat!(
            "SELECT ",
            rule_columns!(),
            " FROM commission_rules r WHERE r.org_id = ? ORDER BY r.id"
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(rule_of).collect())
    }

    /// The live rules of an organization (of one event and the organization-wide ones
    /// when `event` is given), with names, most general first.
    pub async fn live_commission_rules(&self, org_id: OrgId, event: Option<EventId>) -> StoreResult<Vec<RuleView>> {
        let rows: Vec<RuleViewRow> =
            query_as(concat!(
                "SELECT ",
                rule_columns!(),
                ", e.slug, t.name AS ticket_type, p.email, e.currency FROM commission_rules r \
                 LEFT JOIN events e ON e.id = r.event_id LEFT JOIN ticket_types t ON t.id = r.ticket_type_id \
                 LEFT JOIN people p ON p.id = r.person_id \
                 WHERE r.org_id = ?1 AND r.valid_until IS NULL AND (?2 IS NULL OR r.event_id IS NULL OR r.event_id = ?2) \
                 ORDER BY r.person_id IS NOT NULL, r.event_id IS NOT NULL, r.ticket_type_id IS NOT NULL, e.slug, t.name, p.email"
            ))
            .bind(org_id)
            .bind(event)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| RuleView {
                rule: rule_of(r.rule),
                event: r.slug,
                ticket_type: r.ticket_type,
                person: r.email,
                currency: r.currency,
            })
            .collect())
    }

    /// Ends the live rule of `slot` and, with a rate, starts a new version at `now`.
    /// Returns the rate the slot had.
    pub async fn set_commission_rule(
        &self,
        tx: &mut WriteTx,
        slot: RuleSlot,
        rate: Option<Rate>,
        by: PersonId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Rate>> {
        let old: Option<(i64, i64)> = query_as(
            "UPDATE commission_rules SET valid_until = ?5 WHERE org_id = ?1 AND event_id IS NOT DISTINCT FROM ?2 \
             AND ticket_type_id IS NOT DISTINCT FROM ?3 AND person_id IS NOT DISTINCT FROM ?4 \
             AND valid_until IS NULL RETURNING per_ticket_minor, percent_bp",
        )
        .bind(slot.org_id)
        .bind(slot.event_id)
        .bind(slot.ticket_type_id)
        .bind(slot.person_id)
        .bind(ts(now))
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(rate) = rate {
            query(
                "INSERT INTO commission_rules (org_id, event_id, ticket_type_id, person_id, per_ticket_minor, \
                 percent_bp, valid_from, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(slot.org_id)
            .bind(slot.event_id)
            .bind(slot.ticket_type_id)
            .bind(slot.person_id)
            .bind(rate.per_ticket_minor)
            .bind(rate.percent_bp)
            .bind(ts(now))
            .bind(by)
            .execute(&mut **tx)
            .await?;
        }
        Ok(old.map(|(per_ticket_minor, percent_bp)| Rate {
            per_ticket_minor,
            percent_bp,
        }))
    }

    /// `(holding days, since when self-referrals earn)` of an organization.
    pub async fn commission_policy(&self, org_id: OrgId) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
        query_as("SELECT commission_hold_days, commission_self_since FROM organizations WHERE id = ?")
            .bind(org_id)
            .fetch_one(self.pool())
            .await
    }

    /// Sets the holding period and since when self-referrals earn (None: they do not).
    pub async fn set_commission_policy(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        hold_days: i64,
        self_since: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        query("UPDATE organizations SET commission_hold_days = ?, commission_self_since = ? WHERE id = ?")
            .bind(hold_days)
            .bind(self_since.map(ts))
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Starts a `recompute` of an event: orders placed before `now` earn by the rules of
    /// `now` from here on. False for a cancelled event (its ledger is closed).
    pub async fn set_commission_basis(
        &self,
        tx: &mut WriteTx,
        event: EventId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = query("UPDATE events SET commission_basis_at = ? WHERE id = ? AND cancelled_at IS NULL")
            .bind(ts(now))
            .bind(event)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The event's orders through a promoter link after order `after`, up to `limit`, by id.
    pub async fn promoter_orders_of_event(
        &self,
        event: EventId,
        after: OrderId,
        limit: i64,
    ) -> StoreResult<Vec<OrderId>> {
        query_scalar(
            "SELECT id FROM orders WHERE event_id = ? AND id > ? AND membership_id IS NOT NULL ORDER BY id LIMIT ?",
        )
        .bind(event)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// Brings these orders' ledgers to what they earn under the event's basis, as
    /// `recomputed` entries. Returns the entries written.
    pub async fn recompute_orders(
        &self,
        tx: &mut WriteTx,
        orders: &[OrderId],
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        self.accrue_orders(tx, orders, true, now).await
    }

    /// Cancels an event: for each promoter, what was earned and not paid is voided by one
    /// entry, and the event's ledger changes no more. Returns `(promoters, amount voided)`;
    /// `None` when it was cancelled before.
    pub async fn cancel_event(
        &self,
        tx: &mut WriteTx,
        event: EventId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(usize, i64)>> {
        let done = query("UPDATE events SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL")
            .bind(ts(now))
            .bind(event)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let open: Vec<(PersonId, i64)> = query_as(
            "SELECT person_id, open FROM (SELECT t.person_id, \
               CAST(sum(t.amount_minor) - coalesce((SELECT sum(p.amount_minor) FROM payout_lines p \
               WHERE p.event_id = t.event_id AND p.person_id = t.person_id), 0) AS BIGINT) AS open \
             FROM commission_totals t WHERE t.event_id = ? GROUP BY t.event_id, t.person_id) AS o \
             WHERE open > 0 ORDER BY person_id",
        )
        .bind(event)
        .fetch_all(&mut **tx)
        .await?;
        let voids: Vec<Delta> = open
            .iter()
            .map(|&(person_id, open)| Delta {
                order_id: None,
                event_id: event,
                person_id,
                ticket_type_id: TicketTypeId(0),
                rule_id: None,
                kind: EntryKind::Voided,
                tickets: 0,
                amount_minor: -open,
            })
            .collect();
        self.insert_entries(tx, &voids, now).await?;
        Ok(Some((open.len(), open.iter().map(|o| o.1).sum())))
    }
}
