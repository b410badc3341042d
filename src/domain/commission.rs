//! Commissions apart from SQL: a rate and its one rounding rule, which rule applies to a
//! sale, what an order earns now (as ledger deltas), balances, and a payout's split.

use super::{EntryKind, EventId, OrderId, PersonId, RuleId, TicketTypeId};
use chrono::{DateTime, Utc};

/// Basis points in 100 %.
pub const FULL_BP: i64 = 10_000;

/// What a rule pays: a fixed amount per net ticket and a share of the net amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    /// Minor units of the event's currency per ticket.
    pub per_ticket_minor: i64,
    /// Hundredths of a percent of the net amount (1000 = 10 %).
    pub percent_bp: i64,
}

/// `percent_bp` of `net_minor`, rounded half up to the minor unit (the one rounding rule:
/// applied once per order and ticket type, to its net amount).
pub fn percent_of(net_minor: i64, percent_bp: i64) -> i64 {
    let x = i128::from(net_minor.max(0)) * i128::from(percent_bp);
    i64::try_from((x + i128::from(FULL_BP / 2)) / i128::from(FULL_BP)).unwrap_or(i64::MAX)
}

impl Rate {
    /// Reads `2.50` (per ticket), `10%` or `12.5%` (of the net amount), `2.50+10%` (both),
    /// `0` (nothing). At most two decimals for amounts and percentages.
    pub fn parse(s: &str) -> Result<Rate, String> {
        let bad = || format!("`{s}` is not a rate: write 2.50 (per ticket), 10% (of the net price) or 2.50+10%");
        let mut rate = Rate::default();
        let parts: Vec<&str> = s.trim().split('+').map(str::trim).collect();
        if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let (mut seen_fixed, mut seen_pct) = (false, false);
        for p in parts {
            if let Some(pct) = p.strip_suffix('%') {
                let bp = hundredths(pct.trim()).ok_or_else(bad)?;
                if seen_pct || bp > FULL_BP {
                    return Err(if bp > FULL_BP {
                        format!("`{p}` is more than 100%")
                    } else {
                        bad()
                    });
                }
                rate.percent_bp = bp;
                seen_pct = true;
            } else {
                let minor = hundredths(p).ok_or_else(bad)?;
                if seen_fixed || minor > 100_000_000 {
                    return Err(bad());
                }
                rate.per_ticket_minor = minor;
                seen_fixed = true;
            }
        }
        Ok(rate)
    }

    /// What `tickets` net tickets worth `net_minor` earn.
    pub fn earns(&self, tickets: i64, net_minor: i64) -> i64 {
        if tickets <= 0 {
            return 0;
        }
        self.per_ticket_minor
            .saturating_mul(tickets)
            .saturating_add(percent_of(net_minor, self.percent_bp))
    }

    /// `2.50 EUR per ticket + 10%`, `10%`, `no commission`.
    pub fn describe(&self, currency: Option<&str>) -> String {
        let fixed = match currency {
            Some(c) => format!("{} per ticket", crate::money::money(self.per_ticket_minor, c)),
            None => format!("{} per ticket", crate::money::decimal(self.per_ticket_minor)),
        };
        let pct = format!("{}% of the net price", percent_text(self.percent_bp));
        match (self.per_ticket_minor > 0, self.percent_bp > 0) {
            (true, true) => format!("{fixed} + {pct}"),
            (true, false) => fixed,
            (false, true) => pct,
            (false, false) => "no commission".into(),
        }
    }
}

/// `1000` → `10`, `1250` → `12.5`, `5` → `0.05`.
pub fn percent_text(bp: i64) -> String {
    let s = crate::money::decimal(bp);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `12`, `12.5`, `12.50` → 1200, 1250, 1250; anything else (signs, three decimals) None.
fn hundredths(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 9 || frac.len() > 2 {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let f: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole.parse::<i64>().ok()? * 100 + f)
}

/// One version of a rule. Unset scopes match everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: RuleId,
    pub event_id: Option<EventId>,
    pub ticket_type_id: Option<TicketTypeId>,
    pub person_id: Option<PersonId>,
    pub rate: Rate,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl Rule {
    fn matches(&self, event: EventId, ticket_type: TicketTypeId, person: PersonId, at: DateTime<Utc>) -> bool {
        self.event_id.is_none_or(|e| e == event)
            && self.ticket_type_id.is_none_or(|t| t == ticket_type)
            && self.person_id.is_none_or(|p| p == person)
            && self.valid_from <= at
            && self.valid_until.is_none_or(|u| at < u)
    }

    /// The more specific rule wins: one person over everyone, then one event over the
    /// whole organization, then one ticket type over all.
    pub fn specificity(&self) -> u8 {
        (u8::from(self.person_id.is_some()) << 2)
            | (u8::from(self.event_id.is_some()) << 1)
            | u8::from(self.ticket_type_id.is_some())
    }
}

/// The rule for a sale of `ticket_type` at `event` by `person` at time `at`.
pub fn pick(
    rules: &[Rule],
    event: EventId,
    ticket_type: TicketTypeId,
    person: PersonId,
    at: DateTime<Utc>,
) -> Option<&Rule> {
    rules
        .iter()
        .filter(|r| r.matches(event, ticket_type, person, at))
        .max_by_key(|r| (r.specificity(), r.valid_from, r.id))
}

/// An order as commissions see it: who earns, whether it earns at all, and its net
/// tickets and amount per ticket type.
#[derive(Debug, Clone)]
pub struct Sale {
    pub order_id: OrderId,
    pub event_id: EventId,
    pub person_id: PersonId,
    /// False for a cancelled order, or a self-referral where those do not earn.
    pub earns: bool,
    /// The moment whose rules apply: the order's time, or a later `recompute`.
    pub basis: DateTime<Utc>,
    /// `(ticket type, net tickets, net amount)`, one per ticket type.
    pub types: Vec<(TicketTypeId, i64, i64)>,
}

/// A ledger entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// None for an entry of the whole event (a void).
    pub order_id: Option<OrderId>,
    pub event_id: EventId,
    pub person_id: PersonId,
    pub ticket_type_id: TicketTypeId,
    pub rule_id: Option<RuleId>,
    pub kind: EntryKind,
    /// Net tickets earning after this entry.
    pub tickets: i64,
    pub amount_minor: i64,
}

/// The entries that bring an order's ledger to what it earns now: per ticket type, what
/// the applicable rule gives minus what is `booked` already. `recompute` marks them so.
pub fn deltas(sale: &Sale, booked: &[(TicketTypeId, i64)], rules: &[Rule], recompute: bool) -> Vec<Delta> {
    let mut out = Vec::new();
    let mut types: Vec<TicketTypeId> = sale.types.iter().map(|t| t.0).collect();
    types.extend(
        booked
            .iter()
            .map(|b| b.0)
            .filter(|t| !sale.types.iter().any(|s| s.0 == *t)),
    );
    for tt in types {
        let (tickets, net) = sale
            .types
            .iter()
            .find(|s| s.0 == tt)
            .map(|s| (s.1, s.2))
            .unwrap_or((0, 0));
        let rule = pick(rules, sale.event_id, tt, sale.person_id, sale.basis);
        let target = match (sale.earns, rule) {
            (true, Some(r)) => r.rate.earns(tickets, net),
            _ => 0,
        };
        let had: i64 = booked.iter().filter(|b| b.0 == tt).map(|b| b.1).sum();
        let amount = target - had;
        if amount == 0 {
            continue;
        }
        let kind = match (recompute, amount > 0) {
            (true, _) => EntryKind::Recomputed,
            (false, true) => EntryKind::Earned,
            (false, false) => EntryKind::Reversed,
        };
        out.push(Delta {
            order_id: Some(sale.order_id),
            event_id: sale.event_id,
            person_id: sale.person_id,
            ticket_type_id: tt,
            rule_id: rule.map(|r| r.id),
            kind,
            tickets: if sale.earns { tickets } else { 0 },
            amount_minor: amount,
        });
    }
    out
}

/// One person's ledger for one event: earned (sum of entries) and paid (payout lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLedger {
    pub event_id: EventId,
    pub due_at: DateTime<Utc>,
    pub currency: String,
    pub earned: i64,
    pub paid: i64,
}

impl EventLedger {
    /// Past the holding period: what is earned and not paid may be paid.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.due_at <= now
    }
}

/// A person's position in one currency. Invariant: the sum of the ledger's entries equals
/// `approved + pending + paid - clawback`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Balance {
    pub currency: String,
    /// Earned in events still within their holding period.
    pub pending: i64,
    /// Due and unpaid, clawbacks netted; never negative.
    pub approved: i64,
    pub paid: i64,
    /// Refunds after payout not yet netted against new earnings.
    pub clawback: i64,
    /// When the next pending event becomes due.
    pub next_due: Option<DateTime<Utc>>,
}

/// Balances per currency (in order of first appearance) at `now`.
pub fn balances(rows: &[EventLedger], now: DateTime<Utc>) -> Vec<Balance> {
    let mut out: Vec<(Balance, i64)> = Vec::new();
    for r in rows {
        let i = match out.iter().position(|(b, _)| b.currency == r.currency) {
            Some(i) => i,
            None => {
                out.push((
                    Balance {
                        currency: r.currency.clone(),
                        ..Balance::default()
                    },
                    0,
                ));
                out.len() - 1
            }
        };
        let (b, net_due) = &mut out[i];
        b.paid += r.paid;
        if r.is_due(now) {
            *net_due += r.earned - r.paid;
        } else {
            b.pending += r.earned - r.paid;
            if r.earned != 0 {
                b.next_due = Some(b.next_due.map_or(r.due_at, |d| d.min(r.due_at)));
            }
        }
    }
    out.into_iter()
        .map(|(mut b, net_due)| {
            b.approved = net_due.max(0);
            b.clawback = (-net_due).max(0);
            b
        })
        .collect()
}

/// How a payout of `amount` in `currency` is split over the due events: every clawback
/// in full first, then the oldest dues. Refused when nothing or less is due.
pub fn allocate(
    rows: &[EventLedger],
    currency: &str,
    now: DateTime<Utc>,
    amount: i64,
) -> Result<Vec<(EventId, i64)>, i64> {
    let mut due: Vec<&EventLedger> = rows
        .iter()
        .filter(|r| r.currency == currency && r.is_due(now) && r.earned != r.paid)
        .collect();
    let total: i64 = due.iter().map(|r| r.earned - r.paid).sum();
    if amount <= 0 || amount > total {
        return Err(total);
    }
    due.sort_by_key(|r| (r.earned - r.paid >= 0, r.due_at, r.event_id));
    let mut left = amount;
    let mut lines = Vec::new();
    for r in due {
        let owed = r.earned - r.paid;
        let take = if owed < 0 { owed } else { owed.min(left) };
        if take == 0 {
            break;
        }
        left -= take;
        lines.push((r.event_id, take));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests;
