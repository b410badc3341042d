//! Generates `bot-commands.md` from the command declarations.

use crate::commands::args::Money;
use crate::commands::spec::ArgKind;
use crate::commands::{COMMANDS, Channels, CommandSpec, parse_line};

/// The options a command's example becomes on Discord, as a person types them: values
/// as written (a price as `49.00`, never its stored minor units).
pub fn discord_options(spec: &CommandSpec) -> Vec<(String, String)> {
    let Ok(inv) = parse_line(spec.example) else {
        return Vec::new();
    };
    spec.args
        .iter()
        .filter_map(|a| {
            let v = inv.get(a.name)?;
            let typed = match a.kind {
                ArgKind::Price => v
                    .parse::<i64>()
                    .map(|m| Money(m).to_string())
                    .unwrap_or_else(|_| v.to_string()),
                _ => v.to_string(),
            };
            Some((a.name.to_string(), typed))
        })
        .collect()
}

/// How a command's example is typed as a Discord slash command.
pub fn discord_form(spec: &CommandSpec) -> String {
    let mut s = format!("/{}", spec.name);
    for (k, v) in discord_options(spec) {
        s.push_str(&format!(" {k}:{v}"));
    }
    s
}

/// The full text of `bot-commands.md`.
pub fn bot_commands_md() -> String {
    let mut out = String::from(
        "# promoterd commands\n\n\
         <!-- Generated from src/commands/spec.rs by `promoterd docs`; do not edit by hand. -->\n\n\
         Every command works the same in the console (`promoterd console --as <email>`), on Discord\n\
         (slash commands with named options), on Telegram (`/command arguments`) and by email (the\n\
         first line of a mail to the bot, or of a reply to one of its mails). Arguments in `<…>` are\n\
         required, `[…]` optional; put text with spaces in \"double quotes\" except in the last\n\
         argument. Who may run what is checked by the core, the same on every channel.\n\n\
         | Command | Who | What it does |\n|---|---|---|\n",
    );
    for c in COMMANDS {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            c.name,
            c.name,
            c.access.label(),
            c.help
        ));
    }
    for c in COMMANDS {
        out.push_str(&format!("\n## {}\n\n{}.\n\n", c.name, c.help));
        out.push_str(&format!("- **Who:** {}\n", c.access.label()));
        out.push_str(&format!("- **Usage:** `{}`\n", c.usage()));
        for a in c.args {
            let req = if a.required && !a.flag { "required" } else { "optional" };
            out.push_str(&format!(
                "  - `{}` ({}, {req}): {}\n",
                a.name,
                a.kind.describe(),
                a.help
            ));
        }
        if c.private {
            out.push_str("- **Privacy:** answered only privately (ephemeral on Discord, direct chat on Telegram).\n");
        }
        out.push_str(&format!("- **Console:** `{}`\n", c.example));
        out.push_str(&format!("- **Discord:** `{}`\n", discord_form(c)));
        out.push_str(&format!("- **Telegram:** `/{}`\n", c.example));
        match c.channels {
            Channels::All => out.push_str(&format!("- **Email:** first line `{}`\n", c.example)),
            Channels::ChatOnly => {
                out.push_str("- **Email:** not available (it links a chat account)\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_parses_into_its_own_command() {
        for c in COMMANDS {
            let inv = parse_line(c.example).unwrap_or_else(|e| panic!("example of {}: {e}", c.name));
            assert_eq!(inv.cmd, c.cmd);
        }
    }

    /// Issue 15.1: every example means the same on Discord as typed in the console, on
    /// Telegram and by mail (a price of 49 is 49.00 EUR, not 4900.00).
    #[test]
    fn every_example_means_the_same_on_every_channel() {
        for c in COMMANDS {
            let line = parse_line(c.example).unwrap();
            let telegram = parse_line(&format!("/{}", c.example)).unwrap();
            let discord = crate::commands::parse_named(c.name, &discord_options(c))
                .unwrap_or_else(|e| panic!("{}: {e}", discord_form(c)));
            assert_eq!(
                (line.cmd, &line.args),
                (discord.cmd, &discord.args),
                "{}",
                discord_form(c)
            );
            assert_eq!((line.cmd, &line.args), (telegram.cmd, &telegram.args), "{}", c.example);
        }
        let price = crate::commands::spec::spec(crate::commands::Cmd::NewTicketType);
        assert!(discord_form(price).contains("price:49.00"), "{}", discord_form(price));
    }

    #[test]
    fn discord_form_names_options() {
        let invite = crate::commands::spec::spec(crate::commands::Cmd::Invite);
        assert_eq!(discord_form(invite), "/invite email:ana@example.com event:summer-fest");
    }
}
