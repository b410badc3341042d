//! Who is asking and what they may touch: the one place where the permission matrix
//! of DESIGN.md is enforced, before any command runs.

use super::actor::Actor;
use super::spec::{Access, COMMANDS, CommandSpec};
use super::{Core, Invocation};
use crate::domain::PersonId;
use crate::error::{CommandError, UserError};
use crate::store::{EventRow, InviteKind, InviteRow, MembershipRow, OrgRow, OrganizerRole, PersonRow};

/// What a command may act on, decided before it runs.
#[derive(Debug, Clone)]
pub enum Scope {
    /// No organization involved (help, linking, invites addressed to the actor).
    Personal,
    /// A person acting on themselves, in full.
    Person(PersonRow),
    /// An organizer of `org`; `event` when the command names one.
    Organizer {
        org: OrgRow,
        role: OrganizerRole,
        event: Option<EventRow>,
    },
    /// An active promoter of `event` through `membership`.
    Promoter {
        org: OrgRow,
        event: EventRow,
        membership: MembershipRow,
    },
}

type Res<T> = Result<T, CommandError>;

fn no(msg: impl Into<String>) -> CommandError {
    CommandError::User(UserError::new(msg))
}

/// Several of the person's organizations have an event of that short name.
fn ambiguous<'a>(slug: &str, orgs: impl Iterator<Item = &'a OrgRow>, spec: &CommandSpec) -> CommandError {
    let names: Vec<String> = orgs.map(|o| format!("{}/{slug}", o.slug)).collect();
    no(format!(
        "Several of your organizations have an event `{slug}`: name one as {}, e.g. `{} {}`.",
        names.join(" or "),
        spec.name,
        names[0]
    ))
}

/// Whether `actor` may answer this invite (its code is known to them): it must reach the
/// address it was sent to. A forwarded code proves nothing about who is asking, so from a
/// chat account not linked to that address it may not decline someone's invite, nor take
/// an organizer role (buyer data) by the code alone.
pub(super) fn may_answer_invite(actor: &Actor, invite: &InviteRow, accept: bool) -> Res<()> {
    match (&actor.email, &actor.person, &actor.chat) {
        (Some(email), _, _) if *email != invite.email => {
            return Err(no(format!("This invite was sent to another address, not to {email}.")));
        }
        (None, Some(p), Some(_)) if p.email != invite.email => {
            return Err(no(format!(
                "This account is linked to {}, and the invite was sent to another address. Accept it from the invited address.",
                p.email
            )));
        }
        _ => {}
    }
    if !accept && actor.chat.is_some() && actor.person.is_none() {
        return Err(no(
            "This account is not linked to the invited address. To decline, reply `ignore` to the invite mail; \
             or just let the invite expire.",
        ));
    }
    let linked_in_full = actor.person.is_some() && actor.grants.is_none();
    if accept && invite.kind == InviteKind::Organizer && actor.chat.is_some() && !linked_in_full {
        return Err(no(format!(
            "An organizer invite is accepted from the invited address: reply `accept` to the invite mail, \
             or link this account first with `connect {}` and `verify <code>`.",
            invite.email
        )));
    }
    Ok(())
}

/// Organizer invites are the owner's (only the owner sends them): an admin may not renew
/// or cancel one.
pub(super) fn owner_for_organizer_invite(org: &OrgRow, role: OrganizerRole, invite: &InviteRow, what: &str) -> Res<()> {
    if invite.kind == InviteKind::Organizer && role != OrganizerRole::Owner {
        return Err(no(format!(
            "Only the owner of {} can {what} an organizer invite.",
            org.name
        )));
    }
    Ok(())
}

fn commands_for(access: &[Access]) -> String {
    COMMANDS
        .iter()
        .filter(|c| access.contains(&c.access))
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Core {
    /// Decides whether `actor` may run `inv`, and on what.
    pub async fn authorize(&self, actor: &Actor, spec: &CommandSpec, inv: &Invocation) -> Res<Scope> {
        if spec.access == Access::Anyone {
            return Ok(Scope::Personal);
        }
        let Some(person) = &actor.person else {
            return Err(no(self.not_linked_message(actor)));
        };
        match spec.access {
            Access::Anyone => Ok(Scope::Personal),
            Access::Person if actor.grants.is_some() => {
                Err(no(actor.invite_only_message(person, &format!("`{}`", spec.name))))
            }
            Access::Person => Ok(Scope::Person(person.clone())),
            Access::Organizer | Access::Owner if actor.grants.is_some() => {
                Err(no(actor.invite_only_message(person, &format!("`{}`", spec.name))))
            }
            Access::Organizer | Access::Owner => self.organizer_scope(actor, person, spec, inv).await,
            Access::Promoter => self.promoter_scope(actor, person, spec, inv).await,
            Access::Earner => match self.promoter_scope(actor, person, spec, inv).await {
                Err(CommandError::User(refusal)) => match self.former_promoter_scope(actor, person, inv).await? {
                    Some(scope) => Ok(scope),
                    None => Err(CommandError::User(refusal)),
                },
                other => other,
            },
            Access::Member => match self.organizer_scope(actor, person, spec, inv).await {
                Ok(s) => Ok(s),
                Err(CommandError::User(_)) => self.promoter_scope(actor, person, spec, inv).await,
                Err(e) => Err(e),
            },
        }
    }

    fn not_linked_message(&self, actor: &Actor) -> String {
        match (&actor.chat, &actor.email) {
            (Some(c), _) => format!(
                "This {} account is not linked to a promoterd account yet. Send `connect <your email>` and then \
                 `verify <code>` with the code we mail you, or `accept <code>` with the code from your invite.",
                c.platform.label()
            ),
            (None, Some(e)) => format!(
                "{e} is not an organizer or promoter here yet. Ask an organizer to invite you, then accept the invite."
            ),
            (None, None) => "You are not known here yet.".into(),
        }
    }

    async fn organizer_scope(
        &self,
        actor: &Actor,
        person: &PersonRow,
        spec: &CommandSpec,
        inv: &Invocation,
    ) -> Res<Scope> {
        let orgs = self.orgs_of_actor(actor, person).await?;
        let (org, role, mut event) = match inv.get("event") {
            Some(slug) => {
                let (o, r, e) = self
                    .organizer_of_event(actor, person, &orgs, slug, inv.get("org"), spec)
                    .await?;
                (o, r, Some(e))
            }
            None => {
                let (o, r) = self
                    .organizer_of_org(actor, person, &orgs, inv.get("org"), spec)
                    .await?;
                (o, r, None)
            }
        };
        if spec.access == Access::Owner && role != OrganizerRole::Owner {
            return Err(no(format!("Only the owner of {} can use `{}`.", org.name, spec.name)));
        }
        if event.is_none() && spec.picks_only_event {
            event = Some(self.only_event(&org, spec).await?);
        }
        Ok(Scope::Organizer { org, role, event })
    }

    /// The organization (and role) through which the actor organizes the event named
    /// `slug` (within `--org` when given). A promoter of that event learns the command
    /// is organizer-only; others learn nothing about it.
    async fn organizer_of_event(
        &self,
        actor: &Actor,
        person: &PersonRow,
        orgs: &[(OrgRow, OrganizerRole)],
        slug: &str,
        org_flag: Option<&str>,
        spec: &CommandSpec,
    ) -> Res<(OrgRow, OrganizerRole, EventRow)> {
        let named = self.store.events_named(slug).await?;
        let mut found: Vec<(OrgRow, OrganizerRole, EventRow)> = named
            .iter()
            .filter_map(|e| {
                orgs.iter()
                    .find(|(o, _)| o.id == e.org_id && org_flag.is_none_or(|s| s == o.slug))
                    .map(|(o, r)| (o.clone(), *r, e.clone()))
            })
            .collect();
        if found.len() > 1 {
            return Err(ambiguous(slug, found.iter().map(|(o, _, _)| o), spec));
        }
        if let Some(hit) = found.pop() {
            return Ok(hit);
        }
        for e in &named {
            if self.promoter_membership_for(actor, person, e).await?.is_some() {
                let org = self.store.org(e.org_id).await?.map(|o| o.name).unwrap_or_default();
                return Err(organizer_only(spec, &org));
            }
        }
        Err(no(format!("You have no event `{slug}`. Send `events` to list yours.")))
    }

    /// The organization the actor organizes when no event is named: the one given with
    /// `--org`, or their only one.
    async fn organizer_of_org(
        &self,
        actor: &Actor,
        person: &PersonRow,
        orgs: &[(OrgRow, OrganizerRole)],
        org_flag: Option<&str>,
        spec: &CommandSpec,
    ) -> Res<(OrgRow, OrganizerRole)> {
        let picked = match org_flag {
            Some(slug) => orgs.iter().find(|(o, _)| o.slug == slug).cloned(),
            None if orgs.len() > 1 => {
                let names: Vec<&str> = orgs.iter().map(|(o, _)| o.slug.as_str()).collect();
                return Err(no(format!(
                    "You organize several organizations ({}). Add --org <name>, e.g. `{} --org {}`.",
                    names.join(", "),
                    spec.name,
                    names[0]
                )));
            }
            None => orgs.first().cloned(),
        };
        if let Some(hit) = picked {
            return Ok(hit);
        }
        if let Some(m) = self.memberships_of_actor(actor, person).await?.first() {
            let org = self.store.org(m.org_id).await?.map(|o| o.name).unwrap_or_default();
            return Err(organizer_only(spec, &org));
        }
        Err(match org_flag {
            Some(slug) => no(format!("You are not an organizer of `{slug}`.")),
            None => no(format!(
                "`{}` is for organizers, and you are not an organizer of any organization.",
                spec.name
            )),
        })
    }

    async fn only_event(&self, org: &OrgRow, spec: &CommandSpec) -> Res<EventRow> {
        let events = self.store.events_of_org(org.id).await?;
        let now = self.clock.now() - chrono::Duration::days(1);
        let upcoming: Vec<&EventRow> = events.iter().filter(|e| e.starts_at >= now).collect();
        match (events.len(), upcoming.len()) {
            (0, _) => Err(no(format!(
                "{} has no events yet. Create one with `newevent`.",
                org.name
            ))),
            (1, _) => Ok(events[0].clone()),
            (_, 1) => Ok(upcoming[0].clone()),
            _ => Err(no(format!(
                "Which event? {} — e.g. `{}`.",
                events.iter().map(|e| e.slug.as_str()).collect::<Vec<_>>().join(", "),
                spec.with_event(&events[0].slug)
            ))),
        }
    }

    /// The active membership through which the actor promotes an event.
    pub async fn promoter_membership_for(
        &self,
        actor: &Actor,
        person: &PersonRow,
        event: &EventRow,
    ) -> Res<Option<MembershipRow>> {
        let ms = self.memberships_of_actor(actor, person).await?;
        // An event-level membership is more specific than an organization-wide one.
        Ok(ms
            .iter()
            .find(|m| m.event_id == Some(event.id))
            .or_else(|| ms.iter().find(|m| m.org_id == event.org_id && m.event_id.is_none()))
            .cloned())
    }

    async fn promoter_scope(
        &self,
        actor: &Actor,
        person: &PersonRow,
        spec: &CommandSpec,
        inv: &Invocation,
    ) -> Res<Scope> {
        let (org, event, membership) = match inv.get("event") {
            Some(slug) => self.promoter_of_event(actor, person, slug, spec).await?,
            None => self.promoter_of_only_event(actor, person, spec).await?,
        };
        Ok(Scope::Promoter { org, event, membership })
    }

    /// " As an organizer, use: …" for someone who also organizes, else nothing.
    async fn organizer_hint(&self, actor: &Actor, person: &PersonRow) -> Res<String> {
        Ok(if self.orgs_of_actor(actor, person).await?.is_empty() {
            String::new()
        } else {
            format!(
                " As an organizer, use: {}.",
                commands_for(&[Access::Organizer, Access::Member])
            )
        })
    }

    /// The event named `slug` that the actor promotes, with its organization and the
    /// membership they promote it through.
    async fn promoter_of_event(
        &self,
        actor: &Actor,
        person: &PersonRow,
        slug: &str,
        spec: &CommandSpec,
    ) -> Res<(OrgRow, EventRow, MembershipRow)> {
        // Per event, the membership the actor may use: an event-level one is more
        // specific than an organization-wide one (rows come by event, then membership).
        let mut found: Vec<(OrgRow, EventRow, MembershipRow)> = Vec::new();
        for (org, event, m) in self.store.promoted_events_named(person.id, slug).await? {
            if actor.grants.as_ref().is_some_and(|g| !g.contains(&m.id)) {
                continue;
            }
            match found.last_mut() {
                Some(last) if last.1.id == event.id => {
                    if last.2.event_id.is_none() && m.event_id.is_some() {
                        last.2 = m;
                    }
                }
                _ => found.push((org, event, m)),
            }
        }
        if found.len() > 1 {
            return Err(ambiguous(slug, found.iter().map(|(o, _, _)| o), spec));
        }
        match found.pop() {
            Some(hit) => Ok(hit),
            None => Err(no(format!(
                "You are not a promoter of `{slug}`.{}",
                self.organizer_hint(actor, person).await?
            ))),
        }
    }

    /// With no event named: the actor's only event, or their only upcoming one.
    async fn promoter_of_only_event(
        &self,
        actor: &Actor,
        person: &PersonRow,
        spec: &CommandSpec,
    ) -> Res<(OrgRow, EventRow, MembershipRow)> {
        let ms = self.memberships_of_actor(actor, person).await?;
        let mut choices: Vec<(EventRow, MembershipRow)> = Vec::new();
        for m in &ms {
            let events = match m.event_id {
                Some(id) => self.store.event(id).await?.into_iter().collect(),
                None => self.store.events_of_org(m.org_id).await?,
            };
            for e in events {
                if !choices.iter().any(|(c, _)| c.id == e.id) {
                    choices.push((e, m.clone()));
                }
            }
        }
        let now = self.clock.now() - chrono::Duration::days(1);
        let upcoming: Vec<&(EventRow, MembershipRow)> = choices.iter().filter(|(e, _)| e.starts_at >= now).collect();
        let (event, membership) = match (choices.len(), upcoming.len()) {
            (0, _) if ms.is_empty() => {
                return Err(no(format!(
                    "`{}` is for promoters, and you are not an active promoter yet. Accept an invite with `accept <code>`.{}",
                    spec.name,
                    self.organizer_hint(actor, person).await?
                )));
            }
            (0, _) => return Err(no("Your organization has no events yet.")),
            (1, _) => choices[0].clone(),
            (_, 1) => upcoming[0].clone(),
            _ => {
                let slugs: Vec<&str> = choices.iter().map(|(e, _)| e.slug.as_str()).collect();
                return Err(no(format!(
                    "Which event? {} — e.g. `{}`.",
                    slugs.join(", "),
                    spec.with_event(slugs[0])
                )));
            }
        };
        let org = self
            .store
            .org(event.org_id)
            .await?
            .ok_or_else(|| no("That organization no longer exists."))?;
        Ok((org, event, membership))
    }
}

impl Core {
    /// For a promoter who left or was revoked: the event named (or their only event with
    /// commissions) through an ended membership that covers it, one the account holds.
    /// None when there is no such single event: the active-promoter refusal stands.
    async fn former_promoter_scope(&self, actor: &Actor, person: &PersonRow, inv: &Invocation) -> Res<Option<Scope>> {
        let mut ended = self.store.ended_memberships_of(person.id).await?;
        if let Some(grants) = &actor.grants {
            ended.retain(|m| grants.contains(&m.id));
        }
        if ended.is_empty() {
            return Ok(None);
        }
        let events: Vec<EventRow> = match inv.get("event") {
            Some(slug) => self.store.events_named(slug).await?,
            None => {
                let mut found = Vec::new();
                for id in self.store.events_with_commissions_of(person.id).await? {
                    found.extend(self.store.event(id).await?);
                }
                found
            }
        };
        let covered: Vec<(EventRow, MembershipRow)> = events
            .into_iter()
            .filter_map(|e| {
                let m = ended
                    .iter()
                    .find(|m| m.event_id == Some(e.id))
                    .or_else(|| ended.iter().find(|m| m.org_id == e.org_id && m.event_id.is_none()))?;
                Some((e, m.clone()))
            })
            .collect();
        let [(event, membership)] = covered.as_slice() else {
            return Ok(None);
        };
        let Some(org) = self.store.org(event.org_id).await? else {
            return Ok(None);
        };
        Ok(Some(Scope::Promoter {
            org,
            event: event.clone(),
            membership: membership.clone(),
        }))
    }
}

/// Who may turn back on a link that was turned off on its own: an organizer of its
/// organization any; a promoter only one they turned off themselves.
pub(super) fn may_turn_link_back_on(
    organizer: bool,
    person_id: PersonId,
    link: &crate::store::LinkRow,
    shown: &str,
) -> Res<()> {
    if organizer || link.disabled_by == Some(person_id) {
        return Ok(());
    }
    Err(no(format!(
        "The organizer turned the link `{shown}` off; ask them to turn it back on."
    )))
}

/// A promoter asked for an organizer command of `org_name`: what they can use instead.
fn organizer_only(spec: &CommandSpec, org_name: &str) -> CommandError {
    no(format!(
        "`{}` is for organizers of {org_name}. As a promoter you can use: {}.",
        spec.name,
        commands_for(&[Access::Promoter, Access::Earner, Access::Member])
    ))
}
