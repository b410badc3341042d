//! The ledger's writes on every order change: a group commit's new orders from what is in
//! hand, later states of orders from what is stored, and the running totals with them.

use super::commissions::{OrgRuleRow, RULE_COLUMNS, rule_of};
use super::order_batch::NewSale;
use super::sql::{Bind, QueryBuilder, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::commission::{self, Delta, Rule, Sale};
use crate::domain::{EventId, MembershipId, OrderId, OrderStatus, OrgId, PersonId, TicketTypeId};
use chrono::{DateTime, Utc};

use std::collections::HashMap;

/// Orders per statement of the accrual (bound parameters stay well under the limit).
pub(super) const CHUNK: usize = 400;

/// Rule versions by organization.
type Rules = HashMap<OrgId, Vec<Rule>>;

/// What `Store::rules_of` is given the ids of.
#[derive(Debug, Clone, Copy)]
enum RulesOf {
    Orders,
    Events,
}

/// What the accrual needs to know of an event.
#[derive(Debug, sqlx::FromRow)]
struct EventFacts {
    event_id: EventId,
    org_id: OrgId,
    cancelled: bool,
    basis_at: Option<DateTime<Utc>>,
    self_since: Option<DateTime<Utc>>,
}

/// A new order as commissions see it: net tickets and amount per ticket type, whether it
/// earns, and the moment whose rules apply.
fn new_sale(s: &NewSale<'_>, f: &EventFacts, person_id: PersonId) -> StoreResult<Sale> {
    let o = s.order;
    // As stored: whole seconds, so a later accrual of the same order agrees.
    let placed = DateTime::from_timestamp(o.ordered_at.timestamp(), 0).unwrap_or(o.ordered_at);
    let basis = f.basis_at.map_or(placed, |b| b.max(placed));
    let refund_all = matches!(o.status, OrderStatus::Refunded | OrderStatus::Cancelled);
    let mut types: Vec<(TicketTypeId, i64, i64)> = Vec::new();
    for l in &o.lines {
        let Some(&tt) = s.types.get(&(o.event_id, l.ticket_type.to_ascii_lowercase())) else {
            return Err(super::StoreError::Corrupt(format!(
                "order `{}` lost a ticket type",
                o.external_id
            )));
        };
        let (net, amount) = if refund_all {
            (0, 0)
        } else {
            (l.quantity - l.refunded_quantity, l.net_minor())
        };
        match types.iter_mut().find(|t| t.0 == tt) {
            Some(t) => {
                t.1 += net;
                t.2 += amount;
            }
            None => types.push((tt, net, amount)),
        }
    }
    Ok(Sale {
        order_id: s.order_id,
        event_id: o.event_id,
        person_id,
        earns: o.status != OrderStatus::Cancelled
            && (!s.self_referral || f.self_since.is_some_and(|since| basis >= since)),
        basis,
        types,
    })
}

impl Store {
    /// Brings the ledger of these orders to what they earn now (see
    /// [`commission::deltas`]); called in the transaction of every order change, so a
    /// refund before payout lowers what is owed and one after becomes a clawback.
    /// Returns the entries written. Orders of organizations without rules cost one query.
    pub async fn accrue_commissions(
        &self,
        tx: &mut WriteTx,
        orders: &[OrderId],
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        self.accrue_orders(tx, orders, false, now).await
    }

    /// [`Store::accrue_commissions`], the entries marked `recomputed` when `recompute`.
    pub(super) async fn accrue_orders(
        &self,
        tx: &mut WriteTx,
        orders: &[OrderId],
        recompute: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let mut written = 0;
        for chunk in orders.chunks(CHUNK) {
            written += self.accrue_chunk(tx, chunk, recompute, now).await?;
        }
        Ok(written)
    }

    async fn accrue_chunk(
        &self,
        tx: &mut WriteTx,
        orders: &[OrderId],
        recompute: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let rules = self.rules_of(tx, RulesOf::Orders, orders.iter().copied()).await?;
        if rules.is_empty() {
            return Ok(0); // no rule ever: no order of theirs has an entry either
        }
        let mut q = QueryBuilder::new(
            "SELECT o.id, o.event_id, e.org_id, m.person_id, o.status, o.self_referral, g.commission_self_since, \
               o.ordered_at, e.commission_basis_at, l.ticket_type_id, \
               CAST(sum(l.quantity - l.refunded_quantity) AS BIGINT), \
               CAST(sum((l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor) AS BIGINT) \
             FROM orders o JOIN events e ON e.id = o.event_id JOIN organizations g ON g.id = e.org_id \
             JOIN memberships m ON m.id = o.membership_id LEFT JOIN order_lines l ON l.order_id = o.id \
             WHERE e.cancelled_at IS NULL AND o.id IN (",
        );
        push_ids(&mut q, orders.iter().copied());
        q.push(") GROUP BY o.id, e.id, g.id, m.id, l.ticket_type_id ORDER BY o.id");
        #[allow(clippy::type_complexity)]
        let lines: Vec<(
            OrderId,
            EventId,
            OrgId,
            PersonId,
            OrderStatus,
            bool,
            Option<DateTime<Utc>>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<TicketTypeId>,
            Option<i64>,
            Option<i64>,
        )> = q.build_query_as().fetch_all(&mut **tx).await?;
        let booked = self.booked(tx, orders).await?;
        let mut sales: Vec<(OrgId, Sale)> = Vec::new();
        for l in lines {
            if sales.last().is_none_or(|(_, s)| s.order_id != l.0) {
                let basis = l.8.map_or(l.7, |b| b.max(l.7));
                // A self-referral earns when that was allowed at its time; one that
                // earned keeps earning (what is left of it) after the setting changes.
                let self_ok = !l.5 || booked.contains_key(&l.0) || l.6.is_some_and(|since| basis >= since);
                sales.push((
                    l.2,
                    Sale {
                        order_id: l.0,
                        event_id: l.1,
                        person_id: l.3,
                        earns: l.4 != OrderStatus::Cancelled && self_ok,
                        basis,
                        types: Vec::new(),
                    },
                ));
            }
            if let (Some(tt), Some(n), Some(net)) = (l.9, l.10, l.11) {
                sales.last_mut().expect("pushed above").1.types.push((tt, n, net));
            }
        }
        let none = Vec::new();
        let deltas: Vec<Delta> = sales
            .iter()
            .flat_map(|(org, s)| {
                let r = rules.get(org).unwrap_or(&none);
                commission::deltas(s, booked.get(&s.order_id).map_or(&[][..], |b| b), r, recompute)
            })
            .collect();
        self.insert_entries(tx, &deltas, now).await?;
        Ok(deltas.len())
    }

    /// Every rule version of the organizations of these orders (by order ids) or events.
    async fn rules_of<T>(&self, tx: &mut WriteTx, of: RulesOf, ids: impl IntoIterator<Item = T>) -> StoreResult<Rules>
    where
        T: Ord + Copy + Bind,
    {
        let orgs = match of {
            RulesOf::Orders => "SELECT e.org_id FROM orders o JOIN events e ON e.id = o.event_id WHERE o.id IN (",
            RulesOf::Events => "SELECT org_id FROM events WHERE id IN (",
        };
        let mut q = QueryBuilder::new(format!(
            "SELECT r.org_id, {RULE_COLUMNS} FROM commission_rules r WHERE r.org_id IN ({orgs}"
        ));
        push_ids(&mut q, ids);
        q.push("))");
        let rows: Vec<OrgRuleRow> = q.build_query_as().fetch_all(&mut **tx).await?;
        let mut rules: Rules = HashMap::new();
        for r in rows {
            rules.entry(r.org_id).or_default().push(rule_of(r.rule));
        }
        Ok(rules)
    }

    /// What the ledger holds per order and ticket type.
    async fn booked(
        &self,
        tx: &mut WriteTx,
        orders: &[OrderId],
    ) -> StoreResult<HashMap<OrderId, Vec<(TicketTypeId, i64)>>> {
        let mut q = QueryBuilder::new(
            "SELECT order_id, ticket_type_id, CAST(sum(amount_minor) AS BIGINT) FROM commission_entries \
             WHERE order_id IN (",
        );
        push_ids(&mut q, orders.iter().copied());
        q.push(") GROUP BY 1, 2");
        let booked_rows: Vec<(OrderId, TicketTypeId, i64)> = q.build_query_as().fetch_all(&mut **tx).await?;
        let mut booked: HashMap<OrderId, Vec<(TicketTypeId, i64)>> = HashMap::new();
        for (o, t, a) in booked_rows {
            booked.entry(o).or_default().push((t, a));
        }
        Ok(booked)
    }

    /// The accrual of orders just inserted (a group-commit batch): what they earn comes
    /// from the orders in hand, with three small reads per batch (the organizations'
    /// rules, their events, the promoters; only the first when there is no rule) and
    /// nothing per order but its entries.
    pub(super) async fn accrue_new_orders(
        &self,
        tx: &mut WriteTx,
        sales: &[super::order_batch::NewSale<'_>],
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        if sales.is_empty() {
            return Ok(0);
        }
        // Rules first: an organization without any costs the batch this one query.
        let rules = self
            .rules_of(tx, RulesOf::Events, sales.iter().map(|s| s.order.event_id))
            .await?;
        if rules.is_empty() {
            return Ok(0);
        }
        let facts = self
            .commission_event_facts(tx, sales.iter().map(|s| s.order.event_id))
            .await?;
        let persons = self.persons_of(tx, sales.iter().map(|s| s.membership)).await?;
        let mut deltas = Vec::new();
        for s in sales {
            let (Some(f), Some(&person_id)) = (facts.get(&s.order.event_id), persons.get(&s.membership)) else {
                return Err(super::StoreError::Corrupt(format!(
                    "order `{}` lost its event or promoter",
                    s.order.external_id
                )));
            };
            let Some(org_rules) = rules.get(&f.org_id).filter(|_| !f.cancelled) else {
                continue;
            };
            deltas.extend(commission::deltas(&new_sale(s, f, person_id)?, &[], org_rules, false));
        }
        self.insert_entries(tx, &deltas, now).await?;
        Ok(deltas.len())
    }

    pub(super) async fn insert_entries(
        &self,
        tx: &mut WriteTx,
        deltas: &[Delta],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = ts(now);
        for chunk in deltas.chunks(CHUNK) {
            let mut q = QueryBuilder::new(
                "INSERT INTO commission_entries (event_id, person_id, order_id, ticket_type_id, rule_id, kind, tickets, \
                 amount_minor, created_at) ",
            );
            q.push_values(chunk, |mut b, d| {
                b.push_bind(d.event_id)
                    .push_bind(d.person_id)
                    .push_bind(d.order_id)
                    .push_bind(d.ticket_type_id)
                    .push_bind(d.rule_id)
                    .push_bind(d.kind)
                    .push_bind(d.tickets)
                    .push_bind(d.amount_minor)
                    .push_bind(now);
            });
            q.build().execute(&mut **tx).await?;
        }
        // The running totals, one row per (event, person, ticket type) of the batch.
        let mut sums: HashMap<(EventId, PersonId, TicketTypeId), (i64, i64, i64)> = HashMap::new();
        for d in deltas {
            let t = sums.entry((d.event_id, d.person_id, d.ticket_type_id)).or_default();
            *t = (
                t.0 + d.amount_minor,
                t.1 + d.amount_minor.max(0),
                t.2 + d.amount_minor.min(0),
            );
        }
        let totals: Vec<_> = sums.into_iter().collect();
        for chunk in totals.chunks(CHUNK) {
            let mut q = QueryBuilder::new(
                "INSERT INTO commission_totals (event_id, person_id, ticket_type_id, amount_minor, earned_minor, \
                 reversed_minor) ",
            );
            q.push_values(chunk, |mut b, ((e, p, t), (a, earned, reversed))| {
                b.push_bind(*e)
                    .push_bind(*p)
                    .push_bind(*t)
                    .push_bind(*a)
                    .push_bind(*earned)
                    .push_bind(*reversed);
            });
            q.push(
                " ON CONFLICT (event_id, person_id, ticket_type_id) DO UPDATE SET \
                 amount_minor = commission_totals.amount_minor + excluded.amount_minor, \
                 earned_minor = commission_totals.earned_minor + excluded.earned_minor, \
                 reversed_minor = commission_totals.reversed_minor + excluded.reversed_minor",
            );
            q.build().execute(&mut **tx).await?;
        }
        let mut per_event: HashMap<(PersonId, EventId), i64> = HashMap::new();
        for d in deltas {
            *per_event.entry((d.person_id, d.event_id)).or_default() += d.amount_minor;
        }
        let per_event: Vec<_> = per_event.into_iter().collect();
        for chunk in per_event.chunks(CHUNK) {
            let mut q = QueryBuilder::new("INSERT INTO commission_balances (person_id, event_id, amount_minor) ");
            q.push_values(chunk, |mut b, ((p, e), a)| {
                b.push_bind(*p).push_bind(*e).push_bind(*a);
            });
            q.push(
                " ON CONFLICT (person_id, event_id) DO UPDATE SET \
                 amount_minor = commission_balances.amount_minor + excluded.amount_minor",
            );
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Organization, state and commission settings of these events.
    async fn commission_event_facts(
        &self,
        tx: &mut WriteTx,
        events: impl Iterator<Item = EventId>,
    ) -> StoreResult<HashMap<EventId, EventFacts>> {
        let mut q = QueryBuilder::new(
            "SELECT e.id AS event_id, e.org_id, e.cancelled_at IS NOT NULL AS cancelled, e.commission_basis_at AS basis_at, \
               g.commission_self_since AS self_since FROM events e JOIN organizations g ON g.id = e.org_id WHERE e.id IN (",
        );
        push_ids(&mut q, events);
        q.push(")");
        let rows: Vec<EventFacts> = q.build_query_as().fetch_all(&mut **tx).await?;
        Ok(rows.into_iter().map(|f| (f.event_id, f)).collect())
    }

    /// The person behind each of these memberships.
    async fn persons_of(
        &self,
        tx: &mut WriteTx,
        memberships: impl Iterator<Item = MembershipId>,
    ) -> StoreResult<HashMap<MembershipId, PersonId>> {
        let mut q = QueryBuilder::new("SELECT id, person_id FROM memberships WHERE id IN (");
        push_ids(&mut q, memberships);
        q.push(")");
        let rows: Vec<(MembershipId, PersonId)> = q.build_query_as().fetch_all(&mut **tx).await?;
        Ok(rows.into_iter().collect())
    }
}

/// Pushes `ids` as a bound list (the inside of `IN (…)`), each distinct id once.
fn push_ids<T>(q: &mut QueryBuilder, ids: impl IntoIterator<Item = T>)
where
    T: Ord + Copy + Bind,
{
    let mut ids: Vec<T> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(id);
    }
}
