//! Commands anyone may run about themselves: help, whoami, and linking a chat account
//! to an address (`connect`, then `verify` with the mailed code).

use super::args::{Args, Code, Email};
use super::command::{Command, declare};
use super::grants::Anyone;
use super::spec::{Access, ArgKind, COMMANDS, Channels, CommandSpec, find, opt, req};
use super::{Actor, Core, Origin};
use crate::codes;
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{ConnectOutcome, OrganizerRole};

type Res = Result<Reply, CommandError>;

/// `connect` mails per chat account, and per address, in an hour.
const MAX_CONNECTS_PER_HOUR: i64 = 3;

fn offered_on(spec: &CommandSpec, origin: &Origin) -> bool {
    spec.channels == Channels::All || !matches!(origin, Origin::Email { .. })
}

/// `help [command]`: the commands this person can use, or one explained.
#[derive(Debug)]
pub struct Help {
    pub command: Option<String>,
}

impl Command for Help {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Help,
        "help",
        [opt("command", ArgKind::Text, "a command to explain")],
        "List the commands you can use, or explain one",
        "help invite",
        new_mail_thread = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Help {
            command: args.opt("command")?,
        })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        match self.command {
            Some(name) => explain(&name),
            None => core.command_list(&ctx.actor).await,
        }
    }
}

/// One command explained: usage, audience, example and each argument.
fn explain(name: &str) -> Res {
    let Some(spec) = find(name.trim_start_matches('/')) else {
        return refuse!("There is no command `{name}`. Send `help` for the list.");
    };
    let mut fields = vec![
        ("Usage".to_string(), spec.usage()),
        ("Who".to_string(), spec.access.label().to_string()),
        ("Example".to_string(), spec.example.to_string()),
    ];
    for a in spec.args {
        fields.push((a.name.to_string(), format!("{} ({})", a.help, a.kind.describe())));
    }
    Ok(Reply::text(spec.help).titled(spec.name).with(Block::Fields(fields)))
}

/// `whoami`: the person, linked accounts and roles.
#[derive(Debug)]
pub struct Whoami;

impl Command for Whoami {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Whoami,
        "whoami",
        [],
        "Show who you are here: your email, linked accounts and roles",
        "whoami",
        private = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(Whoami)
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        core.whoami(&ctx.actor).await
    }
}

/// `connect <email>`: mails a code that `verify` takes to link this chat account.
#[derive(Debug)]
pub struct Connect {
    pub email: Email,
}

impl Command for Connect {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Connect,
        "connect",
        [req("email", ArgKind::Email, "the address to link this account to")],
        "Link this chat account to your email: a code is mailed to you",
        "connect ana@example.com",
        channels = Channels::ChatOnly,
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Connect {
            email: args.req("email")?,
        })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        core.connect(&ctx.actor, &self.email).await
    }
}

/// `verify <code>`: finishes `connect`.
#[derive(Debug)]
pub struct Verify {
    pub code: Code,
}

impl Command for Verify {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Verify,
        "verify",
        [req("code", ArgKind::Code, "the code from the mail")],
        "Finish linking this chat account with the mailed code",
        "verify K7QM2XPA",
        channels = Channels::ChatOnly,
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Verify {
            code: args.req("code")?,
        })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        core.verify(&ctx.actor, &self.code).await
    }
}

impl Core {
    /// The commands `actor` can use here.
    async fn command_list(&self, actor: &Actor) -> Res {
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
            Access::Promoter | Access::Earner => promoter,
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

    /// What `whoami` shows.
    async fn whoami(&self, actor: &Actor) -> Res {
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
            let label = platform.label();
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

    async fn connect(&self, actor: &Actor, email: &str) -> Res {
        let Some(account) = &actor.chat else {
            return refuse!(
                "`connect` links a Discord or Telegram account; in the console you already act as an address."
            );
        };
        let now = self.clock.now();
        let (by_account, by_email) = self
            .store
            .recent_connect_requests(account, email, now - chrono::Duration::hours(1))
            .await?;
        if by_account >= MAX_CONNECTS_PER_HOUR || by_email >= MAX_CONNECTS_PER_HOUR {
            return refuse!(
                "Too many link requests in the last hour. Use the code we already mailed, or try again later."
            );
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
            account.platform.label()
        );
        let mail = super::MailOut::new(email, "verify", "Your promoterd verification code", &body);
        self.queue_mail(&mut tx, mail).await?;
        self.commit(tx).await?;
        Ok(Reply::text(format!(
            "We mailed a code to {email}. Send `verify <code>` here within {minutes} minutes."
        )))
    }

    async fn verify(&self, actor: &Actor, code: &str) -> Res {
        let Some(account) = &actor.chat else {
            return refuse!("`verify` finishes linking a Discord or Telegram account.");
        };
        let mut tx = self.store.write().await?;
        let outcome = self
            .store
            .verify_connect_code(&mut tx, account, &codes::hash_code(code), self.clock.now())
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
}
