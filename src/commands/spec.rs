//! The one declaration of every command: names, arguments, who may run it, help.
//! Discord, Telegram, email, the console, `help` and `bot-commands.md` derive from it.

pub use super::list::{COMMANDS, Cmd};

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
    /// A promoter of the event in scope, also one who left or was revoked: what they
    /// earned stays theirs to see.
    Earner,
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
            Access::Earner => "promoters, also after leaving",
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
    /// A price like `25`, `25.50` or `1.125`, kept in thousandths until the command knows
    /// its currency ([`super::args::Money::minor_in`]).
    Price,
    /// A date and time, `2027-06-01 18:00` (organization time zone) or RFC 3339.
    Time,
    /// An `https://` address.
    Url,
    /// One of fixed words.
    Choice(&'static [&'static str]),
    /// A whole number from `min` to `max`.
    Whole { min: u32, max: u32 },
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
            ArgKind::Whole { min, max } => format!("whole number {min}–{max}"),
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

/// The declaration of a command by name (case-insensitive).
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The declaration of a command by id.
pub fn spec(cmd: Cmd) -> &'static CommandSpec {
    COMMANDS.iter().find(|c| c.cmd == cmd).expect("every Cmd is declared")
}

impl CommandSpec {
    /// The command with `slug` as its event and the other required arguments as
    /// placeholders, for "which event?" hints: `why <order> summer-fest`.
    pub fn with_event(&self, slug: &str) -> String {
        let mut s = self.name.to_string();
        for a in self.args.iter().filter(|a| !a.flag) {
            if a.name == "event" {
                s.push(' ');
                s.push_str(slug);
            } else if a.required {
                s.push_str(&format!(" <{}>", a.name));
            }
        }
        s
    }

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
    fn which_event_hints_keep_the_other_required_arguments() {
        assert_eq!(spec(Cmd::Why).with_event("summer-fest"), "why <order> summer-fest");
        assert_eq!(spec(Cmd::MyStats).with_event("summer-fest"), "mystats summer-fest");
        assert_eq!(spec(Cmd::Stats).with_event("summer-fest"), "stats summer-fest");
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
