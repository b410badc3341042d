//! The leaderboard: `setleaderboard` turns it on or off for an organization, `leaderboard`
//! shows it; `mystats` tells a promoter their rank.

use super::stats::render;
use super::stats::report::Leaderboard;
use super::{Actor, Core, Invocation, Scope, organizer_scope};
use crate::error::CommandError;
use crate::refuse;
use crate::reply::Reply;
use crate::store::EventRow;

type Res = Result<Reply, CommandError>;

impl Core {
    pub(super) async fn set_leaderboard(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, _) = organizer_scope(scope);
        let on = inv.req("state") == "on";
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        self.store.set_leaderboard(&mut tx, org.id, on).await?;
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "leaderboard",
                inv.req("state"),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(if on {
            format!(
                "The leaderboard of {} is on: promoters see ranks and display names with `leaderboard`.",
                org.name
            )
        } else {
            format!("The leaderboard of {} is off.", org.name)
        }))
    }

    /// Active promoters of an event ranked by net tickets, then net revenue.
    async fn ranking(&self, event: &EventRow) -> Result<Leaderboard, CommandError> {
        let members = self.store.memberships_of_org(event.org_id, Some(event.id)).await?;
        let numbers = self.event_numbers(event, None).await?;
        Ok(Leaderboard::build(&numbers, &members))
    }

    /// A promoter's (rank, places) on the leaderboard of an event.
    pub(super) async fn rank_of(
        &self,
        event: &EventRow,
        membership_id: i64,
    ) -> Result<Option<(usize, usize)>, CommandError> {
        Ok(self.ranking(event).await?.rank_of(membership_id))
    }

    pub(super) async fn leaderboard(&self, scope: Scope) -> Res {
        let (org, event, me, organizer) = match scope {
            Scope::Organizer { org, event, .. } => (org, event.expect("resolved by authorize"), None, true),
            Scope::Promoter { org, event, membership } => (org, event, Some(membership.id), false),
            Scope::Personal | Scope::Person(_) => unreachable!("leaderboard needs a member scope"),
        };
        if !org.leaderboard {
            let hint = if organizer {
                " Turn it on with `setleaderboard on`."
            } else {
                ""
            };
            refuse!("The leaderboard of {} is off.{hint}", org.name);
        }
        let board = self.ranking(&event).await?;
        Ok(render::leaderboard(&board, &event.name, me, organizer))
    }
}
