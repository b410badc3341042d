//! The core: commands, permissions, attribution and stats. Front-ends hand it an
//! [`Origin`] and a line or an [`Invocation`]; it answers with a [`Reply`]. No I/O types.

mod access;
mod account;
mod actor;
pub mod args;
mod audit_cmd;
mod chart;
mod command;
mod commissions;
mod earnings;
mod events;
mod export_cmd;
mod forget;
pub mod grants;
mod invite_answer;
mod invites;
mod leaderboard;
mod leave;
mod limits;
mod link_switch;
mod links;
mod list;
mod local_time;
mod mail;
mod members;
mod mydata;
pub mod names;
mod org_create;
pub(crate) use mail::MailOut;
mod parse;
mod payout_file;
mod payouts;
mod prefs;
mod promo_codes;
mod retention;
pub mod spec;
mod stats;
mod ticket_types;

pub use access::Scope;
pub use actor::Actor;
pub use org_create::NewOrg;
pub use parse::{Invocation, is_slug, parse_email, parse_line, parse_named, parse_price, tokenize};
pub use spec::{Access, ArgKind, ArgSpec, COMMANDS, Channels, Cmd, CommandSpec};

use crate::clock::Clock;
use crate::error::CommandError;
use crate::reply::Reply;
use crate::store::Store;

/// A chat platform (kept here: front-ends name it as a command type).
pub use crate::domain::Platform;

/// Where a command comes from, as the front-end established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `promoterd console --as <email>`: the operator acts as that person.
    Console { email: String },
    /// An email whose sender the email front-end has verified.
    Email { from: String },
    /// A Discord or Telegram user.
    Chat {
        platform: Platform,
        user_id: String,
        username: Option<String>,
    },
}

impl Origin {
    /// The front-end's name (logs and metrics).
    pub fn frontend(&self) -> &'static str {
        match self {
            Origin::Console { .. } => "console",
            Origin::Email { .. } => "email",
            Origin::Chat { platform, .. } => platform.as_str(),
        }
    }
}

/// Settings the core needs from the configuration.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Base of tracking links: `<public_url>/t/<code>`.
    pub public_url: String,
    /// How long an invite code stays valid.
    pub invite_ttl: chrono::Duration,
    /// How long a `connect` verification code stays valid.
    pub verify_ttl: chrono::Duration,
    /// Most links a promoter may create (all events).
    pub max_links_per_promoter: i64,
    /// Largest file sent as a chat or mail attachment (an export is cut off past it).
    pub max_attachment_bytes: usize,
    /// The Telegram bot's username, for `t.me/<bot>?start=<code>` invite links.
    pub telegram_bot: Option<String>,
    /// The bot's email address; replies go to `<local>+<token>@<domain>`.
    pub bot_address: Option<String>,
    /// Most commands one chat account or email sender may run per minute (0: no limit).
    pub commands_per_minute: u32,
    /// The shops each organization (by short name) has a `[[checkout]]` connection to.
    pub shop_connections: Vec<(String, crate::domain::Shop)>,
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            public_url: "http://127.0.0.1:8080".into(),
            invite_ttl: chrono::Duration::days(14),
            verify_ttl: chrono::Duration::minutes(30),
            max_links_per_promoter: 50,
            max_attachment_bytes: 8 << 20,
            telegram_bot: None,
            bot_address: None,
            commands_per_minute: 30,
            shop_connections: Vec::new(),
        }
    }
}

/// The command engine shared by every front-end.
#[derive(Debug, Clone)]
pub struct Core {
    pub store: Store,
    pub clock: Clock,
    pub settings: CoreSettings,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Signalled when mail is queued (the sender wakes up).
    pub mail_queued: std::sync::Arc<tokio::sync::Notify>,
    /// Signalled when chat messages are queued (the chat senders wake up).
    pub chat_queued: std::sync::Arc<tokio::sync::Notify>,
    /// Signalled when this daemon's link table took in a change of links (the pretix
    /// voucher keeper wakes up).
    pub links_changed: std::sync::Arc<tokio::sync::Notify>,
    limiter: std::sync::Arc<limits::RateLimiter>,
}

impl Core {
    /// A core over a migrated store.
    pub fn new(store: Store, clock: Clock, settings: CoreSettings) -> Self {
        Core {
            store,
            clock,
            settings,
            metrics: crate::metrics::Metrics::shared(),
            mail_queued: Default::default(),
            chat_queued: Default::default(),
            links_changed: Default::default(),
            limiter: Default::default(),
        }
    }

    /// The same core, counting into `metrics`.
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Commits a write transaction, then wakes the mail and chat senders: a message
    /// queued in it can be read only now.
    pub async fn commit(&self, tx: crate::store::WriteTx) -> Result<(), crate::store::StoreError> {
        tx.commit().await?;
        self.mail_queued.notify_one();
        // Both chat drainers (Telegram, Discord) wait on it.
        self.chat_queued.notify_waiters();
        Ok(())
    }

    /// Parses and runs one line of text.
    pub async fn execute(&self, origin: &Origin, line: &str) -> Reply {
        match parse_line(line) {
            Ok(inv) => self.run(origin, &inv).await,
            Err(e) => Reply::error(e.0),
        }
    }

    /// Runs a parsed command: authorize, then act. Errors become error replies.
    /// Counted in `/metrics` as a command of its front-end.
    pub async fn run(&self, origin: &Origin, inv: &Invocation) -> Reply {
        self.metrics.command(origin.frontend());
        self.run_uncounted(origin, inv).await
    }

    /// The reply a person would get for `line`, computed for them by the daemon itself
    /// (a digest): not a command anyone sent, so `/metrics` does not count it.
    pub(crate) async fn view_as(&self, origin: &Origin, line: &str) -> Reply {
        match parse_line(line) {
            Ok(inv) => self.run_uncounted(origin, &inv).await,
            Err(e) => Reply::error(e.0),
        }
    }

    async fn run_uncounted(&self, origin: &Origin, inv: &Invocation) -> Reply {
        let spec = spec::spec(inv.cmd);
        let sender = match origin {
            Origin::Console { .. } => None,
            Origin::Email { from } => Some(format!("email:{from}")),
            Origin::Chat { platform, user_id, .. } => Some(format!("{}:{user_id}", platform.as_str())),
        };
        if let Some(who) = sender
            && !self
                .limiter
                .allow(&who, self.settings.commands_per_minute, std::time::Instant::now())
        {
            return Reply {
                private: spec.private,
                ..Reply::error("Slow down: too many commands in a minute. Try again shortly.")
            };
        }
        let result = async {
            if spec.channels == Channels::ChatOnly && matches!(origin, Origin::Email { .. }) {
                return crate::refuse!(
                    "`{}` links a Discord or Telegram account; send it to the bot there.",
                    spec.name
                );
            }
            let actor = self.resolve_actor(origin).await?;
            let scope = self.authorize(&actor, spec, inv).await?;
            self.dispatch(actor, scope, inv).await
        }
        .await;
        self.finish(spec, origin, result)
    }

    /// Turns a command's result into its reply; internal errors are logged.
    fn finish(&self, spec: &CommandSpec, origin: &Origin, result: Result<Reply, CommandError>) -> Reply {
        match result {
            Ok(mut r) => {
                r.private |= spec.private;
                r
            }
            Err(e) => {
                if !matches!(e, CommandError::User(_)) {
                    tracing::error!(command = spec.name, frontend = origin.frontend(), error = %e, "command failed");
                }
                Reply {
                    private: spec.private,
                    ..Reply::error(e.user_message())
                }
            }
        }
    }

    /// The public tracking URL of a link code.
    pub fn link_url(&self, code: &str) -> String {
        format!("{}/t/{code}", self.settings.public_url.trim_end_matches('/'))
    }
}
