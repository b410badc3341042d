//! `name`: the display name other people see on leaderboards and digests; checked so
//! that it can never pass for someone else's address or for the board's own marks.

use super::args::Args;
use super::command::{Command, declare};
use super::grants::Person;
use super::spec::{ArgKind, ArgSpec, CommandSpec, opt};
use super::{Core, parse_email};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply};

type Res = Result<Reply, CommandError>;

/// The longest display name, in characters.
pub const MAX_NAME: usize = 40;

/// Why a wanted display name is refused, in the person's words; `None` when it is fine.
pub fn name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len > MAX_NAME {
        return Some(format!("A name has at most {MAX_NAME} characters; this one has {len}."));
    }
    if !name.chars().any(char::is_alphanumeric) {
        return Some("A name needs at least one letter or digit.".into());
    }
    // The board marks the reader's own row with an arrow; nobody else may wear one, and
    // invisible marks (zero-width, direction) would let a name pass for another's.
    if name.chars().any(|c| matches!(c, '←' | '→') || invisible(c)) {
        return Some("A name may not contain arrows, text-direction marks or invisible characters.".into());
    }
    // An address is recognized with what may dress it up around it: brackets, quotes,
    // a trailing dot (`[boss@org.com]`, `boss@org.com.`).
    if name
        .split(|c: char| c.is_whitespace() || "<>(),;\"'[]{}|".contains(c))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?' | '*' | '_' | '`')))
        .any(|w| parse_email(w).is_some())
    {
        return Some("A name may not contain an email address: others see it.".into());
    }
    None
}

/// Longest sender display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A display name safe for a From header: control characters (CR, LF, tab …) and
/// invisible direction/zero-width marks dropped, whitespace runs collapsed, capped at
/// [`MAX_NAME_CHARS`]. `None` when nothing printable is left. Quoting and RFC 2047
/// encoding of what remains is left to lettre.
pub fn sender_name(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut count = 0usize;
    let mut space = false;
    for c in raw.chars() {
        if c.is_whitespace() || c.is_control() {
            // A control character separates words the way a line break did.
            space = !out.is_empty();
            continue;
        }
        if invisible(c) {
            continue;
        }
        if space {
            if count + 1 >= MAX_NAME_CHARS {
                break;
            }
            out.push(' ');
            count += 1;
            space = false;
        }
        if count >= MAX_NAME_CHARS {
            break;
        }
        out.push(c);
        count += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// Zero-width and bidirectional formatting characters: they make a name read other than
/// it is written.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{AD}')
}

/// `name [name…]`: shows the display name, or sets it (spaces collapsed).
#[derive(Debug)]
pub struct Name {
    pub name: Option<String>,
}

impl Command for Name {
    type Grant = Person;
    const SPEC: CommandSpec = declare!(
        Name,
        "name",
        [ArgSpec {
            rest: true,
            ..opt("name", ArgKind::Text, "the name others see; leave out to see yours")
        }],
        "Set the name other promoters and organizers see on leaderboards",
        "name Ana B.",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let name: Option<String> = args.opt("name")?;
        Ok(Name {
            name: name.map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")),
        })
    }

    async fn run(self, core: &Core, ctx: Person) -> Res {
        let person = ctx.person;
        let Some(wanted) = self.name else {
            let shown = person.shown_name();
            let how = if person.display_name.is_some() {
                "the name you set"
            } else {
                "taken from your chat name or your address, until you set one"
            };
            return Ok(Reply::default()
                .with(Block::Fields(vec![("Name".into(), format!("{shown} ({how})"))]))
                .line("Change it with `name <your name>`. Other promoters never see your email address.")
                .private());
        };
        if let Some(why) = name_problem(&wanted) {
            return refuse!("{why}");
        }
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store.set_display_name(&mut tx, person.id, &wanted).await?;
        core.store
            .audit(&mut tx, None, Some(person.id), "person.renamed", &wanted, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!("Others now see you as {wanted} on leaderboards and digests.")).private())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_names_lose_line_breaks_and_controls_and_are_capped() {
        assert_eq!(sender_name("Acme Events").as_deref(), Some("Acme Events"));
        assert_eq!(
            sender_name("Acme\r\nBcc: victim@evil.test").as_deref(),
            Some("Acme Bcc: victim@evil.test")
        );
        assert_eq!(
            sender_name("  Fête\t\u{7}de la\u{202E}  Musique ").as_deref(),
            Some("Fête de la Musique")
        );
        assert_eq!(sender_name("\r\n\u{200B}\t"), None);
        let long = sender_name(&"é".repeat(500)).unwrap();
        assert_eq!(long.chars().count(), MAX_NAME_CHARS);
        let words = sender_name(&"ab ".repeat(100)).unwrap();
        assert!(
            words.chars().count() <= MAX_NAME_CHARS && !words.ends_with(' '),
            "{words:?}"
        );
    }

    #[test]
    fn the_example_parses_into_the_command() {
        let name: Name = crate::commands::command::example();
        assert_eq!(name.name.as_deref(), Some("Ana B."));
    }

    #[test]
    fn names_that_could_mislead_are_refused() {
        assert_eq!(name_problem("Ana B."), None);
        assert_eq!(name_problem("Zoë 🎉"), None);
        assert_eq!(name_problem("DJ Ana (@ana_ig)"), None, "a handle is not an address");
        assert!(name_problem("ana@promo.test").unwrap().contains("email address"));
        assert!(name_problem("Ana <ana@promo.test>").unwrap().contains("email address"));
        assert!(name_problem("Ana  ← you").unwrap().contains("arrows"));
        assert!(name_problem("An\u{200B}a").unwrap().contains("invisible"));
        assert!(name_problem("Ana\u{FEFF}").unwrap().contains("invisible"));
        assert!(name_problem("boss@acme.test.").unwrap().contains("email address"));
        assert!(name_problem("[boss@acme.test]").unwrap().contains("email address"));
        assert!(name_problem("*boss@acme.test*").unwrap().contains("email address"));
        assert!(name_problem("\u{202E}ana").unwrap().contains("direction"));
        assert!(name_problem("---").unwrap().contains("letter or digit"));
        assert!(name_problem(&"x".repeat(41)).unwrap().contains("at most 40"));
        assert_eq!(name_problem(&"é".repeat(40)), None, "characters, not bytes");
    }
}
