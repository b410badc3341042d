//! A Telegram message's text as a command line: `/cmd@bot args`, `/start <code>`,
//! and commands meant for another bot.

/// What a Telegram message text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelegramText {
    /// Not a `/command`.
    NotACommand,
    /// `/command@otherbot` in a group.
    ForAnotherBot,
    /// `/start` without a payload.
    Start,
    /// A command line for [`crate::commands::parse_line`]; `/start <code>` becomes `accept <code>`.
    Line(String),
}

/// Turns a message text into a command line, the way Telegram clients send commands.
pub fn command_line(text: &str, bot_username: &str) -> TelegramText {
    let Some(command) = text.trim().strip_prefix('/') else {
        return TelegramText::NotACommand;
    };
    let (word, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let (name, addressee) = word.split_once('@').unwrap_or((word, ""));
    if !addressee.is_empty() && !addressee.eq_ignore_ascii_case(bot_username) {
        return TelegramText::ForAnotherBot;
    }
    match (name.to_ascii_lowercase().as_str(), rest.trim()) {
        ("start", "") => TelegramText::Start,
        ("start", code) => TelegramText::Line(format!("accept {code}")),
        (name, rest) => TelegramText::Line(format!("{name} {rest}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_texts_become_lines() {
        assert_eq!(command_line("hello", "bot"), TelegramText::NotACommand);
        assert_eq!(command_line("/stats@OtherBot", "bot"), TelegramText::ForAnotherBot);
        assert_eq!(command_line(" /start ", "bot"), TelegramText::Start);
        assert_eq!(
            command_line("/start abc", "bot"),
            TelegramText::Line("accept abc".into())
        );
        assert_eq!(
            command_line("/MyStats@Bot fest", "bot"),
            TelegramText::Line("mystats fest".into())
        );
    }
}
