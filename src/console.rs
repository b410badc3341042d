//! The console front-end: the same commands from a terminal, as one person.

use crate::commands::{Core, Origin};
use crate::reply::Reply;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Renders a reply for the terminal, saving attachments into `out_dir`.
pub fn render(reply: &Reply, out_dir: &Path) -> std::io::Result<String> {
    let mut text = reply.to_plain();
    for a in &reply.attachments {
        let path: PathBuf = out_dir.join(&a.filename);
        std::fs::write(&path, &a.data)?;
        text.push_str(&format!(
            "\nSaved {} ({} bytes): {}\n",
            path.display(),
            a.data.len(),
            a.caption
        ));
    }
    Ok(text)
}

/// Runs one command; returns the rendered reply and whether it succeeded.
pub async fn run_one(core: &Core, email: &str, line: &str, out_dir: &Path) -> std::io::Result<(String, bool)> {
    let origin = Origin::Console {
        email: email.to_string(),
    };
    let reply = core.execute(&origin, line).await;
    Ok((render(&reply, out_dir)?, !reply.is_error))
}

/// Reads commands from standard input until end of input or `quit`.
pub async fn interactive(core: &Core, email: &str, out_dir: &Path) -> std::io::Result<()> {
    let tty = std::io::stdin().is_terminal();
    if tty {
        println!("promoterd console as {email}. Type `help` for commands, `quit` to leave.");
    }
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if tty {
            print!("promoterd> ");
            std::io::stdout().flush()?;
        }
        let Some(line) = lines.next().transpose()? else {
            break;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if matches!(line, "quit" | "exit") {
            break;
        }
        let (text, _) = run_one(core, email, line, out_dir).await?;
        println!("{text}");
    }
    Ok(())
}
