//! Numbers: gathers an event's facts from the store for `mystats`, `myorders` and `stats`;
//! `report` builds the reports from them and `render` turns those into replies.

pub(super) mod render;
pub(super) mod report;
#[cfg(test)]
mod tests;

use super::{Core, Invocation, Scope, organizer_scope, promoter_scope};
use crate::error::CommandError;
use crate::refuse;
use crate::reply::Reply;
use crate::store::{EventRow, MembershipRow};
use report::{EventNumbers, EventReport, PromoterReport};

type Res = Result<Reply, CommandError>;

impl Core {
    /// Loads an event's facts; only one membership's when given.
    pub(super) async fn event_numbers(
        &self,
        event: &EventRow,
        membership: Option<i64>,
    ) -> Result<EventNumbers, CommandError> {
        let links = match membership {
            Some(m) => self.store.links_of_membership(m, event.id).await?,
            None => self.store.links_of_event(event.id).await?,
        };
        Ok(EventNumbers::new(
            self.store.sales_facts(event.id, membership).await?,
            self.store.order_counts(event.id, membership).await?,
            self.store.click_facts(event.id, membership).await?,
            &links,
            self.store
                .ticket_types(event.id)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect(),
        ))
    }

    /// One promoter's report: summary, by ticket type, by link.
    async fn promoter_report(&self, event: &EventRow, m: &MembershipRow, reply: Reply) -> Res {
        let numbers = self.event_numbers(event, Some(m.id)).await?;
        let links = self.store.links_of_membership(m.id, event.id).await?;
        let report = PromoterReport::build(&numbers, m.id, &links);
        Ok(render::promoter_report(&report, &event.currency, reply))
    }

    pub(super) async fn my_stats(&self, scope: Scope) -> Res {
        let (org, event, m) = promoter_scope(scope);
        let mut reply = Reply::default()
            .titled(format!("Your sales — {}", event.name))
            .private();
        reply = self.promoter_report(&event, &m, reply).await?;
        if org.leaderboard
            && let Some((rank, of)) = self.rank_of(&event, m.id).await?
        {
            reply = reply.line(format!("Leaderboard: you are #{rank} of {of}."));
        }
        Ok(reply)
    }

    pub(super) async fn my_orders(&self, scope: Scope) -> Res {
        let (org, event, m) = promoter_scope(scope);
        let orders = self.store.orders_of_membership(m.id, event.id, 50).await?;
        if orders.is_empty() {
            return Ok(Reply::text(format!(
                "No orders through your links for {} yet. Share `mylink`!",
                event.name
            ))
            .private());
        }
        Ok(render::my_orders(orders, &org.time_zone, &event.name))
    }

    pub(super) async fn stats(&self, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let event = event.expect("resolved by authorize");
        let members = self.store.memberships_of_org(org.id, Some(event.id)).await?;
        if let Some(email) = inv.get("promoter") {
            let Some(m) = members.iter().find(|m| m.email == email && m.status != "invited") else {
                refuse!("{email} is not a promoter of {}.", event.name);
            };
            let reply = Reply::default()
                .titled(format!("{} — {}", m.email, event.name))
                .private();
            return self.promoter_report(&event, m, reply).await;
        }
        let numbers = self.event_numbers(&event, None).await?;
        let report = EventReport::build(&numbers, &members);
        Ok(render::event_report(&report, &event))
    }
}
