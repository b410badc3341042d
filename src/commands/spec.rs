//! The one declaration of every command: names, arguments, who may run it, help.
//! Discord, Telegram, email, the console, `help` and `bot-commands.md` derive from it.

use super::command::Command;

/// Identifies a command for dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmd {
    Help,
    Whoami,
    Name,
    Connect,
    Verify,
    Accept,
    Ignore,
    NewEvent,
    EditEvent,
    Events,
    NewTicketType,
    EditTicket,
    RemoveTicket,
    TicketTypes,
    Invite,
    InviteAdmin,
    Invites,
    Resend,
    CancelInvite,
    Promoters,
    Revoke,
    Stats,
    Export,
    OrgLink,
    OrgLinks,
    SetLeaderboard,
    MyLink,
    Links,
    NewLink,
    DisableLink,
    EnableLink,
    MyStats,
    MyOrders,
    Leaderboard,
    Stop,
    Digest,
    Notify,
    Channel,
    OrgDigest,
    TimeZone,
}

/// Who may run a command; checked once, before the command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, also an unlinked chat account.
    Anyone,
    /// A person known here, acting in full (not a chat account linked by an invite
    /// code only): changes to the person themselves.
    Person,
    /// An owner or admin organizer of the organization in scope.
    Organizer,
    /// The owner of the organization in scope.
    Owner,
    /// An active promoter of the event in scope.
    Promoter,
    /// An organizer or an active promoter of the event in scope.
    Member,
}

impl Access {
    /// How the documentation names this audience.
    pub fn label(self) -> &'static str {
        match self {
            Access::Anyone => "everyone",
            Access::Person => "everyone with an account here",
            Access::Organizer => "organizers",
            Access::Owner => "organization owner",
            Access::Promoter => "promoters",
            Access::Member => "organizers and promoters",
        }
    }
}

/// What an argument holds; parsing checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// An email address (normalized to lowercase).
    Email,
    /// An event's short name (slug).
    Event,
    /// A new short name: lowercase letters, digits and dashes.
    Slug,
    /// Free text (names, labels).
    Text,
    /// A code from an invite or a verification mail.
    Code,
    /// A price like `25` or `25.50`, stored in minor units.
    Price,
    /// A date and time, `2027-06-01 18:00` (organization time zone) or RFC 3339.
    Time,
    /// An `https://` address.
    Url,
    /// One of fixed words.
    Choice(&'static [&'static str]),
}

impl ArgKind {
    /// The kind as shown in usage lines and docs.
    pub fn describe(self) -> String {
        match self {
            ArgKind::Email => "email address".into(),
            ArgKind::Event => "event short name".into(),
            ArgKind::Slug => "short name (a-z, 0-9, -)".into(),
            ArgKind::Text => "text".into(),
            ArgKind::Code => "code".into(),
            ArgKind::Price => "price, e.g. 25.50".into(),
            ArgKind::Time => "date and time, e.g. 2027-06-01 18:00".into(),
            ArgKind::Url => "https:// address".into(),
            ArgKind::Choice(c) => c.join(" | "),
        }
    }
}

/// One argument of a command.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgKind,
    pub required: bool,
    /// Given as `--name value` in text forms rather than by position.
    pub flag: bool,
    /// Takes the rest of the line (names with spaces).
    pub rest: bool,
    pub help: &'static str,
}

/// Which front-ends offer a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// Console, Discord, Telegram and email.
    All,
    /// Console, Discord and Telegram (linking a chat account).
    ChatOnly,
}

/// The declaration of one command.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub cmd: Cmd,
    pub name: &'static str,
    pub args: &'static [ArgSpec],
    pub access: Access,
    pub channels: Channels,
    /// The answer contains personal numbers or data: chat front-ends answer privately.
    pub private: bool,
    /// May take longer than Discord's 3 seconds or sends a file: Discord defers it.
    pub deferred: bool,
    /// An organizer may send it by mail in a new thread (no reply token): read-only,
    /// and the answer goes to the address on record.
    pub new_mail_thread: bool,
    /// Acts on one event and picks the organization's only event when none is named.
    pub picks_only_event: bool,
    pub help: &'static str,
    pub example: &'static str,
}

pub(crate) const fn req(name: &'static str, kind: ArgKind, help: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        required: true,
        flag: false,
        rest: false,
        help,
    }
}
pub(crate) const fn opt(name: &'static str, kind: ArgKind, help: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        required: false,
        flag: false,
        rest: false,
        help,
    }
}
pub(crate) const fn rest(name: &'static str, help: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        kind: ArgKind::Text,
        required: true,
        flag: false,
        rest: true,
        help,
    }
}
pub(crate) const fn flag(name: &'static str, kind: ArgKind, help: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        required: false,
        flag: true,
        rest: false,
        help,
    }
}

pub(crate) const EVENT_OPT: ArgSpec = opt(
    "event",
    ArgKind::Event,
    "the event; may be left out when there is only one",
);
pub(crate) const ORG_FLAG: ArgSpec = flag("org", ArgKind::Slug, "the organization, when you organize several");
pub(crate) const ON_OFF: ArgKind = ArgKind::Choice(&["on", "off"]);

macro_rules! command {
    ($cmd:ident, $name:literal, $access:ident, [$($arg:expr),* $(,)?], $help:literal, $example:literal $(, $k:ident = $v:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut c = CommandSpec {
            cmd: Cmd::$cmd,
            name: $name,
            args: &[$($arg),*],
            access: Access::$access,
            channels: Channels::All,
            private: false,
            deferred: false,
            new_mail_thread: false,
            picks_only_event: false,
            help: $help,
            example: $example,
        };
        $(c.$k = $v;)*
        c
    }};
}

/// Every command, in the order help lists them.
pub static COMMANDS: &[CommandSpec] = &[
    super::account::Help::SPEC,
    super::account::Whoami::SPEC,
    super::names::Name::SPEC,
    super::account::Connect::SPEC,
    super::account::Verify::SPEC,
    super::invite_answer::Accept::SPEC,
    super::invite_answer::Ignore::SPEC,
    command!(
        NewEvent,
        "newevent",
        Organizer,
        [
            req("slug", ArgKind::Slug, "a short name used in links and commands"),
            req("starts", ArgKind::Time, "when the event starts"),
            req("url", ArgKind::Url, "the event's ticket page"),
            rest("name", "the event's full name"),
            flag(
                "currency",
                ArgKind::Text,
                "ticket currency (default: the organization's)"
            ),
            ORG_FLAG,
        ],
        "Create an event",
        "newevent summer-fest \"2027-06-01 18:00\" https://tickets.example.com/summer Summer Fest 2027"
    ),
    command!(
        EditEvent,
        "editevent",
        Organizer,
        [
            req("event", ArgKind::Event, "the event"),
            req("field", ArgKind::Choice(&["name", "starts", "url"]), "what to change"),
            rest("value", "the new value"),
        ],
        "Change an event's name, start time or ticket page",
        "editevent summer-fest url https://tickets.example.com/summer-2027"
    ),
    command!(
        Events,
        "events",
        Organizer,
        [ORG_FLAG],
        "List your organization's events",
        "events"
    ),
    super::ticket_types::NewTicketType::SPEC,
    super::ticket_types::EditTicket::SPEC,
    super::ticket_types::RemoveTicket::SPEC,
    super::ticket_types::TicketTypes::SPEC,
    command!(
        Invite,
        "invite",
        Organizer,
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
    ),
    command!(
        InviteAdmin,
        "inviteadmin",
        Owner,
        [req("email", ArgKind::Email, "who to invite"), ORG_FLAG],
        "Invite a collaborator as an admin organizer (owner only)",
        "inviteadmin sam@example.com"
    ),
    command!(
        Invites,
        "invites",
        Organizer,
        [opt("event", ArgKind::Event, "only this event's invites"), ORG_FLAG],
        "List invites and their status",
        "invites",
        private = true
    ),
    command!(
        Resend,
        "resend",
        Organizer,
        [
            req("email", ArgKind::Email, "the invited address"),
            opt(
                "event",
                ArgKind::Event,
                "the event of the invite, if it was for one event"
            ),
            ORG_FLAG,
        ],
        "Send a pending invite again, with a fresh code",
        "resend ana@example.com summer-fest"
    ),
    command!(
        CancelInvite,
        "cancelinvite",
        Organizer,
        [
            req("email", ArgKind::Email, "the invited address"),
            opt(
                "event",
                ArgKind::Event,
                "the event of the invite, if it was for one event"
            ),
            ORG_FLAG,
        ],
        "Cancel a pending invite",
        "cancelinvite ana@example.com summer-fest"
    ),
    command!(
        Promoters,
        "promoters",
        Organizer,
        [opt("event", ArgKind::Event, "only promoters of this event"), ORG_FLAG],
        "List promoters and their status",
        "promoters summer-fest",
        private = true
    ),
    command!(
        Revoke,
        "revoke",
        Organizer,
        [
            req("email", ArgKind::Email, "the promoter"),
            opt("event", ArgKind::Event, "the event, if they promote one event"),
            ORG_FLAG,
        ],
        "Revoke a promoter: their links stop working",
        "revoke ana@example.com"
    ),
    command!(
        Stats,
        "stats",
        Organizer,
        [
            EVENT_OPT,
            opt("promoter", ArgKind::Email, "one promoter, expanded per ticket type"),
        ],
        "Every promoter's sales of an event, by ticket type, with totals",
        "stats summer-fest",
        private = true,
        new_mail_thread = true,
        picks_only_event = true
    ),
    command!(
        Export,
        "export",
        Organizer,
        [
            opt(
                "event",
                ArgKind::Event,
                "one event; left out: every event of the organization, on every channel"
            ),
            ORG_FLAG,
        ],
        "CSV of referred ticket buyers: one event, or every event of the organization",
        "export summer-fest",
        private = true,
        new_mail_thread = true,
        deferred = true
    ),
    command!(
        OrgLink,
        "orglink",
        Organizer,
        [
            req("event", ArgKind::Event, "the event"),
            rest(
                "label",
                "what the link is for: a sponsor, venue, artist or social channel"
            ),
        ],
        "Create an organization tracking link (not a promoter's)",
        "orglink summer-fest Venue newsletter"
    ),
    command!(
        OrgLinks,
        "orglinks",
        Organizer,
        [EVENT_OPT],
        "List the organization's tracking links of an event with their numbers",
        "orglinks summer-fest",
        private = true,
        picks_only_event = true
    ),
    command!(
        SetLeaderboard,
        "setleaderboard",
        Organizer,
        [req("state", ON_OFF, "on or off"), ORG_FLAG],
        "Show promoters a leaderboard of ranks and names, or hide it",
        "setleaderboard on"
    ),
    command!(
        MyLink,
        "mylink",
        Promoter,
        [EVENT_OPT],
        "Your tracking link for an event, with a QR code for flyers",
        "mylink summer-fest",
        private = true,
        deferred = true
    ),
    command!(
        Links,
        "links",
        Promoter,
        [EVENT_OPT],
        "Your links for an event with their clicks and sales",
        "links summer-fest",
        private = true
    ),
    command!(
        NewLink,
        "newlink",
        Promoter,
        [
            req("label", ArgKind::Text, "the channel, e.g. instagram or flyers"),
            EVENT_OPT,
            flag(
                "for",
                ArgKind::Text,
                "a sub-promoter's name: the link is theirs, sales count for you"
            ),
        ],
        "Create an extra link for a channel or a sub-promoter",
        "newlink instagram summer-fest",
        private = true
    ),
    command!(
        DisableLink,
        "disablelink",
        Member,
        [
            req(
                "link",
                ArgKind::Text,
                "the link's address or code; promoters may also give its label"
            ),
            EVENT_OPT,
        ],
        "Turn one tracking link off: it stops counting, its promoter stays",
        "disablelink flyers summer-fest"
    ),
    command!(
        EnableLink,
        "enablelink",
        Member,
        [
            req(
                "link",
                ArgKind::Text,
                "the link's address or code; promoters may also give its label"
            ),
            EVENT_OPT,
        ],
        "Turn a link that was turned off with `disablelink` back on",
        "enablelink flyers summer-fest"
    ),
    command!(
        MyStats,
        "mystats",
        Promoter,
        [EVENT_OPT],
        "Your sales: clicks, orders, tickets and revenue by ticket type and link",
        "mystats summer-fest",
        private = true
    ),
    command!(
        MyOrders,
        "myorders",
        Promoter,
        [EVENT_OPT],
        "Your referred orders (without buyer details)",
        "myorders summer-fest",
        private = true
    ),
    command!(
        Leaderboard,
        "leaderboard",
        Member,
        [EVENT_OPT],
        "Promoter ranks for an event, when the organizer has turned it on",
        "leaderboard summer-fest",
        picks_only_event = true
    ),
    super::prefs::Digest::SPEC,
    super::prefs::Notify::SPEC,
    super::prefs::Channel::SPEC,
    super::prefs::OrgDigest::SPEC,
    super::prefs::TimeZone::SPEC,
    super::prefs::Stop::SPEC,
];

/// The declaration of a command by name (case-insensitive).
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The declaration of a command by id.
pub fn spec(cmd: Cmd) -> &'static CommandSpec {
    COMMANDS.iter().find(|c| c.cmd == cmd).expect("every Cmd is declared")
}

impl CommandSpec {
    /// `name <arg> [opt] [--flag <value>]`.
    pub fn usage(&self) -> String {
        let mut s = self.name.to_string();
        for a in self.args {
            let inner = if a.rest {
                format!("{}…", a.name)
            } else {
                a.name.to_string()
            };
            let piece = match (a.flag, a.required) {
                (true, _) => format!("[--{} <{}>]", a.name, a.name),
                (false, true) => format!("<{inner}>"),
                (false, false) => format!("[{inner}]"),
            };
            s.push(' ');
            s.push_str(&piece);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_for_telegram_and_discord() {
        for c in COMMANDS {
            assert!(
                c.name.len() <= 32 && c.name.chars().all(|ch| ch.is_ascii_lowercase()),
                "{}",
                c.name
            );
            assert!(
                c.help.len() <= 100,
                "Discord descriptions are at most 100 chars: {}",
                c.name
            );
            for a in c.args {
                assert!(a.help.len() <= 100, "{} {}", c.name, a.name);
            }
        }
    }

    #[test]
    fn every_command_id_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(seen.insert(c.cmd), "{:?} declared twice", c.cmd);
            assert!(names.insert(c.name), "the name {} is declared twice", c.name);
            assert!(std::ptr::eq(spec(c.cmd), c), "{:?} finds its own declaration", c.cmd);
        }
        assert!(std::ptr::eq(spec(Cmd::Stats), find("STATS").unwrap()));
    }

    #[test]
    fn usage_marks_optional_and_rest_arguments() {
        assert_eq!(spec(Cmd::Invite).usage(), "invite <email> [event] [--org <org>]");
        assert_eq!(
            spec(Cmd::NewTicketType).usage(),
            "newtickettype <event> <price> <name…>"
        );
    }
}
