//! Invites: `invite`, `inviteadmin`, `invites`, `resend`, `cancelinvite`, and the invite mail.

use super::Core;
use super::args::{Args, Email, EventRef};
use super::command::{Command, declare};
use super::events::{for_column, scope_name};
use super::grants::{Organizer, Owner};
use super::local_time::{local_clock, local_time};
use super::spec::{ArgKind, ArgSpec, CommandSpec, ORG_FLAG, opt, req};
use crate::codes;
use crate::domain::{EventId, InviteId, InviteStatus, MembershipStatus};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{EventRow, InviteKind, InviteRow, NewInvite, OrgRow, OrganizerRole, PersonRow};

type Res = Result<Reply, CommandError>;

/// `invite <email> [event] [--org]`: a promoter, to one event or to all of them.
#[derive(Debug)]
pub struct Invite {
    pub email: Email,
}

impl Command for Invite {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Invite,
        "invite",
        [
            req("email", ArgKind::Email, "who to invite"),
            opt(
                "event",
                ArgKind::Event,
                "one event; leave out to invite to every event of the organization"
            ),
            ORG_FLAG,
        ],
        "Invite a promoter by email, to one event or to all events",
        "invite ana@example.com summer-fest"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(Invite {
            email: args.req("email")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person, event, .. } = ctx;
        core.send_invite(&org, event.as_ref(), &person, &self.email, InviteKind::Promoter)
            .await
    }
}

/// `inviteadmin <email> [--org]`: an admin organizer (the owner invites them).
#[derive(Debug)]
pub struct InviteAdmin {
    pub email: Email,
}

impl Command for InviteAdmin {
    type Grant = Owner;
    const SPEC: CommandSpec = declare!(
        InviteAdmin,
        "inviteadmin",
        [req("email", ArgKind::Email, "who to invite"), ORG_FLAG],
        "Invite a collaborator as an admin organizer (owner only)",
        "inviteadmin sam@example.com"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(InviteAdmin {
            email: args.req("email")?,
        })
    }

    async fn run(self, core: &Core, ctx: Owner) -> Res {
        let Owner { org, person, .. } = ctx;
        core.send_invite(&org, None, &person, &self.email, InviteKind::Organizer)
            .await
    }
}

/// `invites [event] [--org]`.
#[derive(Debug)]
pub struct Invites;

impl Command for Invites {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Invites,
        "invites",
        [opt("event", ArgKind::Event, "only this event's invites"), ORG_FLAG],
        "List invites and their status",
        "invites",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(Invites)
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, .. } = ctx;
        let invites = core.store.invites_of_org(org.id, event.as_ref().map(|e| e.id)).await?;
        if invites.is_empty() {
            return Ok(Reply::text(
                "No invites yet. Invite a promoter with `invite <email> [event]`.",
            ));
        }
        let events = core.store.events_of_org(org.id).await?;
        let now = core.clock.now();
        // What the last invite mail did: queued is not sent.
        let mails = core.store.invite_mail_states(org.id).await?;
        let mail_state = |id: InviteId| match mails.iter().find(|m| m.0 == id) {
            Some((_, Some(at), _, _)) => format!("sent {}", local_clock(at, &org.time_zone)),
            Some((_, None, Some(_), why)) => format!("not sent: {}", why.as_deref().unwrap_or("failed")),
            Some((_, None, None, _)) => "queued".into(),
            None => "–".into(),
        };
        let mut t = Table::new(
            &["Email", "For", "Role", "Status", "Mails", "Last mail", "Expires"],
            &[false, false, false, false, true, false, false],
        );
        for i in &invites {
            let status = if i.status == InviteStatus::Pending && i.expires_at <= now {
                InviteStatus::Expired
            } else {
                i.status
            };
            let scope = for_column(&events, i.event_id);
            t.row(vec![
                i.email.clone(),
                scope,
                i.kind.to_string(),
                status.to_string(),
                i.sent_count.to_string(),
                mail_state(i.id),
                local_time(&i.expires_at, &org.time_zone),
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Invites of {}", org.name))
            .with(Block::Table(t)))
    }
}

/// The invited address of `resend` and `cancelinvite`.
const INVITED: ArgSpec = req("email", ArgKind::Email, "the invited address");
/// The event of the pending invite, when it was for one.
const INVITE_EVENT: ArgSpec = opt(
    "event",
    ArgKind::Event,
    "the event of the invite, if it was for one event",
);

/// The invited address of a pending invite (its event was resolved by authorization).
fn pending_invite(args: Args<'_>) -> Result<Email, UserError> {
    let _: Option<EventRef> = args.opt("event")?;
    args.req("email")
}

/// `resend <email> [event] [--org]`: a pending invite again, with a fresh code.
#[derive(Debug)]
pub struct Resend {
    pub email: Email,
}

impl Command for Resend {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Resend,
        "resend",
        [INVITED, INVITE_EVENT, ORG_FLAG],
        "Send a pending invite again, with a fresh code",
        "resend ana@example.com summer-fest"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Resend {
            email: pending_invite(args)?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer {
            org,
            role,
            event,
            person,
            ..
        } = ctx;
        let email = self.email.0.as_str();
        let invite = core
            .pending_to_change(&org, role, event.as_ref(), email, "resend")
            .await?;
        let code = codes::invite_code();
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store
            .renew_invite(
                &mut tx,
                invite.id,
                &codes::hash_code(&code),
                now + core.settings.invite_ttl,
            )
            .await?;
        let body = core.invite_body(&org, event.as_ref(), invite.kind, &person.shown_name(), &code);
        let subject = format!("Reminder: you're invited to {}", scope_name(&org, event.as_ref()));
        let mail = super::MailOut {
            invite: Some((invite.id, now + core.settings.invite_ttl)),
            from_name: Some(&org.name),
            ..super::MailOut::new(email, "invite", &subject, &body)
        };
        core.queue_mail(&mut tx, mail).await?;
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "invite.resent", email, now)
            .await?;
        core.commit(tx).await?;
        Ok(Reply::text(format!(
            "Sent the invite to {email} again with a new code; the old code no longer works."
        )))
    }
}

/// `cancelinvite <email> [event] [--org]`.
#[derive(Debug)]
pub struct CancelInvite {
    pub email: Email,
}

impl Command for CancelInvite {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        CancelInvite,
        "cancelinvite",
        [INVITED, INVITE_EVENT, ORG_FLAG],
        "Cancel a pending invite",
        "cancelinvite ana@example.com summer-fest"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(CancelInvite {
            email: pending_invite(args)?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer {
            org,
            role,
            event,
            person,
            ..
        } = ctx;
        let email = self.email.0.as_str();
        let invite = core
            .pending_to_change(&org, role, event.as_ref(), email, "cancel")
            .await?;
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store
            .resolve_invite(
                &mut tx,
                &invite,
                InviteStatus::Cancelled,
                MembershipStatus::Revoked,
                now,
            )
            .await?;
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "invite.cancelled", email, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Cancelled the invite for {email}; its code no longer works."
        )))
    }
}

impl Core {
    fn invite_body(
        &self,
        org: &OrgRow,
        event: Option<&EventRow>,
        kind: InviteKind,
        inviter: &str,
        code: &str,
    ) -> String {
        let what = match (kind, event) {
            (InviteKind::Organizer, _) => format!("to help organize {}", org.name),
            (_, Some(e)) => format!("to promote {} for {}", e.name, org.name),
            (_, None) => format!("to promote every event of {}", org.name),
        };
        let mut body = format!(
            "{inviter} invites you {what} on promoterd.\n\n\
             To accept, reply to this mail with the word: accept\n\
             To decline, reply with: ignore\n\n"
        );
        if kind == InviteKind::Organizer {
            // A code alone never makes a chat account an organizer: it must prove the address.
            body.push_str(&format!(
                "In Discord or Telegram, once that account is linked to this address \
                 (`connect <your email>`, then `verify <code>`), send: /accept {code}\n"
            ));
        } else {
            if let Some(bot) = &self.settings.telegram_bot {
                body.push_str(&format!("In Telegram, one tap: https://t.me/{bot}?start={code}\n"));
            }
            body.push_str(&format!("In Discord or Telegram, send: /accept {code}\n"));
        }
        body.push_str(&format!(
            "\nThis invite expires in {} days. If you did not expect it, ignore this mail.\n",
            self.settings.invite_ttl.num_days()
        ));
        body
    }

    /// Refuses an invite that would change nothing: the invitee already has that role
    /// there, or already has a pending invite to it.
    async fn refuse_needless_invite(
        &self,
        org: &OrgRow,
        event: Option<&EventRow>,
        event_id: Option<EventId>,
        email: &str,
        kind: InviteKind,
        where_: &str,
    ) -> Result<(), CommandError> {
        if let Some(p) = self.store.person_by_email(email).await? {
            match kind {
                InviteKind::Promoter => {
                    if let Some(m) = self.store.live_membership(org.id, event_id, p.id).await? {
                        if m.status == MembershipStatus::Active {
                            return refuse!("{email} is already a promoter of {where_}.");
                        }
                        return refuse!(
                            "{email} is already invited to {where_}. Send it again with `resend {email}{}`.",
                            event.map(|e| format!(" {}", e.slug)).unwrap_or_default()
                        );
                    }
                    if event_id.is_some()
                        && let Some(m) = self.store.live_membership(org.id, None, p.id).await?
                        && m.status == MembershipStatus::Active
                    {
                        return refuse!("{email} already promotes every event of {}.", org.name);
                    }
                }
                InviteKind::Organizer => {
                    if self
                        .store
                        .orgs_organized_by(p.id)
                        .await?
                        .iter()
                        .any(|(o, _)| o.id == org.id)
                    {
                        return refuse!("{email} is already an organizer of {}.", org.name);
                    }
                }
            }
        }
        if self
            .store
            .pending_invite(org.id, event_id, email, kind)
            .await?
            .is_some()
        {
            return refuse!("{email} already has a pending invite to {where_}. Send it again with `resend`.");
        }
        Ok(())
    }

    /// Invites `email` to `org`: a promoter of `event` (or of every event when `None`),
    /// or an admin organizer (`event` is then `None`).
    async fn send_invite(
        &self,
        org: &OrgRow,
        event: Option<&EventRow>,
        inviter: &PersonRow,
        email: &str,
        kind: InviteKind,
    ) -> Res {
        let event = event.filter(|_| kind == InviteKind::Promoter);
        let event_id = event.map(|e| e.id);
        let where_ = scope_name(org, event);
        self.refuse_needless_invite(org, event, event_id, email, kind, &where_)
            .await?;
        let code = codes::invite_code();
        let now = self.clock.now();
        let expires = now + self.settings.invite_ttl;
        let mut tx = self.store.write().await?;
        let new = NewInvite {
            org_id: org.id,
            event_id,
            email,
            kind,
            code_hash: &codes::hash_code(&code),
            invited_by: inviter.id,
            expires_at: expires,
        };
        let invite_id = self.store.create_invite(&mut tx, &new, now).await?;
        let body = self.invite_body(org, event, kind, &inviter.shown_name(), &code);
        let subject = format!("You're invited to {where_}");
        let mail = super::MailOut {
            invite: Some((invite_id, expires)),
            from_name: Some(&org.name),
            ..super::MailOut::new(email, "invite", &subject, &body)
        };
        self.queue_mail(&mut tx, mail).await?;
        let action = if kind == InviteKind::Organizer {
            "organizer.invited"
        } else {
            "promoter.invited"
        };
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(inviter.id),
                action,
                &format!("{email} {where_}"),
                now,
            )
            .await?;
        self.commit(tx).await?;
        let role = if kind == InviteKind::Organizer {
            "an admin organizer"
        } else {
            "a promoter"
        };
        Ok(Reply::text(format!(
            "Invited {email} as {role} of {where_}. The invite expires in {} days.",
            self.settings.invite_ttl.num_days()
        )))
    }

    /// The pending invite to `email` that `verb` (resend, cancel) acts on, when the
    /// asker may act on it (only the owner on an organizer invite).
    async fn pending_to_change(
        &self,
        org: &OrgRow,
        role: OrganizerRole,
        event: Option<&EventRow>,
        email: &str,
        verb: &str,
    ) -> Result<InviteRow, CommandError> {
        let invite = self.find_pending(org, event.map(|e| e.id), email).await?;
        super::access::owner_for_organizer_invite(org, role, &invite, verb)?;
        Ok(invite)
    }

    async fn find_pending(
        &self,
        org: &OrgRow,
        event_id: Option<EventId>,
        email: &str,
    ) -> Result<InviteRow, CommandError> {
        for kind in [InviteKind::Promoter, InviteKind::Organizer] {
            if kind == InviteKind::Organizer && event_id.is_some() {
                continue;
            }
            if let Some(i) = self.store.pending_invite(org.id, event_id, email, kind).await? {
                return Ok(i);
            }
        }
        refuse!("There is no pending invite for {email} there. Send `invites` to see them all.")
    }
}
