//! `payouts` and `markpaid` (organizers): what is owed to whom, and recording a payout
//! once per reference.

use super::Core;
use super::args::{Args, Email, EventRef, Money};
use super::command::{Command, declare};
use super::events::scope_name;
use super::grants::Organizer;
use super::local_time::local_time;
use super::spec::{ArgKind, ArgSpec, CommandSpec, ORG_FLAG, opt, req};
use crate::domain::PersonId;
use crate::domain::commission::{self, Balance, EventLedger};
use crate::error::{CommandError, UserError};
use crate::money::money;
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{LedgerRow, OrgRow, Recorded};

type Res = Result<Reply, CommandError>;

pub(super) fn ledgers(rows: &[LedgerRow]) -> Vec<EventLedger> {
    rows.iter().map(LedgerRow::ledger).collect()
}

/// The reference `markpaid` records when none is given, and the transfer file suggests.
pub(super) fn default_reference(org: &OrgRow, person: PersonId, count: i64) -> String {
    format!("{}-{}-{}", org.slug, person, count + 1)
}

/// `payouts [event] [--org]`.
#[derive(Debug)]
pub struct Payouts;

impl Command for Payouts {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Payouts,
        "payouts",
        [
            opt("event", ArgKind::Event, "one event; left out: every event"),
            ORG_FLAG
        ],
        "What each promoter is owed: due now (clawbacks netted), pending, paid",
        "payouts summer-fest",
        private = true,
        new_mail_thread = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(Payouts)
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, .. } = ctx;
        let now = core.clock.now();
        let rows = core
            .store
            .commission_summary(org.id, event.as_ref().map(|e| e.id), now)
            .await?;
        let scope = scope_name(&org, event.as_ref());
        if rows.is_empty() {
            return Ok(Reply::text(format!(
                "No commissions for {scope} yet. Set rates with `setcommission`, e.g. `setcommission 10%`."
            ))
            .private());
        }
        let mut table = Table::new(
            &["Promoter", "Due now", "Pending", "Due on", "Paid", "Clawback"],
            &[false, true, true, false, true, true],
        );
        let mut sums: Vec<Balance> = Vec::new();
        for person in &rows {
            for b in commission::balances(&person.ledgers, now) {
                table.row(vec![
                    person.email.clone(),
                    money(b.approved, &b.currency),
                    money(b.pending, &b.currency),
                    b.next_due
                        .map(|d| local_time(&d, &org.time_zone))
                        .unwrap_or_else(|| "–".into()),
                    money(b.paid, &b.currency),
                    money(b.clawback, &b.currency),
                ]);
                add(&mut sums, &b);
            }
        }
        for s in &sums {
            table.row(vec![
                "Total".into(),
                money(s.approved, &s.currency),
                money(s.pending, &s.currency),
                String::new(),
                money(s.paid, &s.currency),
                money(s.clawback, &s.currency),
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Payouts — {scope}"))
            .with(Block::Table(table))
            .line(
                "Due now: past each event's holding period, refunds after payment (clawbacks) netted. \
                 Record a transfer with `markpaid <email>`; the file for your bank: `payoutfile transfers`.",
            )
            .line(if event.is_some() {
                "These figures are this event's; `markpaid` pays what a promoter is due across all events, \
                 clawbacks of other events netted first: see `payouts` without an event."
            } else {
                "Figures per promoter across all events."
            })
            .private())
    }
}

fn add(sums: &mut Vec<Balance>, b: &Balance) {
    match sums.iter_mut().find(|s| s.currency == b.currency) {
        Some(s) => {
            s.approved += b.approved;
            s.pending += b.pending;
            s.paid += b.paid;
            s.clawback += b.clawback;
        }
        None => sums.push(b.clone()),
    }
}

/// The transfer reference: the rest of the line, up to 100 characters.
const REFERENCE: ArgSpec = ArgSpec {
    name: "reference",
    kind: ArgKind::Text,
    required: false,
    flag: false,
    rest: true,
    help: "the transfer's reference; needed with an amount (a repeated request then pays once)",
};

/// `markpaid <email> [amount] [reference…] [--org]`.
#[derive(Debug)]
pub struct MarkPaid {
    pub email: Email,
    pub amount: Option<Money>,
    pub reference: Option<String>,
}

impl Command for MarkPaid {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        MarkPaid,
        "markpaid",
        [
            req("email", ArgKind::Email, "the promoter"),
            opt("amount", ArgKind::Price, "part of what is due; left out: all of it"),
            REFERENCE,
            ORG_FLAG,
        ],
        "Record a payout to a promoter: all that is due, or an amount with its reference",
        "markpaid ana@example.com 120 TX-2027-0042",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let reference: Option<String> = args.opt("reference")?;
        if let Some(r) = &reference
            && (r.chars().count() > 100 || r.chars().any(char::is_control))
        {
            return Err(UserError::new("reference: at most 100 characters on one line"));
        }
        Ok(MarkPaid {
            email: args.req("email")?,
            amount: args.opt("amount")?,
            reference,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person: by, .. } = ctx;
        let email = self.email.0.as_str();
        let Some(payee) = core.store.person_by_email(email).await? else {
            return refuse!(
                "{email} has no commissions from {}. Send `payouts` to see who does.",
                org.name
            );
        };
        if self.amount.is_some() && self.reference.is_none() {
            return refuse!(
                "Give the transfer's reference with an amount, e.g. `markpaid {email} {} TX-1234`: a repeated \
                 message then finds the payout instead of paying again.",
                self.amount.unwrap_or(Money(0))
            );
        }
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        if let Some(r) = &self.reference
            && let Some(before) = core.store.payout_by_reference(&mut tx, org.id, payee.id, r).await?
        {
            return Ok(already(&before, email, &org));
        }
        let rows = core.store.commission_ledgers_tx(&mut tx, org.id, payee.id).await?;
        let balances = commission::balances(&ledgers(&rows), now);
        // One currency at a time, in the order of the transfer file (by currency code).
        let mut due: Vec<&Balance> = balances.iter().filter(|b| b.approved > 0).collect();
        due.sort_by(|a, b| a.currency.cmp(&b.currency));
        let b = match (due.as_slice(), self.amount) {
            ([], _) => return Ok(nothing_due(email, &balances, &org)),
            ([one], _) => *one,
            (several, None) => several[0],
            (several, Some(_)) => {
                let owed: Vec<String> = several.iter().map(|b| money(b.approved, &b.currency)).collect();
                return refuse!(
                    "{email} is owed {}: `markpaid {email}` without an amount pays one currency at a time.",
                    owed.join(" and ")
                );
            }
        };
        let amount = match self.amount {
            Some(a) => a.minor_in(&b.currency)?,
            None => b.approved,
        };
        let lines = match commission::allocate(&ledgers(&rows), &b.currency, now, amount) {
            Ok(lines) => lines,
            Err(total) => {
                return refuse!(
                    "{email} is owed {} now; {} is more than that.",
                    money(total, &b.currency),
                    money(amount, &b.currency)
                );
            }
        };
        let count = core.store.payout_count(&mut tx, org.id, payee.id).await?;
        let reference = self
            .reference
            .clone()
            .unwrap_or_else(|| default_reference(&org, payee.id, count));
        let recorded = core
            .store
            .record_payout(&mut tx, org.id, payee.id, &b.currency, &lines, &reference, by.id, now)
            .await?;
        if let Recorded::Before(before) = recorded {
            return Ok(already(&before, email, &org));
        }
        let detail = format!("{email} {} ({reference})", money(amount, &b.currency));
        core.store
            .audit(&mut tx, Some(org.id), Some(by.id), "payout", &detail, now)
            .await?;
        tx.commit().await?;
        Ok(paid_reply(email, amount, b, &lines, &balances, &reference))
    }
}

/// The answer to a payout just recorded.
fn paid_reply(
    email: &str,
    amount: i64,
    b: &Balance,
    lines: &[(crate::domain::EventId, i64)],
    balances: &[Balance],
    reference: &str,
) -> Reply {
    let left = b.approved - amount;
    let mut reply = Reply::text(format!(
        "Recorded: {} paid to {email}, reference {reference}.",
        money(amount, &b.currency)
    ))
    .private();
    let netted: i64 = lines.iter().filter(|l| l.1 < 0).map(|l| -l.1).sum();
    if netted > 0 {
        reply = reply.line(format!(
            "It nets {} of clawbacks (refunds after an earlier payout).",
            money(netted, &b.currency)
        ));
    }
    if left > 0 {
        reply = reply.line(format!("Still due to them: {}.", money(left, &b.currency)));
    }
    if balances.iter().filter(|b| b.approved > 0).count() > 1 {
        reply = reply.line("They are owed in another currency too: `markpaid` again for it.");
    }
    reply
}

fn already(p: &crate::store::PayoutRow, email: &str, org: &OrgRow) -> Reply {
    Reply::text(format!(
        "Already recorded: {} to {email} with reference {} on {}. Nothing was paid again.",
        money(p.amount_minor, &p.currency),
        p.reference,
        local_time(&p.created_at, &org.time_zone)
    ))
    .private()
}

fn nothing_due(email: &str, balances: &[Balance], org: &OrgRow) -> Reply {
    let mut reply = Reply::text(format!("Nothing is due to {email} now; nothing was recorded.")).private();
    for b in balances {
        if b.clawback > 0 {
            reply = reply.line(format!(
                "They owe {} back (refunds after payout): it is taken off their next payout.",
                money(b.clawback, &b.currency)
            ));
        }
        if let Some(d) = b.next_due.filter(|_| b.pending > 0) {
            reply = reply.line(format!(
                "{} is pending; the next becomes due on {}.",
                money(b.pending, &b.currency),
                local_time(&d, &org.time_zone)
            ));
        }
    }
    reply
}
