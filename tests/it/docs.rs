//! Generated documentation stays in step with the code.

use std::path::Path;

/// `bot-commands.md` must equal what the declarations generate. When it does not, the
/// file is rewritten and the test fails, so a developer only has to commit the result.
#[test]
fn bot_commands_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot-commands.md");
    let expected = promoterd::docs::bot_commands_md();
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual != expected {
        if std::env::var_os("CI").is_none() {
            std::fs::write(&path, &expected).unwrap();
        }
        panic!(
            "bot-commands.md was stale{}. Regenerate it with `cargo run -- docs > bot-commands.md` and commit it.",
            if std::env::var_os("CI").is_none() {
                " and has been rewritten"
            } else {
                ""
            }
        );
    }
}

#[test]
fn bot_commands_md_names_every_command_on_every_channel() {
    let md = promoterd::docs::bot_commands_md();
    for c in promoterd::commands::COMMANDS {
        assert!(md.contains(&format!("\n## {}\n", c.name)), "{}", c.name);
        assert!(md.contains(&format!("- **Telegram:** `/{}", c.name)), "{}", c.name);
    }
}
