//! An organization's promoters: `promoters` lists them, `revoke` ends their memberships.

use super::Core;
use super::args::{Args, Email, EventRef};
use super::command::{Command, declare};
use super::events::{for_column, scope_name};
use super::grants::Organizer;
use super::spec::{ArgKind, CommandSpec, ORG_FLAG, opt, req};
use crate::domain::MembershipStatus;
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply, Table};

type Res = Result<Reply, CommandError>;

/// `promoters [event] [--org]`.
#[derive(Debug)]
pub struct Promoters;

impl Command for Promoters {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Promoters,
        "promoters",
        [opt("event", ArgKind::Event, "only promoters of this event"), ORG_FLAG],
        "List promoters and their status",
        "promoters summer-fest",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(Promoters)
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, .. } = ctx;
        let members = core
            .store
            .memberships_of_org(org.id, event.as_ref().map(|e| e.id))
            .await?;
        if members.is_empty() {
            return Ok(Reply::text(
                "No promoters yet. Invite one with `invite <email> [event]`.",
            ));
        }
        let events = core.store.events_of_org(org.id).await?;
        let mut t = Table::new(&["Email", "Name", "For", "Status"], &[false, false, false, false]);
        for m in &members {
            let scope = for_column(&events, m.event_id);
            t.row(vec![
                m.email.clone(),
                m.display_name.clone().unwrap_or_default(),
                scope,
                if m.left_by_self {
                    "left".to_string()
                } else {
                    m.status.to_string()
                },
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Promoters of {}", scope_name(&org, event.as_ref())))
            .with(Block::Table(t)))
    }
}

/// `revoke <email> [event] [--org]`: with an event, ends that event's membership;
/// without, ends every membership of that person in the organization (event-level
/// ones too).
#[derive(Debug)]
pub struct Revoke {
    pub email: Email,
}

impl Command for Revoke {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Revoke,
        "revoke",
        [
            req("email", ArgKind::Email, "the promoter"),
            opt("event", ArgKind::Event, "the event, if they promote one event"),
            ORG_FLAG,
        ],
        "Revoke a promoter: their links stop working",
        "revoke ana@example.com"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(Revoke {
            email: args.req("email")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, person, .. } = ctx;
        let email = self.email.0.as_str();
        let promoter = core.store.person_by_email(email).await?;
        let live = match &promoter {
            Some(p) => core.store.live_memberships_in_org(org.id, p.id).await?,
            None => Vec::new(),
        };
        let event_id = event.as_ref().map(|e| e.id);
        let ending: Vec<_> = live
            .iter()
            .filter(|m| event_id.is_none() || m.event_id == event_id)
            .collect();
        if ending.is_empty() {
            return refuse!(
                "{email} is not a promoter of {}. Send `promoters` to see them.",
                scope_name(&org, event.as_ref())
            );
        }
        let events = core.store.events_of_org(org.id).await?;
        let label = |m: &crate::store::MembershipRow| match m.event_id {
            None => "all events".to_string(),
            Some(id) => events
                .iter()
                .find(|e| e.id == id)
                .map(|e| format!("{} ({})", e.slug, e.name))
                .unwrap_or_else(|| "an event that no longer exists".into()),
        };
        let ended: Vec<String> = ending.iter().map(|m| label(m)).collect();
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        for m in &ending {
            core.store
                .set_membership_status(&mut tx, m.id, MembershipStatus::Revoked, now)
                .await?;
            core.store.revoke_links_of_membership(&mut tx, m.id, now).await?;
            core.store.cancel_invites_of_membership(&mut tx, m.id, now).await?;
        }
        core.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(person.id),
                "promoter.revoked",
                &format!("{email}: {}", ended.join("; ")),
                now,
            )
            .await?;
        tx.commit().await?;
        let mut reply = Reply::text(format!(
            "{email} is no longer a promoter of {}. Their links stop working; their past sales stay in the numbers.",
            scope_name(&org, event.as_ref())
        ))
        .line(format!("Ended: {}.", ended.join("; ")));
        if event.is_some() && live.iter().any(|m| m.event_id.is_none()) {
            reply = reply.line(format!(
                "They still promote every event of {} through their organization-wide membership; \
                 `revoke {email}` ends that too.",
                org.name
            ));
        }
        Ok(reply)
    }
}
