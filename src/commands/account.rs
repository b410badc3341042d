//! Commands anyone may run: help, whoami, linking a chat account, answering an invite.

use super::spec::{Access, COMMANDS, Channels, CommandSpec, find};
use super::{Actor, Core, Invocation, Origin};
use crate::codes;
use crate::error::CommandError;
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{ConnectOutcome, InviteKind, LinkScope, OrganizerRole};

type Res = Result<Reply, CommandError>;

/// How an invite is named: by the code from the mail, or by id (a reply to that mail).
#[derive(Debug, Clone, Copy)]
enum InviteRef<'a> {
    Code(&'a str),
    Id(i64),
}

/// `connect` mails per chat account, and per address, in an hour.
const MAX_CONNECTS_PER_HOUR: i64 = 3;

fn offered_on(spec: &CommandSpec, origin: &Origin) -> bool {
    spec.channels == Channels::All || !matches!(origin, Origin::Email { .. })
}

impl Core {
    /// `help [command]`: the commands this person can use, or one explained.
    pub(super) async fn help(&self, actor: &Actor, inv: &Invocation) -> Result<Reply, CommandError> {
        if let Some(name) = inv.get("command") {
            let Some(spec) = find(name.trim_start_matches('/')) else {
                refuse!("There is no command `{name}`. Send `help` for the list.");
            };
            let mut fields = vec![
                ("Usage".to_string(), spec.usage()),
                ("Who".to_string(), spec.access.label().to_string()),
                ("Example".to_string(), spec.example.to_string()),
            ];
            for a in spec.args {
                fields.push((a.name.to_string(), format!("{} ({})", a.help, a.kind.describe())));
            }
            return Ok(Reply::text(spec.help).titled(spec.name).with(Block::Fields(fields)));
        }
        let (organizer, promoter) = match &actor.person {
            Some(p) => (
                !self.orgs_of_actor(actor, p).await?.is_empty(),
                !self.memberships_of_actor(actor, p).await?.is_empty(),
            ),
            None => (false, false),
        };
        let visible = |a: Access| match a {
            Access::Anyone => true,
            Access::Person => actor.person.is_some() && actor.grants.is_none(),
            Access::Organizer | Access::Owner => organizer,
            Access::Promoter => promoter,
            Access::Member => organizer || promoter,
        };
        let mut t = Table::new(&["Command", "What it does"], &[false, false]);
        for c in COMMANDS
            .iter()
            .filter(|c| visible(c.access) && offered_on(c, &actor.origin))
        {
            t.row(vec![c.usage(), c.help.to_string()]);
        }
        let mut r = Reply::default().titled("promoterd commands").with(Block::Table(t));
        if actor.person.is_none() {
            r = r.line(match actor.origin {
                Origin::Chat { .. } => {
                    "Link this account first: `accept <code>` from your invite, or `connect <email>` then `verify <code>`."
                }
                _ => "You can do more once you have accepted an invite from an organizer.",
            });
        }
        Ok(r.line("Send `help <command>` for details."))
    }

    /// `whoami`: the person, linked accounts and roles.
    pub(super) async fn whoami(&self, actor: &Actor) -> Res {
        let Some(p) = &actor.person else {
            let who = actor.email.clone().unwrap_or_else(|| "This account".into());
            return Ok(
                Reply::text(format!("{who} is not linked to anyone here yet.")).line(match actor.origin {
                    Origin::Chat { .. } => "Send `connect <your email>` to link it, or `accept <code>` from an invite.",
                    _ => "Ask an organizer to invite you.",
                }),
            );
        };
        let mut fields = vec![("Email".to_string(), p.email.clone())];
        fields.push((
            "Name".into(),
            format!(
                "{} (what others see; change it with `name <your name>`)",
                p.shown_name()
            ),
        ));
        for (platform, id, username) in self.store.chat_accounts_of(p.id).await? {
            let label = super::Platform::from_stored(&platform).label();
            fields.push((label.into(), username.map(|u| format!("{u} ({id})")).unwrap_or(id)));
        }
        if actor.grants.is_some() {
            fields.push((
                "This account".into(),
                format!(
                    "linked by an invite code: it holds only the promoter access listed here. \
                     Send `connect {}` and `verify <code>` to link it in full.",
                    p.email
                ),
            ));
        }
        for (org, role) in self.orgs_of_actor(actor, p).await? {
            let r = if role == OrganizerRole::Owner { "owner" } else { "admin" };
            fields.push(("Organizer".into(), format!("{} ({r})", org.name)));
        }
        for m in self.memberships_of_actor(actor, p).await? {
            let org = self.store.org(m.org_id).await?.map(|o| o.name).unwrap_or_default();
            let scope = match m.event_id {
                Some(id) => self.store.event(id).await?.map(|e| e.name).unwrap_or_default(),
                None => "all events".into(),
            };
            fields.push(("Promoter".into(), format!("{org} — {scope}")));
        }
        Ok(Reply::default()
            .titled("Who you are")
            .with(Block::Fields(fields))
            .private())
    }

    /// `stop`: no more digest or notification mail.
    pub(super) async fn stop_mail(&self, actor: &Actor) -> Res {
        let Some(p) = &actor.person else {
            refuse!("There is nothing to stop: this address gets no digests or notifications.");
        };
        let mut tx = self.store.write().await?;
        self.store.set_mail_opt_out(&mut tx, p.id, true).await?;
        self.store
            .audit(&mut tx, None, Some(p.id), "mail.stopped", &p.email, self.clock.now())
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Done: {} gets no more digest or notification mails. Invites and answers to your own commands still arrive.",
            p.email
        )))
    }

    /// `connect <email>`: mails a code that `verify` takes to link this chat account.
    pub(super) async fn connect(&self, actor: &Actor, inv: &Invocation) -> Res {
        let Some(account) = &actor.chat else {
            refuse!("`connect` links a Discord or Telegram account; in the console you already act as an address.");
        };
        let email = inv.req("email");
        let now = self.clock.now();
        let (by_account, by_email) = self
            .store
            .recent_connect_requests(account, email, now - chrono::Duration::hours(1))
            .await?;
        if by_account >= MAX_CONNECTS_PER_HOUR || by_email >= MAX_CONNECTS_PER_HOUR {
            refuse!("Too many link requests in the last hour. Use the code we already mailed, or try again later.");
        }
        let code = codes::verify_code();
        let mut tx = self.store.write().await?;
        self.store
            .create_connect_code(
                &mut tx,
                account,
                email,
                &codes::hash_code(&code),
                now,
                now + self.settings.verify_ttl,
            )
            .await?;
        let minutes = self.settings.verify_ttl.num_minutes();
        let body = format!(
            "Someone asked to link a {} account to this address on promoterd.\n\n\
             Your code: {code}\n\nSend `verify {code}` to the bot within {minutes} minutes.\n\
             If this was not you, ignore this mail: nothing changes.\n",
            super::Platform::from_stored(account.platform).label()
        );
        let mail = super::MailOut::new(email, "verify", "Your promoterd verification code", &body);
        self.queue_mail(&mut tx, mail).await?;
        self.commit(tx).await?;
        Ok(Reply::text(format!(
            "We mailed a code to {email}. Send `verify <code>` here within {minutes} minutes."
        )))
    }

    /// `verify <code>`: finishes `connect`.
    pub(super) async fn verify(&self, actor: &Actor, inv: &Invocation) -> Res {
        let Some(account) = &actor.chat else {
            refuse!("`verify` finishes linking a Discord or Telegram account.");
        };
        let mut tx = self.store.write().await?;
        let outcome = self
            .store
            .verify_connect_code(&mut tx, account, &codes::hash_code(inv.req("code")), self.clock.now())
            .await?;
        // The chat name is the default display name (until the person sets one).
        if let (ConnectOutcome::Linked(email), Some(u)) = (&outcome, account.username.as_deref())
            && super::names::name_problem(u).is_none()
            && let Some(p) = self.store.person_by_email_in(&mut tx, email).await?
        {
            self.store.set_display_name_if_missing(&mut tx, p.id, u).await?;
        }
        tx.commit().await?;
        match outcome {
            ConnectOutcome::Linked(email) => Ok(Reply::text(format!(
                "Linked: this account now acts as {email}. Send `help` to see what you can do."
            ))),
            ConnectOutcome::NoPending => {
                refuse!("There is nothing to verify. Send `connect <your email>` first.")
            }
            ConnectOutcome::Wrong(left) if left > 0 => {
                refuse!("That code is not right. {left} attempt(s) left.")
            }
            ConnectOutcome::Wrong(_) | ConnectOutcome::Void => {
                refuse!("That request has expired or had too many wrong codes. Send `connect <your email>` again.")
            }
        }
    }

    /// `accept <code>` / `ignore <code>`: answers an invite addressed to the actor.
    pub(super) async fn accept(&self, actor: &Actor, inv: &Invocation, accept: bool) -> Res {
        self.answer(actor, InviteRef::Code(inv.req("code")), accept).await
    }

    /// Answers an invite by its id: a reply to the invite mail (the reply token names it).
    pub async fn answer_invite(&self, origin: &Origin, invite_id: i64, accept: bool) -> Reply {
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
        let found = match invite {
            InviteRef::Code(code) => self.store.invite_by_code_hash(&mut tx, &codes::hash_code(code)).await?,
            InviteRef::Id(id) => self.store.invite_by_id(&mut tx, id).await?,
        };
        let Some(invite) = found else {
            refuse!(
                "That invite code is not valid. Check the code in your invite email, or ask the organizer to resend the invite."
            );
        };
        match invite.status.as_str() {
            "pending" if invite.expires_at <= crate::clock::ts(now) => {
                refuse!("This invite has expired. Ask the organizer to send it again.")
            }
            "pending" => {}
            "accepted" => refuse!("This invite has already been accepted."),
            "ignored" => refuse!("This invite was declined. Ask the organizer for a new one if you changed your mind."),
            "cancelled" => refuse!("This invite was cancelled by the organizer."),
            _ => refuse!("This invite has expired. Ask the organizer to send it again."),
        }
        super::access::may_answer_invite(actor, &invite, accept)?;
        let org = self.store.org(invite.org_id).await?.map(|o| o.name).unwrap_or_default();
        let event = match invite.event_id {
            Some(id) => self.store.event(id).await?,
            None => None,
        };
        let what = match (&event, invite.kind()) {
            (_, InviteKind::Organizer) => format!("an organizer of {org}"),
            (Some(e), _) => format!("a promoter of {} ({org})", e.name),
            (None, _) => format!("a promoter of {org} (all events)"),
        };
        if !accept {
            self.store
                .resolve_invite(&mut tx, &invite, "ignored", "ignored", now)
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
            return Ok(Reply::text(format!(
                "Invite declined: you will not become {what}. Nothing else changes."
            )));
        }
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
            refuse!(
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
        if let Some(account) = &actor.chat {
            if actor.person.is_none() || actor.grants.is_some() {
                // Linked by this code: the account holds exactly this membership.
                self.store
                    .link_chat_account(&mut tx, account, person_id, LinkScope::Invite, now)
                    .await?;
                if let Some(mid) = invite.membership_id {
                    self.store.grant_chat_membership(&mut tx, account, mid).await?;
                }
            }
            if let Some(u) = account
                .username
                .as_deref()
                .filter(|u| super::names::name_problem(u).is_none())
            {
                self.store.set_display_name_if_missing(&mut tx, person_id, u).await?;
            }
        }
        self.store
            .resolve_invite(&mut tx, &invite, "accepted", "active", now)
            .await?;
        if invite.kind() == InviteKind::Organizer {
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
        let mut reply = Reply::text(format!("Welcome! You are now {what}."))
            .titled("Invite accepted")
            .private();
        if let (Some(e), Some(mid)) = (&event, invite.membership_id) {
            let link = self
                .ensure_main_link(&mut tx, invite.org_id, e.id, mid, person_id)
                .await?;
            reply = reply
                .line("Your tracking link — share it, every ticket bought through it counts for you:")
                .with(Block::Link(self.link_url(&link)));
        } else if invite.kind() == InviteKind::Promoter {
            reply =
                reply.line("Send `mylink <event>` for your tracking link of any of its events, and `help` for more.");
        } else {
            reply = reply.line("Send `help` to see what organizers can do.");
        }
        tx.commit().await?;
        Ok(reply)
    }
}
