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

/// Every environment variable the code reads (a `"PROMOTERD_…"` literal under `src/`,
/// test variables aside) is listed in the README's Configuration section, and the README
/// lists none the code does not read (issue 15). Fails naming the file and the variable.
#[test]
fn readme_lists_every_environment_variable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut in_code = std::collections::BTreeMap::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for name in env_names(&text, "\"") {
                    in_code.entry(name).or_insert_with(|| path.display().to_string());
                }
            }
        }
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let config_section = readme
        .split("## Configuration")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Configuration section");
    let in_readme: std::collections::BTreeSet<String> = env_names(&readme, "`").into_iter().collect();
    for (name, file) in &in_code {
        assert!(
            config_section.contains(&format!("`{name}`")),
            "{file} reads {name}, which the README's Configuration section does not list"
        );
    }
    for name in &in_readme {
        assert!(
            in_code.contains_key(name) || name.starts_with("PROMOTERD_TEST_"),
            "the README names {name}, which no code reads"
        );
    }
    assert!(in_code.len() >= 9, "{in_code:?}");
}

/// `PROMOTERD_…` names that follow `quote` in `text`.
fn env_names(text: &str, quote: &str) -> Vec<String> {
    text.split(&format!("{quote}PROMOTERD_"))
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            (!name.is_empty() && rest[name.len()..].starts_with(quote)).then(|| format!("PROMOTERD_{name}"))
        })
        .collect()
}
