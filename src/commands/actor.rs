//! Who is asking: the person behind a chat account, an email sender or the console, and
//! how much of theirs the account may act for (in full, or only invite-granted memberships).

use super::{Core, Origin};
use crate::domain::MembershipId;
use crate::error::CommandError;
use crate::store::{ChatAccount, MembershipRow, OrgRow, OrganizerRole, PersonRow};

type Res<T> = Result<T, CommandError>;

/// The person behind a request, as far as we know them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub origin: Origin,
    /// The linked person; `None` for an unlinked chat account or an unknown address.
    pub person: Option<PersonRow>,
    /// The address this request proves (console operator, email sender).
    pub email: Option<String>,
    /// The chat account this request comes from.
    pub chat: Option<ChatAccount>,
    /// A chat account linked by redeeming an invite holds only the memberships it
    /// redeemed (`Some`); one linked by `connect` + `verify` acts as the person (`None`).
    pub grants: Option<Vec<MembershipId>>,
}

impl Actor {
    /// The chat account's own words for what it may not do while linked by invite only.
    pub(super) fn invite_only_message(&self, person: &PersonRow, what: &str) -> String {
        format!(
            "This account was linked by an invite code and holds only that invite's promoter access. \
             {what} needs it linked to {email} in full: send `connect {email}`, then `verify <code>` with the \
             code we mail there.",
            email = person.email
        )
    }
}

impl Core {
    /// Finds the person behind an origin; never creates anything.
    pub async fn resolve_actor(&self, origin: &Origin) -> Res<Actor> {
        Ok(match origin {
            Origin::Console { email } | Origin::Email { from: email } => {
                let email = super::parse_email(email).unwrap_or_else(|| email.trim().to_lowercase());
                Actor {
                    origin: origin.clone(),
                    person: self.store.person_by_email(&email).await?,
                    email: Some(email),
                    chat: None,
                    grants: None,
                }
            }
            Origin::Chat {
                platform,
                user_id,
                username,
            } => {
                let account = ChatAccount {
                    platform: *platform,
                    external_id: user_id.clone(),
                    username: username.clone(),
                };
                let link = self.store.chat_link(account.platform, user_id).await?;
                let (person, grants) = match link {
                    Some(l) => (Some(l.person), l.grants),
                    None => (None, None),
                };
                Actor {
                    origin: origin.clone(),
                    person,
                    email: None,
                    chat: Some(account),
                    grants,
                }
            }
        })
    }

    /// The organizations the actor organizes: none for a chat account linked by invite only.
    pub async fn orgs_of_actor(&self, actor: &Actor, person: &PersonRow) -> Res<Vec<(OrgRow, OrganizerRole)>> {
        if actor.grants.is_some() {
            return Ok(Vec::new());
        }
        Ok(self.store.orgs_organized_by(person.id).await?)
    }

    /// The actor's active memberships: a chat account linked by invite holds only those it
    /// redeemed, never one that reaches the person's address later.
    pub async fn memberships_of_actor(&self, actor: &Actor, person: &PersonRow) -> Res<Vec<MembershipRow>> {
        let mut ms = self.store.active_memberships_of(person.id).await?;
        if let Some(grants) = &actor.grants {
            ms.retain(|m| grants.contains(&m.id));
        }
        Ok(ms)
    }
}
