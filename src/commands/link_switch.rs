//! `disablelink` / `enablelink`: one tracking link off or on without touching its
//! promoter. Organizers reach any link of their organization, promoters their own.

use super::Core;
use super::args::Args;
use super::command::{Command, declare};
use super::grants::{Member, Organizer};
use super::spec::{ArgKind, ArgSpec, CommandSpec, EVENT_OPT, req};
use crate::domain::LinkKind;
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::Reply;
use crate::store::{EventRow, LinkRow, PersonRow, StoreError};

type Res = Result<Reply, CommandError>;

const LINK: ArgSpec = req(
    "link",
    ArgKind::Text,
    "the link's address or code; promoters may also give its label",
);

/// `disablelink <link> [event]`.
#[derive(Debug)]
pub struct DisableLink {
    pub link: String,
}

impl Command for DisableLink {
    type Grant = Member<Organizer>;
    const SPEC: CommandSpec = declare!(
        DisableLink,
        "disablelink",
        [LINK, EVENT_OPT],
        "Turn one tracking link off: it stops counting, its promoter stays",
        "disablelink flyers summer-fest"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(DisableLink {
            link: args.req("link")?,
        })
    }

    async fn run(self, core: &Core, ctx: Member<Organizer>) -> Res {
        core.switch_link(ctx, &self.link, false).await
    }
}

/// `enablelink <link> [event]`.
#[derive(Debug)]
pub struct EnableLink {
    pub link: String,
}

impl Command for EnableLink {
    type Grant = Member<Organizer>;
    const SPEC: CommandSpec = declare!(
        EnableLink,
        "enablelink",
        [LINK, EVENT_OPT],
        "Turn a link that was turned off with `disablelink` back on",
        "enablelink flyers summer-fest"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(EnableLink {
            link: args.req("link")?,
        })
    }

    async fn run(self, core: &Core, ctx: Member<Organizer>) -> Res {
        core.switch_link(ctx, &self.link, true).await
    }
}

/// The code in a link's address (`https://…/t/<code>?utm…`) or a bare code, lowercased.
fn code_in(given: &str) -> String {
    let tail = given.rsplit_once("/t/").map(|(_, t)| t).unwrap_or(given);
    tail.split(['?', '#', '/'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

impl Core {
    async fn switch_link(&self, ctx: Member<Organizer>, given: &str, on: bool) -> Res {
        let (link, event, person, organizer) = self.link_in_scope(ctx, given).await?;
        let name = link.shown_label();
        if link.kind == LinkKind::Main {
            return refuse!(
                "`{name}` is the promoter's main link for {}: it goes off only with the promoter \
                 (`revoke`). Turn off a channel or sub-promoter link instead.",
                event.name
            );
        }
        let mut tx = self.store.write().await?;
        let changed = if on {
            if !link.revoked {
                return refuse!("The link `{name}` of {} is on already.", event.name);
            }
            super::access::may_turn_link_back_on(organizer, person.id, &link, &name)?;
            self.store.enable_link(&mut tx, link.id).await?
        } else {
            if link.revoked {
                return refuse!("The link `{name}` of {} is off already.", event.name);
            }
            self.store
                .disable_link(&mut tx, link.id, person.id, self.clock.now())
                .await?
        };
        if !changed {
            return refuse!(
                "The link `{name}` went off with its promoter (`revoke`): it cannot be turned back on alone."
            );
        }
        let what = if on { "link.enabled" } else { "link.disabled" };
        let detail = format!("{} {} {name}", link.code, event.slug);
        self.store
            .audit(
                &mut tx,
                Some(link.org_id),
                Some(person.id),
                what,
                &detail,
                self.clock.now(),
            )
            .await?;
        tx.commit().await?;
        let url = self.link_url(&link.code);
        Ok(if on {
            Reply::text(format!("The link `{name}` of {} is on again: {url}", event.name))
        } else {
            Reply::text(format!(
                "The link `{name}` of {} is off: it no longer leads to the ticket page, and orders \
                 that still carry it count for nobody. Everything else stays as it was.",
                event.name
            ))
            .line(format!("Undo with `enablelink {} {}`.", link.code, event.slug))
        })
    }

    /// The link `given` names within the scope: any of the organization's for an
    /// organizer, the promoter's own otherwise; with its event, and whether the asker
    /// organizes.
    async fn link_in_scope(
        &self,
        ctx: Member<Organizer>,
        given: &str,
    ) -> Result<(LinkRow, EventRow, PersonRow, bool), CommandError> {
        let code = code_in(given);
        Ok(match ctx {
            Member::Organizer(o) => {
                let Organizer { org, event, person, .. } = *o;
                let found = self
                    .store
                    .link_by_code(&code)
                    .await?
                    .filter(|l| l.org_id == org.id && event.as_ref().is_none_or(|e| e.id == l.event_id));
                let Some(link) = found else {
                    return refuse!(
                        "{} has no tracking link `{given}`: give the link's address or its code, \
                         as `stats` and `orglinks` show them.",
                        org.name
                    );
                };
                let event = match event {
                    Some(e) => e,
                    None => self
                        .store
                        .event(link.event_id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt(format!("link {} names no event", link.id)))?,
                };
                (link, event, person, true)
            }
            Member::Promoter(p) => {
                let mine = self.store.links_of_membership(p.membership.id, p.event.id).await?;
                let link = self.own_link(&mine, given, &code, &p.event)?;
                (link, p.event, p.person, false)
            }
        })
    }

    /// The promoter's own link named by its code, address or label.
    fn own_link(&self, mine: &[LinkRow], given: &str, code: &str, event: &EventRow) -> Result<LinkRow, CommandError> {
        if let Some(l) = mine.iter().find(|l| l.code == code) {
            return Ok(l.clone());
        }
        let by_label: Vec<&LinkRow> = mine
            .iter()
            .filter(|l| {
                l.label.eq_ignore_ascii_case(given.trim()) || l.shown_label().eq_ignore_ascii_case(given.trim())
            })
            .collect();
        match by_label.as_slice() {
            [one] => Ok((*one).clone()),
            [] => refuse!(
                "You have no link `{given}` for {}. Send `links {}` to see yours.",
                event.name,
                event.slug
            ),
            several => {
                let codes: Vec<String> = several
                    .iter()
                    .map(|l| format!("{} ({})", l.code, l.shown_label()))
                    .collect();
                refuse!(
                    "Several of your links are labelled `{given}`: name one by its code: {}.",
                    codes.join(", ")
                )
            }
        }
    }
}
