//! `leave`: a promoter ends their own promoting for an organization or one event. Their
//! links stop; their past sales stay in the organizer's numbers under their name.

use super::Core;
use super::args::{Args, Slug};
use super::command::{Command, declare};
use super::grants::Person;
use super::spec::{ArgKind, CommandSpec, opt};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::Reply;
use crate::store::{EventRow, MembershipRow, OrgRow};

type Res = Result<Reply, CommandError>;

/// `leave [organization|event]`.
#[derive(Debug)]
pub struct Leave {
    pub name: Option<Slug>,
}

impl Command for Leave {
    type Grant = Person;
    const SPEC: CommandSpec = declare!(
        Leave,
        "leave",
        [opt(
            "name",
            ArgKind::Slug,
            "the organization (all its events) or the one event you stop promoting"
        )],
        "Stop promoting: your links stop working; your past sales stay counted",
        "leave summer-fest",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Leave {
            name: args.opt("name")?,
        })
    }

    async fn run(self, core: &Core, ctx: Person) -> Res {
        let Person { person, .. } = ctx;
        let mine = core.store.active_memberships_of(person.id).await?;
        if mine.is_empty() {
            return refuse!("You do not promote for any organization here: there is nothing to leave.");
        }
        let mut orgs: Vec<OrgRow> = Vec::new();
        let mut events: Vec<EventRow> = Vec::new();
        for m in &mine {
            if !orgs.iter().any(|o| o.id == m.org_id)
                && let Some(o) = core.store.org(m.org_id).await?
            {
                events.extend(core.store.events_of_org(o.id).await?);
                orgs.push(o);
            }
        }
        let (org, ending, what) = choose(self.name.as_deref(), &mine, &orgs, &events)?;
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        for m in &ending {
            core.store.leave_membership(&mut tx, m.id, now).await?;
            core.store.revoke_links_of_membership(&mut tx, m.id, now).await?;
            core.store.cancel_invites_of_membership(&mut tx, m.id, now).await?;
        }
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "promoter.left", &what, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "You no longer promote {what}. Your links stop working; the sales you brought stay in {}'s numbers \
             under your name. To promote again, ask them for a new invite.",
            org.name
        )))
    }
}

/// What `leave [name]` ends: the organization, its memberships of the person, and how
/// to say it. `mine` are the person's active memberships; `orgs` and `events` theirs.
fn choose<'a>(
    name: Option<&str>,
    mine: &'a [MembershipRow],
    orgs: &'a [OrgRow],
    events: &'a [EventRow],
) -> Result<(&'a OrgRow, Vec<&'a MembershipRow>, String), CommandError> {
    let Some(name) = name else {
        if let [org] = orgs {
            return Ok((org, mine.iter().collect(), format!("every event of {}", org.name)));
        }
        let names: Vec<&str> = orgs.iter().map(|o| o.slug.as_str()).collect();
        return refuse!(
            "You promote for several organizations ({}): name the one to leave, e.g. `leave {}`.",
            names.join(", "),
            names.first().copied().unwrap_or("<organization>")
        );
    };
    if let Some(o) = orgs.iter().find(|o| o.slug == name) {
        let ending = mine.iter().filter(|m| m.org_id == o.id).collect();
        return Ok((o, ending, format!("every event of {}", o.name)));
    }
    let named: Vec<&EventRow> = events.iter().filter(|e| e.slug == name).collect();
    let [event] = named.as_slice() else {
        if named.len() > 1 {
            return refuse!(
                "Several of your organizations have an event `{name}`: leave the organization instead, or ask \
                 its organizer to end that event's membership."
            );
        }
        return refuse!("You do not promote `{name}`. Send `whoami` to see what you promote.");
    };
    let Some(o) = orgs.iter().find(|o| o.id == event.org_id) else {
        return Err(CommandError::Invariant(format!(
            "event {} of an organization not read",
            event.id
        )));
    };
    let ending: Vec<&MembershipRow> = mine.iter().filter(|m| m.event_id == Some(event.id)).collect();
    if ending.is_empty() {
        return refuse!(
            "You promote every event of {} through one membership, so one event cannot be left alone. \
             `leave {}` ends all of it.",
            o.name,
            o.slug
        );
    }
    Ok((o, ending, format!("{} ({})", event.name, o.name)))
}
