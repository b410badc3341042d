//! Commission rules and policy (organizers): `setcommission`, `commissions`,
//! `commissionpolicy`, `recompute`, and `cancelevent`, which closes an event's ledger.

use super::Core;
use super::args::{Args, Email, EventRef, FromArg};
use super::command::{Command, declare};
use super::events::scope_name;
use super::grants::{Organizer, OrganizerOfEvent};
use super::local_time::local_time;
use super::spec::{ArgKind, CommandSpec, ON_OFF, ORG_FLAG, flag, opt, req};
use crate::domain::commission::Rate;
use crate::error::{CommandError, UserError};
use crate::money::money;
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::RuleSlot;

type Res = Result<Reply, CommandError>;

/// Orders per transaction of `recompute`.
const RECOMPUTE_BATCH: i64 = 2000;

/// A rate as typed, or `off` (remove the rule of that scope).
#[derive(Debug, Clone, Copy)]
pub struct RateArg(pub Option<Rate>);

impl FromArg for RateArg {
    fn from_arg(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(RateArg(None));
        }
        Rate::parse(s).map(|r| RateArg(Some(r)))
    }
}

/// `setcommission <rate> [event] [--type <ticket type>] [--promoter <email>] [--org]`.
#[derive(Debug)]
pub struct SetCommission {
    pub rate: RateArg,
    pub ticket_type: Option<String>,
    pub promoter: Option<Email>,
}

impl SetCommission {
    /// Where the rule applies, and how to name it.
    async fn slot(
        &self,
        core: &Core,
        org: &crate::store::OrgRow,
        event: Option<&crate::store::EventRow>,
    ) -> Result<(RuleSlot, String), CommandError> {
        let ticket_type = match (&self.ticket_type, event) {
            (None, _) => None,
            (Some(_), None) => {
                return refuse!("Name the event of that ticket type, e.g. `setcommission 10% summer-fest --type VIP`.");
            }
            (Some(name), Some(e)) => match core
                .store
                .ticket_types(e.id)
                .await?
                .into_iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
            {
                Some(t) => Some(t),
                None => {
                    return refuse!(
                        "{} has no ticket type `{name}`. Send `tickettypes {}` to list them.",
                        e.name,
                        e.slug
                    );
                }
            },
        };
        let promoter = match &self.promoter {
            None => None,
            Some(email) => match core.store.person_by_email(email).await? {
                Some(p) if core.store.ever_promoted_for(org.id, p.id).await? => Some(p),
                _ => {
                    return refuse!(
                        "{} is not a promoter of {}. Send `promoters` to see them.",
                        email.0,
                        org.name
                    );
                }
            },
        };
        let slot = RuleSlot {
            org_id: org.id,
            event_id: event.map(|e| e.id),
            ticket_type_id: ticket_type.as_ref().map(|t| t.id),
            person_id: promoter.as_ref().map(|p| p.id),
        };
        let mut scope = scope_name(org, event);
        if let Some(t) = &ticket_type {
            scope = format!("{scope}, {}", t.name);
        }
        if let Some(p) = &promoter {
            scope = format!("{scope}, for {}", p.email);
        }
        Ok((slot, scope))
    }
}

impl Command for SetCommission {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        SetCommission,
        "setcommission",
        [
            req(
                "rate",
                ArgKind::Text,
                "2.50 per ticket, 10% of the net price, 2.50+10%, 0, or off"
            ),
            opt(
                "event",
                ArgKind::Event,
                "one event; left out: every event of the organization"
            ),
            flag("type", ArgKind::Text, "one ticket type of the event"),
            flag(
                "promoter",
                ArgKind::Email,
                "one promoter: overrides the rate for everyone"
            ),
            ORG_FLAG,
        ],
        "Set the commission promoters earn, for orders placed from now on",
        "setcommission 10% summer-fest --type VIP"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(SetCommission {
            rate: args.req("rate")?,
            ticket_type: args.opt("type")?,
            promoter: args.opt("promoter")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, person, .. } = ctx;
        let (slot, scope) = self.slot(core, &org, event.as_ref()).await?;
        let currency = event.as_ref().map(|e| e.currency.as_str());
        // A fixed amount is typed with at most two decimals; an event's rule holds it in
        // the minor units of the event's currency (yen for JPY, fils for KWD).
        let mut rate = self.rate.0;
        if let (Some(r), Some(c)) = (rate.as_mut(), currency)
            && r.per_ticket_minor > 0
        {
            let Some(minor) = crate::money::minor_units_in(r.per_ticket_minor, 2, c) else {
                return refuse!(
                    "{c} amounts have no decimals: write the fixed amount in whole {c}, e.g. `setcommission 300 {}`.",
                    event.as_ref().map_or("", |e| e.slug.as_str())
                );
            };
            r.per_ticket_minor = minor;
        }
        // For every event, a fixed amount is read with two decimals in each event's own
        // currency: wrong by a factor of 100 (JPY) or 10 (KWD) where it has other decimals.
        if currency.is_none() && rate.is_some_and(|r| r.per_ticket_minor > 0) {
            let events = core.store.events_of_org(org.id).await?;
            let odd = |c: &str| crate::money::currency_decimals(c) != 2;
            if let Some(e) = events.iter().find(|e| odd(&e.currency)) {
                return refuse!(
                    "{} sells in {}, whose amounts do not have two decimals: set a fixed amount on each event \
                     instead, e.g. `setcommission <amount> {}`.",
                    e.slug,
                    e.currency,
                    e.slug
                );
            }
            if odd(&org.currency) {
                return refuse!(
                    "{} amounts do not have two decimals: set a fixed amount on each event instead.",
                    org.currency
                );
            }
        }
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        let old = core
            .store
            .set_commission_rule(&mut tx, slot, rate, person.id, now)
            .await?;
        if old.is_none() && rate.is_none() {
            return refuse!("There is no commission rule for {scope} to turn off. Send `commissions` to see them.");
        }
        let said = rate.map_or("off".to_string(), |r| r.describe(currency));
        core.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(person.id),
                "commission.rule",
                &format!("{scope}: {said}"),
                now,
            )
            .await?;
        tx.commit().await?;
        let text = match (rate, old) {
            (Some(r), Some(o)) => format!(
                "Commission for {scope}: {} (was {}).",
                r.describe(currency),
                o.describe(currency)
            ),
            (Some(r), None) => format!("Commission for {scope}: {}.", r.describe(currency)),
            (None, _) => format!("The rule for {scope} is off; the broader rule applies again."),
        };
        let mut reply = Reply::text(text).line(
            "It applies to orders placed from now on; earlier orders keep the rate of their time. \
             `recompute <event>` applies today's rules to an event's earlier orders.",
        );
        if currency.is_none() && rate.is_some_and(|r| r.per_ticket_minor > 0) {
            reply = reply.line("A fixed amount is in each event's own currency.");
        }
        Ok(reply)
    }
}

/// `commissions [event] [--org]`.
#[derive(Debug)]
pub struct Commissions;

impl Command for Commissions {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Commissions,
        "commissions",
        [
            opt("event", ArgKind::Event, "one event's rules and the organization's"),
            ORG_FLAG
        ],
        "The commission rules in force, and the holding period",
        "commissions summer-fest",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(Commissions)
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, .. } = ctx;
        let rules = core
            .store
            .live_commission_rules(org.id, event.as_ref().map(|e| e.id))
            .await?;
        let (hold, self_since) = core.store.commission_policy(org.id).await?;
        let mut reply = Reply::default()
            .titled(format!("Commissions — {}", scope_name(&org, event.as_ref())))
            .private();
        if rules.is_empty() {
            reply = reply.line("No commission rules: promoters earn nothing yet. Set one with `setcommission 10%`.");
        } else {
            let mut t = Table::new(&["Event", "Ticket type", "Promoter", "Rate", "Since"], &[false; 5]);
            for r in &rules {
                t.row(vec![
                    r.event.clone().unwrap_or_else(|| "every event".into()),
                    r.ticket_type.clone().unwrap_or_else(|| "all".into()),
                    r.person.clone().unwrap_or_else(|| "everyone".into()),
                    r.rule.rate.describe(r.currency.as_deref()),
                    local_time(&r.rule.valid_from, &org.time_zone),
                ]);
            }
            reply = reply.with(Block::Table(t)).line(
                "The most specific rule wins: one promoter over everyone, then one event over every event, \
                 then one ticket type over all.",
            );
        }
        Ok(reply.line(policy_text(hold, self_since, &org.time_zone)))
    }
}

fn policy_text(hold: i64, self_since: Option<chrono::DateTime<chrono::Utc>>, tz: &str) -> String {
    let selfs = match self_since {
        Some(t) => format!(
            "orders bought with a promoter's own address earn (since {})",
            local_time(&t, tz)
        ),
        None => "orders bought with a promoter's own address earn nothing".into(),
    };
    format!(
        "Commissions become due {hold} day(s) after each event starts; {selfs}. Sales through organization links never earn."
    )
}

/// `commissionpolicy [--hold <days>] [--self <on|off>] [--org]`.
#[derive(Debug)]
pub struct CommissionPolicy {
    pub hold: Option<u32>,
    pub self_referrals: Option<String>,
}

impl Command for CommissionPolicy {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        CommissionPolicy,
        "commissionpolicy",
        [
            flag(
                "hold",
                ArgKind::Whole { min: 0, max: 365 },
                "days after an event's start before commissions are due"
            ),
            flag(
                "self",
                ON_OFF,
                "whether orders bought with the promoter's own address earn"
            ),
            ORG_FLAG,
        ],
        "When commissions become due, and whether self-referrals earn",
        "commissionpolicy --hold 7 --self off"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(CommissionPolicy {
            hold: args.opt("hold")?,
            self_referrals: args.opt("self")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person, .. } = ctx;
        let (hold, since) = core.store.commission_policy(org.id).await?;
        if self.hold.is_none() && self.self_referrals.is_none() {
            return Ok(Reply::text(policy_text(hold, since, &org.time_zone))
                .line("Change it with `commissionpolicy --hold <days> --self on|off`."));
        }
        let now = core.clock.now();
        let hold = self.hold.map_or(hold, i64::from);
        let since = match self.self_referrals.as_deref() {
            Some("on") => since.or(Some(now)),
            Some(_) => None,
            None => since,
        };
        let mut tx = core.store.write().await?;
        core.store.set_commission_policy(&mut tx, org.id, hold, since).await?;
        let detail = format!(
            "hold {hold} days, self-referrals {}",
            if since.is_some() { "on" } else { "off" }
        );
        core.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(person.id),
                "commission.policy",
                &detail,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(policy_text(hold, since, &org.time_zone)).line(
            "A new holding period moves every event's due date; self-referrals follow the new setting for orders \
             placed from now on.",
        ))
    }
}

/// `recompute <event> [--org]`.
#[derive(Debug)]
pub struct Recompute;

impl Command for Recompute {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        Recompute,
        "recompute",
        [req("event", ArgKind::Event, "the event"), ORG_FLAG],
        "Apply today's commission rules to an event's earlier orders (as adjustments)",
        "recompute summer-fest",
        deferred = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(Recompute)
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        let OrganizerOfEvent { org, event, person, .. } = ctx;
        let now = core.clock.now();
        let before = core.store.commission_summary(org.id, Some(event.id), now).await?;
        let mut tx = core.store.write().await?;
        if !core.store.set_commission_basis(&mut tx, event.id, now).await? {
            return refuse!("{} is cancelled: its commissions are closed.", event.name);
        }
        tx.commit().await?;
        // A batch per transaction: orders keep arriving meanwhile. Each batch is brought to
        // what it earns, so a recompute cut short is finished by running it again.
        let (mut written, mut after) = (0, crate::domain::OrderId(0));
        loop {
            let ids = core
                .store
                .promoter_orders_of_event(event.id, after, RECOMPUTE_BATCH)
                .await?;
            let Some(last) = ids.last() else { break };
            after = *last;
            let mut tx = core.store.write().await?;
            written += core.store.recompute_orders(&mut tx, &ids, now).await?;
            tx.commit().await?;
        }
        let mut tx = core.store.write().await?;
        core.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(person.id),
                "commission.recompute",
                &format!("{}: {written} entries", event.slug),
                now,
            )
            .await?;
        tx.commit().await?;
        let after = core.store.commission_summary(org.id, Some(event.id), now).await?;
        let sum =
            |owed: &[crate::store::PersonSummary]| owed.iter().flat_map(|p| &p.ledgers).map(|l| l.earned).sum::<i64>();
        Ok(Reply::text(format!(
            "{}: today's rules applied to every earlier order; {written} adjustment(s) written, earnings {} → {}.",
            event.name,
            money(sum(&before), &event.currency),
            money(sum(&after), &event.currency)
        ))
        .line("Adjustments are new entries; nothing earlier was rewritten. Payouts already made stay."))
    }
}

/// `cancelevent <event> [--org]`.
#[derive(Debug)]
pub struct CancelEvent;

impl Command for CancelEvent {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        CancelEvent,
        "cancelevent",
        [req("event", ArgKind::Event, "the event"), ORG_FLAG],
        "Mark an event cancelled: unpaid commissions are voided, paid ones stay",
        "cancelevent summer-fest"
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(CancelEvent)
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        let OrganizerOfEvent { org, event, person, .. } = ctx;
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        let Some((promoters, voided)) = core.store.cancel_event(&mut tx, event.id, now).await? else {
            return refuse!("{} is cancelled already.", event.name);
        };
        let detail = format!(
            "{}: {promoters} promoters, {} voided",
            event.slug,
            money(voided, &event.currency)
        );
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "event.cancelled", &detail, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "{} is cancelled. Unpaid commissions voided: {} for {promoters} promoter(s). What was paid stays paid, \
             and later refunds of its orders change no commission.",
            event.name,
            money(voided, &event.currency)
        )))
    }
}
