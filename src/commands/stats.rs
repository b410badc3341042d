//! Numbers: gathers an event's facts from the store for `mystats`, `myorders` and `stats`;
//! `report` builds the reports from them and `render` turns those into replies.

pub(super) mod render;
pub(super) mod report;
#[cfg(test)]
mod tests;

use super::Core;
use super::args::{Args, Email};
use super::command::{Command, declare};
use super::grants::{OrganizerOfEvent, Promoter};
use super::spec::{ArgKind, CommandSpec, EVENT_OPT, opt};
use crate::domain::{MembershipId, MembershipStatus};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::Reply;
use crate::store::{EventRow, MembershipRow};
use report::{EventNumbers, EventReport, PromoterReport};

type Res = Result<Reply, CommandError>;

/// `mystats [event]`: a promoter's own numbers.
#[derive(Debug)]
pub struct MyStats;

impl Command for MyStats {
    type Grant = Promoter;
    const SPEC: CommandSpec = declare!(
        MyStats,
        "mystats",
        [EVENT_OPT],
        "Your sales: clicks, orders, tickets and revenue by ticket type and link",
        "mystats summer-fest",
        private = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(MyStats)
    }

    async fn run(self, core: &Core, ctx: Promoter) -> Res {
        let Promoter {
            org,
            event,
            membership: m,
            ..
        } = ctx;
        let reply = Reply::default()
            .titled(format!("Your sales — {}", event.name))
            .private();
        let (mut reply, code) = core.promoter_report(&event, &m, reply).await?;
        match code {
            Some((code, true)) => {
                let code = code.to_ascii_uppercase();
                reply = reply.line(format!("Your promo code: {code} (orders with it count for you)."));
            }
            Some((code, false)) => {
                let code = code.to_ascii_uppercase();
                reply = reply.line(format!("Your promo code {code} waits for an organizer's approval."));
            }
            None => {}
        }
        if org.leaderboard
            && let Some((rank, of)) = core.rank_of(&event, m.id).await?
        {
            reply = reply.line(format!("Leaderboard: you are #{rank} of {of}."));
        }
        Ok(reply)
    }
}

/// `myorders [event]`: a promoter's referred orders, without buyer details.
#[derive(Debug)]
pub struct MyOrders;

impl Command for MyOrders {
    type Grant = Promoter;
    const SPEC: CommandSpec = declare!(
        MyOrders,
        "myorders",
        [EVENT_OPT],
        "Your referred orders (without buyer details)",
        "myorders summer-fest",
        private = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(MyOrders)
    }

    async fn run(self, core: &Core, ctx: Promoter) -> Res {
        let Promoter {
            org,
            event,
            membership: m,
            ..
        } = ctx;
        let orders = core.store.orders_of_membership(m.id, event.id, 50).await?;
        if orders.is_empty() {
            return Ok(Reply::text(format!(
                "No orders through your links for {} yet. Share `mylink`!",
                event.name
            ))
            .private());
        }
        Ok(render::my_orders(orders, &org.time_zone, &event.name))
    }
}

/// `stats [event] [promoter]`: every promoter's numbers, or one promoter's in full.
#[derive(Debug)]
pub struct Stats {
    pub promoter: Option<Email>,
}

impl Command for Stats {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        Stats,
        "stats",
        [
            EVENT_OPT,
            opt("promoter", ArgKind::Email, "one promoter, expanded per ticket type"),
        ],
        "Every promoter's sales of an event, by ticket type, with totals",
        "stats summer-fest",
        private = true,
        new_mail_thread = true,
        picks_only_event = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Stats {
            promoter: args.opt("promoter")?,
        })
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        let OrganizerOfEvent { org, event, .. } = ctx;
        let members = async { Ok(core.store.memberships_of_org(org.id, Some(event.id)).await?) };
        let Some(email) = self.promoter else {
            // The members and the numbers are independent reads: both at once.
            let (members, numbers) = futures::try_join!(members, core.event_numbers(&event, None))?;
            let report = EventReport::build(&numbers, &members);
            return Ok(render::event_report(&report, &event));
        };
        let members: Vec<MembershipRow> = members.await?;
        let Some(m) = members
            .iter()
            .find(|m| *m.email == *email && m.status != MembershipStatus::Invited)
        else {
            return refuse!("{email} is not a promoter of {}.", event.name);
        };
        let reply = Reply::default()
            .titled(format!("{} — {}", m.email, event.name))
            .private();
        Ok(core.promoter_report(&event, m, reply).await?.0)
    }
}

impl Core {
    /// An event's numbers, or one membership's when given. The reads are independent and
    /// run at once, each on its own connection: a report waits for the slowest, not for
    /// their sum (on PostgreSQL each is a round trip).
    pub(super) async fn event_numbers(
        &self,
        event: &EventRow,
        membership: Option<MembershipId>,
    ) -> Result<EventNumbers, CommandError> {
        let links = async {
            match membership {
                Some(m) => self.store.links_of_membership(m, event.id).await,
                None => self.store.links_of_event(event.id).await,
            }
        };
        let (links, sales, counts, clicks, types) = futures::try_join!(
            links,
            self.store.sales_facts(event.id, membership),
            self.store.order_counts(event.id, membership),
            self.store.click_facts(event.id, membership),
            self.store.ticket_types(event.id),
        )?;
        let names = types.into_iter().map(|t| t.name).collect();
        Ok(EventNumbers::new(sales, counts, clicks, &links, names))
    }

    /// One promoter's report (summary, by ticket type, by link) and their promo code with
    /// whether it is approved; read at once ([`crate::store::Store::promoter_facts`]).
    async fn promoter_report(
        &self,
        event: &EventRow,
        m: &MembershipRow,
        reply: Reply,
    ) -> Result<(Reply, Option<(String, bool)>), CommandError> {
        let facts = self.store.promoter_facts(m.id, event.id).await?;
        let names = facts.types.into_iter().map(|t| t.name).collect();
        let numbers = EventNumbers::new(facts.sales, facts.counts, facts.clicks, &facts.links, names);
        let report = PromoterReport::build(&numbers, m.id, &facts.links);
        Ok((
            render::promoter_report(&report, &event.currency, reply),
            facts.promo_code,
        ))
    }
}
