//! Slash-command definitions generated from the core's declarations, and the way
//! back: an interaction's options into an [`Invocation`].

use crate::commands::{ArgKind, COMMANDS, Invocation, parse_named};
use crate::error::UserError;
use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, CreateCommand, CreateCommandOption,
};

/// Every declared command as a Discord slash command.
pub fn definitions() -> Vec<CreateCommand> {
    COMMANDS
        .iter()
        .map(|c| {
            let mut cmd = CreateCommand::new(c.name).description(c.help);
            // Discord wants required options first.
            let mut args: Vec<_> = c.args.iter().collect();
            args.sort_by_key(|a| !a.required || a.flag);
            for a in args {
                let kind = match a.kind {
                    ArgKind::Whole { .. } => CommandOptionType::Integer,
                    _ => CommandOptionType::String,
                };
                let mut o = CreateCommandOption::new(kind, a.name, a.help).required(a.required && !a.flag);
                if let ArgKind::Whole { min, max } = a.kind {
                    o = o.min_int_value(u64::from(min)).max_int_value(u64::from(max));
                }
                if let ArgKind::Choice(choices) = a.kind {
                    for choice in choices {
                        o = o.add_string_choice(*choice, *choice);
                    }
                }
                if a.kind == ArgKind::Email {
                    o = o.min_length(3).max_length(254);
                }
                cmd = cmd.add_option(o);
            }
            cmd
        })
        .collect()
}

/// The invocation an interaction asks for.
pub fn invocation(cmd: &CommandInteraction) -> Result<Invocation, UserError> {
    let options: Vec<(String, String)> = cmd
        .data
        .options
        .iter()
        .filter_map(|o| match &o.value {
            CommandDataOptionValue::String(s) => Some((o.name.clone(), s.clone())),
            CommandDataOptionValue::Integer(i) => Some((o.name.clone(), i.to_string())),
            CommandDataOptionValue::Number(n) => Some((o.name.clone(), n.to_string())),
            CommandDataOptionValue::Boolean(b) => Some((o.name.clone(), b.to_string())),
            _ => None,
        })
        .collect();
    parse_named(&cmd.data.name, &options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_follow_the_declarations() {
        let defs = serde_json::to_value(definitions()).unwrap();
        let defs = defs.as_array().unwrap();
        // Each definition names a declared command with its declared options, in order.
        let mut names = std::collections::HashSet::new();
        for d in defs {
            let name = d["name"].as_str().unwrap();
            assert!(names.insert(name), "Discord refuses two commands named {name}");
            let spec = crate::commands::spec::find(name).unwrap_or_else(|| panic!("{name} is not declared"));
            let options: Vec<&str> = d["options"]
                .as_array()
                .map(|o| o.iter().map(|o| o["name"].as_str().unwrap()).collect())
                .unwrap_or_default();
            let declared: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
            assert_eq!(options, declared, "{name}");
        }
        let invite = defs.iter().find(|d| d["name"] == "invite").unwrap();
        assert_eq!(invite["options"][0]["name"], "email");
        assert_eq!(invite["options"][0]["required"], true);
        assert_eq!(invite["options"][1]["required"], false);
        let board = defs.iter().find(|d| d["name"] == "setleaderboard").unwrap();
        assert_eq!(board["options"][0]["choices"][0]["value"], "on");
    }
}
