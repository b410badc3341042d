//! `payoutfile` (organizers): the transfers due, with the columns a bank's bulk transfer
//! takes and the references `markpaid` records, or every ledger entry.

use super::Core;
use super::args::{Args, EventRef};
use super::command::{Command, declare};
use super::events::scope_name;
use super::grants::Organizer;
use super::local_time::local_time;
use super::payouts::default_reference;
use super::spec::{ArgKind, CommandSpec, ORG_FLAG, opt, req};
use crate::domain::OrgId;
use crate::domain::commission;
use crate::error::{CommandError, UserError};
use crate::money::amount;
use crate::refuse;
use crate::reply::{Attachment, Reply};
use crate::store::OrgRow;

type Res = Result<Reply, CommandError>;

/// Ledger entries read per page for the detail file.
const DETAIL_PAGE: i64 = 5000;

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
    let rows = core.store.commission_summary(org.id, None, now).await?;
    let mut w = crate::export::csv_writer(Vec::new());
    w.write_record(["name", "email", "amount", "currency", "reference"])
        .map_err(csv_err)?;
    let mut n = 0;
    let counts = core.store.payout_counts(org.id).await?;
    for person in &rows {
        // In the order `markpaid` pays them (by currency code), each with the reference it records.
        let first = counts.get(&person.person_id).copied().unwrap_or(0);
        let mut due = commission::balances(&person.ledgers, now);
        due.retain(|b| b.approved > 0);
        due.sort_by(|a, b| a.currency.cmp(&b.currency));
        for (count, b) in (first..).zip(due.iter()) {
            let name = person.display_name.clone().unwrap_or_default();
            w.write_record([
                crate::export::neutralize(&name).as_ref(),
                crate::export::neutralize(&person.email).as_ref(),
                &amount(b.approved, &b.currency).to_string(),
                &b.currency,
                &default_reference(org, person.person_id, count),
            ])
            .map_err(csv_err)?;
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
        &amount(r.amount_minor, &r.currency).to_string(),
        &r.currency,
        &local_time(&r.created_at, tz),
    ])
    .map_err(csv_err)
}
