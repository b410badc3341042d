//! The leaderboard: `setleaderboard` turns it on or off for an organization, `leaderboard`
//! shows it; `mystats` tells a promoter their rank.

use super::Core;
use super::args::{Args, OnOff};
use super::command::{Command, declare};
use super::grants::{Member, Organizer, OrganizerOfEvent};
use super::spec::{CommandSpec, EVENT_OPT, ON_OFF, ORG_FLAG, req};
use super::stats::render;
use super::stats::report::Leaderboard as Board;
use crate::domain::MembershipId;
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::Reply;
use crate::store::EventRow;

type Res = Result<Reply, CommandError>;

/// `setleaderboard on|off`.
#[derive(Debug)]
pub struct SetLeaderboard {
    pub state: OnOff,
}

impl Command for SetLeaderboard {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        SetLeaderboard,
        "setleaderboard",
        [req("state", ON_OFF, "on or off"), ORG_FLAG],
        "Show promoters a leaderboard of ranks and names, or hide it",
        "setleaderboard on"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(SetLeaderboard {
            state: args.req("state")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person, .. } = ctx;
        let on = self.state.0;
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store.set_leaderboard(&mut tx, org.id, on).await?;
        let state = if on { "on" } else { "off" };
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "leaderboard", state, now)
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
}

/// `leaderboard [event]`: ranks and names; the organizer also sees tickets.
#[derive(Debug)]
pub struct Leaderboard;

impl Command for Leaderboard {
    type Grant = Member<OrganizerOfEvent>;
    const SPEC: CommandSpec = declare!(
        Leaderboard,
        "leaderboard",
        [EVENT_OPT],
        "Promoter ranks for an event, when the organizer has turned it on",
        "leaderboard summer-fest",
        picks_only_event = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(Leaderboard)
    }

    async fn run(self, core: &Core, ctx: Member<OrganizerOfEvent>) -> Res {
        let (org, event, me, organizer) = match ctx {
            Member::Organizer(o) => (o.org, o.event, None, true),
            Member::Promoter(p) => (p.org, p.event, Some(p.membership.id), false),
        };
        if !org.leaderboard {
            let hint = if organizer {
                " Turn it on with `setleaderboard on`."
            } else {
                ""
            };
            return refuse!("The leaderboard of {} is off.{hint}", org.name);
        }
        let board = core.ranking(&event).await?;
        Ok(render::leaderboard(&board, &event.name, me, organizer))
    }
}

impl Core {
    /// Active promoters of an event ranked by net tickets, then net revenue.
    async fn ranking(&self, event: &EventRow) -> Result<Board, CommandError> {
        let members = self.store.memberships_of_org(event.org_id, Some(event.id)).await?;
        let numbers = self.event_numbers(event, None).await?;
        Ok(Board::build(&numbers, &members))
    }

    /// A promoter's (rank, places) on the leaderboard of an event.
    pub(super) async fn rank_of(
        &self,
        event: &EventRow,
        membership_id: MembershipId,
    ) -> Result<Option<(usize, usize)>, CommandError> {
        Ok(self.ranking(event).await?.rank_of(membership_id))
    }
}
