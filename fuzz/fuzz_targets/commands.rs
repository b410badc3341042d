//! Fuzzes every text form of a command: console and email lines, Telegram messages and
//! Discord options.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promoterd::commands::{COMMANDS, parse_line, parse_named, tokenize};
use promoterd::telegram::{TelegramText, command_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = tokenize(text);
    if let Ok(inv) = parse_line(text) {
        assert!(COMMANDS.iter().any(|c| c.cmd == inv.cmd));
    }
    if let TelegramText::Line(line) = command_line(text, "promoterd_bot") {
        let _ = parse_line(&line);
    }
    // Discord: the first line names the command, the rest are `name=value` options.
    let mut lines = text.lines();
    let name = lines.next().unwrap_or("");
    let options: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    if let Ok(inv) = parse_named(name, &options) {
        assert!(COMMANDS.iter().any(|c| c.cmd == inv.cmd));
    }
});
