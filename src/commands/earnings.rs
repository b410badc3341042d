//! `myearnings` and `why` (promoters): what a promoter earned, is owed and was paid, and
//! how one of their own orders earned what it did. Never another person's, never buyers'.

use super::Core;
use super::args::Args;
use super::command::{Command, declare};
use super::grants::{Earner, Promoter};
use super::local_time::local_time;
use super::spec::{ArgKind, CommandSpec, EVENT_OPT, req};
use crate::domain::EntryKind;
use crate::domain::commission::{self, Rate};
use crate::error::{CommandError, UserError};
use crate::money::money;
use crate::refuse;
use crate::reply::{Block, Reply, Table};

type Res = Result<Reply, CommandError>;

/// `myearnings [event]`.
#[derive(Debug)]
pub struct MyEarnings;

impl Command for MyEarnings {
    type Grant = Earner;
    const SPEC: CommandSpec = declare!(
        MyEarnings,
        "myearnings",
        [EVENT_OPT],
        "Your commissions: pending, due and paid, by ticket type",
        "myearnings summer-fest",
        private = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(MyEarnings)
    }

    async fn run(self, core: &Core, ctx: Earner) -> Res {
        let Promoter {
            org,
            event,
            person,
            actor,
            ..
        } = ctx.0;
        let now = core.clock.now();
        // Independent reads, at once on the read pool.
        let (rows, types, rules, ticket_types, last, (hold, _)) = futures::try_join!(
            core.store.commission_ledgers(org.id, person.id),
            core.store.earnings_by_type(event.id, person.id),
            core.store.commission_rules(org.id),
            core.store.ticket_types(event.id),
            core.store.payouts_of(org.id, person.id, 1),
            core.store.commission_policy(org.id),
        )?;
        let this: Vec<_> = rows
            .iter()
            .filter(|r| r.event_id == event.id)
            .map(|r| r.ledger())
            .collect();
        let mut reply = Reply::default()
            .titled(format!("Your earnings — {}", event.name))
            .private();
        let b = commission::balances(&this, now)
            .pop()
            .unwrap_or_else(|| commission::Balance {
                currency: event.currency.clone(),
                ..Default::default()
            });
        let due_at = match rows.iter().find(|r| r.event_id == event.id) {
            Some(r) => r.due_at(),
            None => event.starts_at + chrono::Duration::days(hold),
        };
        let when = if due_at <= now {
            format!("due since {}", local_time(&due_at, &org.time_zone))
        } else {
            format!("due on {}", local_time(&due_at, &org.time_zone))
        };
        reply = reply.with(Block::Fields(vec![
            ("Pending".into(), format!("{} ({when})", money(b.pending, &b.currency))),
            ("Due to you".into(), money(b.approved, &b.currency)),
            ("Paid".into(), money(b.paid, &b.currency)),
            ("Owed back".into(), money(b.clawback, &b.currency)),
        ]));
        if !types.is_empty() {
            let mut t = Table::new(
                &["Ticket type", "Earned", "Taken back", "Net"],
                &[false, true, true, true],
            );
            for (name, earned, reversed, net) in &types {
                t.row(vec![
                    name.clone(),
                    money(*earned, &b.currency),
                    money(-reversed, &b.currency),
                    money(*net, &b.currency),
                ]);
            }
            reply = reply.with(Block::Table(t));
        }
        reply = reply.line(rates_line(&rules, &ticket_types, &event, person.id, now));
        if actor.grants.is_none() {
            // Other events and payouts may come from memberships an invite-only account does not hold.
            for line in totals_lines(&org, &rows, event.id, now, last.first()) {
                reply = reply.line(line);
            }
        }
        Ok(reply.line(
            "Refunds before payout lower what is pending or due; after payout they are taken off your next payout. \
             `why <order>` explains one order.",
        ))
    }
}

/// The organization-wide position when there are other events, and the last payout.
fn totals_lines(
    org: &crate::store::OrgRow,
    rows: &[crate::store::LedgerRow],
    event: crate::domain::EventId,
    now: chrono::DateTime<chrono::Utc>,
    last: Option<&crate::store::PayoutRow>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if rows.iter().any(|r| r.event_id != event) {
        let all: Vec<_> = rows.iter().map(|r| r.ledger()).collect();
        for a in commission::balances(&all, now) {
            let back = if a.clawback > 0 {
                format!(", {} owed back", money(a.clawback, &a.currency))
            } else {
                String::new()
            };
            lines.push(format!(
                "All events of {}: {} due, {} pending, {} paid{back}.",
                org.name,
                money(a.approved, &a.currency),
                money(a.pending, &a.currency),
                money(a.paid, &a.currency),
            ));
        }
    }
    if let Some(p) = last {
        lines.push(format!(
            "Last payout: {} on {} (reference {}).",
            money(p.amount_minor, &p.currency),
            local_time(&p.created_at, &org.time_zone),
            p.reference
        ));
    }
    lines
}

/// "Your rate: …" for each ticket type of the event, as the rules stand now.
fn rates_line(
    rules: &[commission::Rule],
    ticket_types: &[crate::store::TicketTypeRow],
    event: &crate::store::EventRow,
    person: crate::domain::PersonId,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let parts: Vec<String> = ticket_types
        .iter()
        .map(|t| {
            let rate = commission::pick(rules, event.id, t.id, person, now).map_or(Rate::default(), |r| r.rate);
            format!("{}: {}", t.name, rate.describe(Some(&event.currency)))
        })
        .collect();
    if parts.is_empty() {
        "No ticket types yet.".into()
    } else {
        format!("Your rate for new orders — {}.", parts.join("; "))
    }
}

/// `why <order> [event]`.
#[derive(Debug)]
pub struct Why {
    pub order: String,
}

impl Command for Why {
    type Grant = Earner;
    const SPEC: CommandSpec = declare!(
        Why,
        "why",
        [
            req("order", ArgKind::Text, "the shop's order id, as `myorders` shows it"),
            EVENT_OPT
        ],
        "How one of your orders earned its commission, entry by entry",
        "why A-1042",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let order: String = args.req("order")?;
        if order.chars().count() > 200 {
            return Err(UserError::new("order: at most 200 characters"));
        }
        Ok(Why { order })
    }

    async fn run(self, core: &Core, ctx: Earner) -> Res {
        let Promoter {
            org,
            person,
            membership,
            actor,
            ..
        } = ctx.0;
        // A chat account holding one invite's membership sees that membership's orders only.
        let only = actor.grants.is_some().then_some(membership.id);
        let rows = core.store.why_order(org.id, person.id, only, &self.order).await?;
        if rows.is_empty() {
            if core
                .store
                .has_referred_order(org.id, person.id, only, &self.order)
                .await?
            {
                return Ok(Reply::text(format!(
                    "Order {} came through your links and earned no commission: no rule applied when it was placed, \
                     or it was bought with your own address, or it was cancelled.",
                    self.order
                ))
                .private());
            }
            return refuse!("None of your orders is `{}`. Send `myorders` to see them.", self.order);
        }
        let mut t = Table::new(
            &["When", "What", "Tickets", "Amount", "Rule"],
            &[false, false, true, true, false],
        );
        for r in &rows {
            let what = match r.kind {
                EntryKind::Earned => "earned",
                EntryKind::Reversed => "refund or cancellation",
                EntryKind::Recomputed => "recomputed",
                EntryKind::Voided => "event cancelled",
            };
            let rule = match (r.per_ticket_minor, r.percent_bp) {
                (Some(per_ticket_minor), Some(percent_bp)) => {
                    let rate = Rate {
                        per_ticket_minor,
                        percent_bp,
                    };
                    let scope = [
                        r.rule_event.clone().unwrap_or_else(|| "every event".into()),
                        r.rule_ticket_type.clone().unwrap_or_else(|| "all types".into()),
                        if r.rule_for_person == Some(true) {
                            "your own rate".into()
                        } else {
                            "everyone".into()
                        },
                    ];
                    format!("{} ({})", rate.describe(Some(&r.currency)), scope.join(", "))
                }
                _ => "–".into(),
            };
            t.row(vec![
                local_time(&r.created_at, &org.time_zone),
                format!("{what}: {}", r.ticket_type.clone().unwrap_or_default()),
                r.tickets.to_string(),
                money(r.amount_minor, &r.currency),
                rule,
            ]);
        }
        let total: i64 = rows.iter().map(|r| r.amount_minor).sum();
        let mut reply = Reply::default()
            .titled(format!("Order {} — {}", self.order, rows[0].event_slug))
            .with(Block::Table(t))
            .line(format!(
                "It earns you {} now. Percentages are of the net price per ticket type, rounded half up to the currency's smallest unit (the cent).",
                money(total, &rows[0].currency)
            ));
        if rows[0].event_cancelled {
            reply = reply.line(
                "The event was cancelled: what it had earned you and was not paid yet was voided (`myearnings` shows it).",
            );
        }
        Ok(reply.private())
    }
}
