//! `payouts`, `markpaid` and `payoutfile` (organizers): what is owed to whom, recording a
//! payout once per reference, and the files a bulk transfer needs.

use super::Core;
use super::args::{Args, Email, EventRef, Money};
use super::command::{Command, declare};
use super::events::scope_name;
use super::grants::Organizer;
use super::local_time::local_time;
use super::spec::{ArgKind, ArgSpec, CommandSpec, ORG_FLAG, opt, req};
use crate::domain::commission::{self, Balance, EventLedger};
use crate::domain::{OrgId, PersonId};
use crate::error::{CommandError, UserError};
use crate::money::{decimal, money};
use crate::refuse;
use crate::reply::{Attachment, Block, Reply, Table};
use crate::store::{LedgerRow, OrgRow, Recorded};

type Res = Result<Reply, CommandError>;

/// Ledger entries read per page for the detail file.
const DETAIL_PAGE: i64 = 5000;

/// Rows of one person, in the order given.
fn by_person(rows: &[LedgerRow]) -> Vec<&[LedgerRow]> {
    rows.chunk_by(|a, b| a.person_id == b.person_id).collect()
}

fn ledgers(rows: &[LedgerRow]) -> Vec<EventLedger> {
    rows.iter().map(LedgerRow::ledger).collect()
}

/// The reference `markpaid` records when none is given, and the transfer file suggests.
fn default_reference(org: &OrgRow, person: PersonId, count: i64) -> String {
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
            .commission_ledgers(org.id, None, event.as_ref().map(|e| e.id))
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
        for person in by_person(&rows) {
            for b in commission::balances(&ledgers(person), now) {
                table.row(vec![
                    person[0].email.clone(),
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
                decimal(self.amount.map_or(0, |a| a.0))
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
        let due: Vec<&Balance> = balances.iter().filter(|b| b.approved > 0).collect();
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
        let amount = self.amount.map_or(b.approved, |a| a.0);
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

crate::choice!(
    /// Which payout file.
    FilePart { Transfers = "transfers", Detail = "detail" }
);

impl FilePart {
    fn word(self) -> &'static str {
        match self {
            FilePart::Transfers => "transfers",
            FilePart::Detail => "detail",
        }
    }
}

/// `payoutfile <transfers|detail> [event] [--org]`.
#[derive(Debug)]
pub struct PayoutFile {
    pub part: FilePart,
}

impl Command for PayoutFile {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        PayoutFile,
        "payoutfile",
        [
            req(
                "part",
                ArgKind::Choice(FilePart::WORDS),
                "transfers (for your bank) or detail (per order)"
            ),
            opt("event", ArgKind::Event, "one event; left out: every event"),
            ORG_FLAG,
        ],
        "CSV for paying promoters: transfers due (name, email, amount, reference), or every entry",
        "payoutfile transfers",
        private = true,
        new_mail_thread = true,
        deferred = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(PayoutFile {
            part: args.req("part")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, person, .. } = ctx;
        let now = core.clock.now();
        let event_id = event.as_ref().map(|e| e.id);
        let (data, rows) = match self.part {
            FilePart::Transfers if event.is_some() => {
                return refuse!(
                    "The transfer file covers all of {}: `markpaid` pays each promoter across events, clawbacks \
                     netted. Send `payoutfile transfers`.",
                    org.name
                );
            }
            FilePart::Transfers => transfers(core, &org, now).await?,
            FilePart::Detail => detail(core, org.id, event_id, &org.time_zone).await?,
        };
        if data.len() > core.settings.max_attachment_bytes {
            return refuse!(
                "This file is larger than an attachment can carry. Ask for one event at a time (`payoutfile {} <event>`).",
                self.part.word()
            );
        }
        let name = event.as_ref().map(|e| e.slug.as_str()).unwrap_or(org.slug.as_str());
        let filename = format!("payouts-{}-{name}-{}.csv", self.part.word(), now.format("%Y-%m-%d"));
        let mut tx = core.store.write().await?;
        let detail = format!("{} {name} {rows} rows", self.part.word());
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "payoutfile", &detail, now)
            .await?;
        tx.commit().await?;
        let caption = match self.part {
            FilePart::Transfers => format!("{rows} transfer(s) due — {}", scope_name(&org, event.as_ref())),
            FilePart::Detail => format!("{rows} commission entries — {}", scope_name(&org, event.as_ref())),
        };
        Ok(Reply::text(caption.clone())
            .titled("Payout file")
            .private()
            .with_attachment(Attachment {
                filename,
                mime: "text/csv".into(),
                data,
                caption,
            }))
    }
}

fn csv_err(e: impl std::fmt::Display) -> CommandError {
    CommandError::Invariant(format!("writing the payout file: {e}"))
}

/// One row per promoter and currency with an amount due: what a bank's bulk transfer takes.
async fn transfers(
    core: &Core,
    org: &OrgRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<u8>, usize), CommandError> {
    let rows = core.store.commission_ledgers(org.id, None, None).await?;
    let mut w = crate::export::csv_writer(Vec::new());
    w.write_record(["name", "email", "amount", "currency", "reference"])
        .map_err(csv_err)?;
    let mut n = 0;
    let counts = core.store.payout_counts(org.id).await?;
    for person in by_person(&rows) {
        // In the order `markpaid` pays them, each currency with the reference it records.
        let mut count = counts.get(&person[0].person_id).copied().unwrap_or(0);
        for b in commission::balances(&ledgers(person), now)
            .iter()
            .filter(|b| b.approved > 0)
        {
            let name = person[0].display_name.clone().unwrap_or_default();
            w.write_record([
                crate::export::neutralize(&name).as_ref(),
                crate::export::neutralize(&person[0].email).as_ref(),
                &decimal(b.approved),
                &b.currency,
                &default_reference(org, person[0].person_id, count),
            ])
            .map_err(csv_err)?;
            count += 1;
            count += 1;
            n += 1;
        }
    }
    Ok((w.into_inner().map_err(csv_err)?, n))
}

/// Every ledger entry, event by event, oldest first, a page at a time.
async fn detail(
    core: &Core,
    org: OrgId,
    event: Option<crate::domain::EventId>,
    tz: &str,
) -> Result<(Vec<u8>, usize), CommandError> {
    let mut w = crate::export::csv_writer(Vec::new());
    w.write_record([
        "entry",
        "email",
        "name",
        "event",
        "order_id",
        "ticket_type",
        "kind",
        "tickets",
        "amount",
        "currency",
        "at",
    ])
    .map_err(csv_err)?;
    let events: Vec<crate::domain::EventId> = match event {
        Some(e) => vec![e],
        None => core.store.events_of_org(org).await?.iter().map(|e| e.id).collect(),
    };
    let mut n = 0;
    for event in events {
        let mut after = 0;
        loop {
            let page = core.store.commission_detail(event, after, DETAIL_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for r in &page {
                write_detail(&mut w, r, tz)?;
                n += 1;
            }
            if w.get_ref().len() > core.settings.max_attachment_bytes {
                return Ok((w.into_inner().map_err(csv_err)?, n)); // refused by the caller
            }
        }
    }
    Ok((w.into_inner().map_err(csv_err)?, n))
}

fn write_detail(w: &mut csv::Writer<Vec<u8>>, r: &crate::store::DetailRow, tz: &str) -> Result<(), CommandError> {
    w.write_record([
        r.id.to_string().as_str(),
        crate::export::neutralize(&r.email).as_ref(),
        crate::export::neutralize(r.display_name.as_deref().unwrap_or("")).as_ref(),
        &r.event_slug,
        crate::export::neutralize(r.external_id.as_deref().unwrap_or("")).as_ref(),
        crate::export::neutralize(r.ticket_type.as_deref().unwrap_or("")).as_ref(),
        r.kind.as_str(),
        &r.tickets.to_string(),
        &decimal(r.amount_minor),
        &r.currency,
        &local_time(&r.created_at, tz),
    ])
    .map_err(csv_err)
}
