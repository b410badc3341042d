//! Answering an invite addressed to the actor: `accept <code>` / `ignore <code>`, or a
//! reply to the invite mail (its reply token names the invite).

use super::args::{Args, Code};
use super::command::{Command, declare};
use super::grants::Anyone;
use super::spec::{ArgKind, CommandSpec, req};
use super::{Actor, Core, Origin};
use crate::codes;
use crate::domain::{InviteId, InviteStatus, MembershipStatus, PersonId};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply};
use crate::store::{EventRow, InviteKind, InviteRow, LinkScope, OrganizerRole, WriteTx};
use chrono::{DateTime, Utc};

type Res = Result<Reply, CommandError>;

/// How an invite is named: by the code from the mail, or by id (a reply to that mail).
#[derive(Debug, Clone, Copy)]
enum InviteRef<'a> {
    Code(&'a str),
    Id(InviteId),
}

/// `accept <code>`.
#[derive(Debug)]
pub struct Accept {
    pub code: Code,
}

impl Command for Accept {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Accept,
        "accept",
        [req("code", ArgKind::Code, "the code from your invite")],
        "Accept an invite addressed to you",
        "accept 3kq8zt2mw9xcv4bn7hpr5yd6jfa",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Accept {
            code: args.req("code")?,
        })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        core.answer(&ctx.actor, InviteRef::Code(&self.code), true).await
    }
}

/// `ignore <code>`.
#[derive(Debug)]
pub struct Ignore {
    pub code: Code,
}

impl Command for Ignore {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Ignore,
        "ignore",
        [req("code", ArgKind::Code, "the code from your invite")],
        "Decline an invite addressed to you",
        "ignore 3kq8zt2mw9xcv4bn7hpr5yd6jfa",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Ignore {
            code: args.req("code")?,
        })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        core.answer(&ctx.actor, InviteRef::Code(&self.code), false).await
    }
}

impl Core {
    /// Answers an invite by its id: a reply to the invite mail (the reply token names it).
    pub async fn answer_invite(&self, origin: &Origin, invite_id: InviteId, accept: bool) -> Reply {
        let spec = super::spec::spec(if accept { super::Cmd::Accept } else { super::Cmd::Ignore });
        self.metrics.command(origin.frontend());
        let result = async {
            let actor = self.resolve_actor(origin).await?;
            self.answer(&actor, InviteRef::Id(invite_id), accept).await
        }
        .await;
        self.finish(spec, origin, result)
    }

    async fn answer(&self, actor: &Actor, invite: InviteRef<'_>, accept: bool) -> Res {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let invite = self.open_invite(&mut tx, invite, now).await?;
        super::access::may_answer_invite(actor, &invite, accept)?;
        let org = self.store.org(invite.org_id).await?.map(|o| o.name).unwrap_or_default();
        let event = match invite.event_id {
            Some(id) => self.store.event(id).await?,
            None => None,
        };
        let what = match (&event, invite.kind) {
            (_, InviteKind::Organizer) => format!("an organizer of {org}"),
            (Some(e), _) => format!("a promoter of {} ({org})", e.name),
            (None, _) => format!("a promoter of {org} (all events)"),
        };
        if accept {
            self.take_invite(tx, actor, &invite, event, &what, now).await
        } else {
            self.decline_invite(tx, actor, &invite, &what, now).await
        }
    }

    /// The invite named, while it can still be answered.
    async fn open_invite(
        &self,
        tx: &mut WriteTx,
        invite: InviteRef<'_>,
        now: DateTime<Utc>,
    ) -> Result<InviteRow, CommandError> {
        let found = match invite {
            InviteRef::Code(code) => self.store.invite_by_code_hash(tx, &codes::hash_code(code)).await?,
            InviteRef::Id(id) => self.store.invite_by_id(tx, id).await?,
        };
        let Some(invite) = found else {
            return refuse!(
                "That invite code is not valid. Check the code in your invite email, or ask the organizer to resend the invite."
            );
        };
        match invite.status {
            InviteStatus::Pending if invite.expires_at <= now => {
                refuse!("This invite has expired. Ask the organizer to send it again.")
            }
            InviteStatus::Pending => Ok(invite),
            InviteStatus::Accepted => refuse!("This invite has already been accepted."),
            InviteStatus::Ignored => {
                refuse!("This invite was declined. Ask the organizer for a new one if you changed your mind.")
            }
            InviteStatus::Cancelled => refuse!("This invite was cancelled by the organizer."),
            InviteStatus::Expired => refuse!("This invite has expired. Ask the organizer to send it again."),
        }
    }

    async fn decline_invite(
        &self,
        mut tx: WriteTx,
        actor: &Actor,
        invite: &InviteRow,
        what: &str,
        now: DateTime<Utc>,
    ) -> Res {
        self.store
            .resolve_invite(&mut tx, invite, InviteStatus::Ignored, MembershipStatus::Ignored, now)
            .await?;
        self.store
            .audit(
                &mut tx,
                Some(invite.org_id),
                actor.person.as_ref().map(|p| p.id),
                "invite.ignored",
                &invite.email,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Invite declined: you will not become {what}. Nothing else changes."
        )))
    }

    async fn take_invite(
        &self,
        mut tx: WriteTx,
        actor: &Actor,
        invite: &InviteRow,
        event: Option<EventRow>,
        what: &str,
        now: DateTime<Utc>,
    ) -> Res {
        if actor.chat.is_some()
            && actor.person.is_none()
            && self
                .store
                .person_by_email(&invite.email)
                .await?
                .is_some_and(|p| p.verified_at.is_some())
        {
            // The address already has an account (maybe with roles elsewhere): a forwarded
            // code must not hand it to another chat account.
            return refuse!(
                "{} already has an account here. Link this account first: send `connect {}`, then `verify <code>` \
                 with the code we mail, then accept again.",
                invite.email,
                invite.email
            );
        }
        // Accepting from a chat account proves the code, not the address.
        let proves_address = actor.chat.is_none();
        let person_id = self
            .store
            .upsert_person(&mut tx, &invite.email, proves_address, now)
            .await?;
        self.link_answering_account(&mut tx, actor, invite, person_id, now)
            .await?;
        self.store
            .resolve_invite(&mut tx, invite, InviteStatus::Accepted, MembershipStatus::Active, now)
            .await?;
        if invite.kind == InviteKind::Organizer {
            self.store
                .add_organizer(&mut tx, invite.org_id, person_id, OrganizerRole::Admin, now)
                .await?;
        }
        self.store
            .audit(
                &mut tx,
                Some(invite.org_id),
                Some(person_id),
                "invite.accepted",
                &invite.email,
                now,
            )
            .await?;
        let reply = self.welcome(&mut tx, invite, event, person_id, what).await?;
        tx.commit().await?;
        Ok(reply)
    }

    /// The chat account that accepted: linked by this code (holding exactly its
    /// membership) unless linked in full already; its chat name is the default name.
    async fn link_answering_account(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        invite: &InviteRow,
        person_id: PersonId,
        now: DateTime<Utc>,
    ) -> Result<(), CommandError> {
        let Some(account) = &actor.chat else {
            return Ok(());
        };
        if actor.person.is_none() || actor.grants.is_some() {
            self.store
                .link_chat_account(tx, account, person_id, LinkScope::Invite, now)
                .await?;
            if let Some(mid) = invite.membership_id {
                self.store.grant_chat_membership(tx, account, mid).await?;
            }
        }
        if let Some(u) = account
            .username
            .as_deref()
            .filter(|u| super::names::name_problem(u).is_none())
        {
            self.store.set_display_name_if_missing(tx, person_id, u).await?;
        }
        Ok(())
    }

    /// The answer to an accepted invite: a promoter of one event gets their link.
    async fn welcome(
        &self,
        tx: &mut WriteTx,
        invite: &InviteRow,
        event: Option<EventRow>,
        person_id: PersonId,
        what: &str,
    ) -> Res {
        let reply = Reply::text(format!("Welcome! You are now {what}."))
            .titled("Invite accepted")
            .private();
        Ok(if let (Some(e), Some(mid)) = (&event, invite.membership_id) {
            let link = self.ensure_main_link(tx, invite.org_id, e.id, mid, person_id).await?;
            reply
                .line("Your tracking link — share it, every ticket bought through it counts for you:")
                .with(Block::Link(self.link_url(&link)))
        } else if invite.kind == InviteKind::Promoter {
            reply.line("Send `mylink <event>` for your tracking link of any of its events, and `help` for more.")
        } else {
            reply.line("Send `help` to see what organizers can do.")
        })
    }
}
