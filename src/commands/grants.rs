//! What `access.rs` hands a command once it may run: one context per audience, with
//! the person, organization, event and membership present rather than optional, so
//! a command cannot act outside what was decided for it.

use super::access::Scope;
use super::actor::Actor;
use super::spec::Access;
use crate::error::CommandError;
use crate::store::{EventRow, MembershipRow, OrgRow, OrganizerRole, PersonRow};

/// A context a command runs in; [`Grant::ACCESS`] is the audience its declaration names.
pub trait Grant: Sized + Send {
    /// Who may run a command with this context.
    const ACCESS: Access;
    /// The context from the scope `authorize` decided for [`Grant::ACCESS`].
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError>;
}

fn mismatch(want: &'static str) -> CommandError {
    CommandError::Invariant(format!("authorization did not produce {want}"))
}

fn person_of(actor: &Actor) -> Result<PersonRow, CommandError> {
    actor.person.clone().ok_or_else(|| mismatch("a person"))
}

/// Anyone, also an unlinked chat account or an unknown address.
#[derive(Debug)]
pub struct Anyone {
    pub actor: Actor,
}

impl Grant for Anyone {
    const ACCESS: Access = Access::Anyone;
    fn grant(actor: Actor, _: Scope) -> Result<Self, CommandError> {
        Ok(Anyone { actor })
    }
}

/// A person known here, acting on themselves in full.
#[derive(Debug)]
pub struct Person {
    pub actor: Actor,
    pub person: PersonRow,
}

impl Grant for Person {
    const ACCESS: Access = Access::Person;
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError> {
        match scope {
            Scope::Person(person) => Ok(Person { actor, person }),
            _ => Err(mismatch("a person scope")),
        }
    }
}

/// An owner or admin of `org`; `event` when the command named one.
#[derive(Debug)]
pub struct Organizer {
    pub actor: Actor,
    pub person: PersonRow,
    pub org: OrgRow,
    pub role: OrganizerRole,
    pub event: Option<EventRow>,
}

impl Grant for Organizer {
    const ACCESS: Access = Access::Organizer;
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError> {
        match scope {
            Scope::Organizer { org, role, event } => Ok(Organizer {
                person: person_of(&actor)?,
                actor,
                org,
                role,
                event,
            }),
            _ => Err(mismatch("an organizer scope")),
        }
    }
}

/// An owner or admin of `org` acting on one of its events (named, or its only one).
#[derive(Debug)]
pub struct OrganizerOfEvent {
    pub actor: Actor,
    pub person: PersonRow,
    pub org: OrgRow,
    pub role: OrganizerRole,
    pub event: EventRow,
}

impl Grant for OrganizerOfEvent {
    const ACCESS: Access = Access::Organizer;
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError> {
        let o = Organizer::grant(actor, scope)?;
        let event = o.event.ok_or_else(|| mismatch("an event"))?;
        Ok(OrganizerOfEvent {
            actor: o.actor,
            person: o.person,
            org: o.org,
            role: o.role,
            event,
        })
    }
}

/// The owner of `org`.
#[derive(Debug)]
pub struct Owner {
    pub actor: Actor,
    pub person: PersonRow,
    pub org: OrgRow,
}

impl Grant for Owner {
    const ACCESS: Access = Access::Owner;
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError> {
        match scope {
            Scope::Organizer {
                org,
                role: OrganizerRole::Owner,
                ..
            } => Ok(Owner {
                person: person_of(&actor)?,
                actor,
                org,
            }),
            _ => Err(mismatch("an owner scope")),
        }
    }
}

/// An active promoter of `event` through `membership`.
#[derive(Debug)]
pub struct Promoter {
    pub actor: Actor,
    pub person: PersonRow,
    pub org: OrgRow,
    pub event: EventRow,
    pub membership: MembershipRow,
}

impl Grant for Promoter {
    const ACCESS: Access = Access::Promoter;
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError> {
        match scope {
            Scope::Promoter { org, event, membership } => Ok(Promoter {
                person: person_of(&actor)?,
                actor,
                org,
                event,
                membership,
            }),
            _ => Err(mismatch("a promoter scope")),
        }
    }
}

/// A promoter of the event in scope through `membership`, active or ended (left or
/// revoked): for reading what they earned.
#[derive(Debug)]
pub struct Earner(pub Promoter);

impl Grant for Earner {
    const ACCESS: Access = Access::Earner;
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError> {
        Promoter::grant(actor, scope).map(Earner)
    }
}

/// An organizer (context `O`) or an active promoter of the event in scope.
#[derive(Debug)]
pub enum Member<O> {
    Organizer(Box<O>),
    Promoter(Box<Promoter>),
}

impl<O: Grant> Grant for Member<O> {
    const ACCESS: Access = Access::Member;
    fn grant(actor: Actor, scope: Scope) -> Result<Self, CommandError> {
        match scope {
            Scope::Promoter { .. } => Promoter::grant(actor, scope).map(|p| Member::Promoter(Box::new(p))),
            _ => O::grant(actor, scope).map(|o| Member::Organizer(Box::new(o))),
        }
    }
}
