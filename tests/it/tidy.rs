//! Architecture invariants checked from the source, the way rust-analyzer's tidy tests
//! do: each failure names the file and line and the invariant of ARCHITECTURE.md it breaks.

use std::path::{Path, PathBuf};

/// Front-end and wire crates the core never names.
const FRONT_END_CRATES: &[&str] = &[
    "serenity",
    "teloxide",
    "axum",
    "hyper",
    "lettre",
    "async_imap",
    "mail_parser",
    "reqwest",
    "tokio_rustls",
];

/// The core: what no front-end crate may reach (ARCHITECTURE.md, "Core").
const CORE: &[&str] = &[
    "src/chart.rs",
    "src/chart/",
    "src/domain/",
    "src/commands.rs",
    "src/commands/",
    "src/domain.rs",
    "src/store.rs",
    "src/store/",
    "src/ingest.rs",
    "src/ingest/",
    "src/export.rs",
    "src/reply.rs",
    "src/digest.rs",
    "src/commission_notice.rs",
    "src/delivery.rs",
    "src/chat_outbox.rs",
    "src/error.rs",
    "src/money.rs",
    "src/clock.rs",
    "src/codes.rs",
    "src/text.rs",
    "src/qr.rs",
];

/// Where sqlx and SQL text may appear.
const STORE: &[&str] = &["src/store.rs", "src/store/"];

/// Longest file in `src/`, in lines.
const MAX_FILE_LINES: usize = 500;
/// Files allowed past it: table-like declarations.
const LONG_FILES: &[(&str, &str)] = &[("src/commands/spec.rs", "the command table: one declaration per command")];

/// Longest function, in lines (signature to closing brace).
const MAX_FN_LINES: usize = 80;
/// Functions allowed past it, as `file::name` (none today; a new entry needs a reason).
const LONG_FNS: &[&str] = &[];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/`, as (path relative to the root, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn is_in(path: &str, places: &[&str]) -> bool {
    places.iter().any(|p| {
        if p.ends_with('/') {
            path.starts_with(p)
        } else {
            path == *p
        }
    })
}

/// The code of a line without its comment, and with string and char literals blanked
/// (`in_str` carries a string across lines; `raw` the `#`s of a raw string); the text
/// of its string literals goes to `literals`.
fn code_of(line: &str, in_str: &mut bool, raw: &mut Option<usize>, literals: &mut String) -> String {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if *in_str {
            literals.push(b[i] as char);
            match raw {
                Some(h) => {
                    let end = format!("\"{}", "#".repeat(*h));
                    if line[i..].starts_with(&end) {
                        *in_str = false;
                        *raw = None;
                        i += end.len();
                        continue;
                    }
                }
                None if b[i] == b'\\' => {
                    i += 2;
                    continue;
                }
                None if b[i] == b'"' => *in_str = false,
                None => {}
            }
            i += 1;
            continue;
        }
        let rest = &line[i..];
        if rest.starts_with("//") {
            break;
        }
        let word_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if b[i] == b'r' && !word_before {
            let hashes = rest[1..].bytes().take_while(|&c| c == b'#').count();
            if rest[1 + hashes..].starts_with('"') {
                *in_str = true;
                *raw = Some(hashes);
                out.push_str("\"\"");
                i += 2 + hashes;
                continue;
            }
        }
        if b[i] == b'"' {
            *in_str = true;
            out.push_str("\"\"");
            i += 1;
            continue;
        }
        if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{202E}'); otherwise a lifetime.
            if let Some(end) = rest[1..].find('\'').map(|e| e + 1)
                && (rest[1..end].chars().count() == 1 || rest[1..].starts_with('\\'))
            {
                out.push_str("' '");
                i += end + 1;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Every line's code (comments and literals blanked), per file.
fn code_lines(text: &str) -> Vec<String> {
    scan(text).into_iter().map(|(code, _)| code).collect()
}

/// Every line as (code, text of its string literals).
fn scan(text: &str) -> Vec<(String, String)> {
    let (mut in_str, mut raw) = (false, None);
    text.lines()
        .map(|l| {
            let mut literals = String::new();
            let code = code_of(l, &mut in_str, &mut raw, &mut literals);
            (code, literals)
        })
        .collect()
}

/// Whether string-literal text reads as an SQL statement.
fn is_sql(literals: &str) -> bool {
    let has = |k: &str| literals.contains(k);
    (has("SELECT ") && has(" FROM "))
        || has("INSERT INTO ")
        || has("DELETE FROM ")
        || has("CREATE TABLE")
        || has("PRAGMA ")
        || literals
            .split("UPDATE ")
            .skip(1)
            .any(|rest| rest.split_whitespace().nth(1) == Some("SET"))
}

fn fail_if_any(problems: Vec<String>, invariant: &str) {
    assert!(
        problems.is_empty(),
        "Architecture invariant broken: {invariant}\n{}",
        problems.join("\n")
    );
}

/// A crate is named as a path (`serenity::`) or imported (`use serenity`).
fn names_crate(code: &str, krate: &str) -> bool {
    code.match_indices(krate).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = &code[i + krate.len()..];
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && (after.starts_with("::") || after.starts_with(';'))
    })
}

#[test]
fn the_core_names_no_front_end_crate() {
    let mut problems = Vec::new();
    for (path, text) in sources().iter().filter(|(p, _)| is_in(p, CORE)) {
        for (n, code) in code_lines(text).iter().enumerate() {
            for krate in FRONT_END_CRATES {
                if names_crate(code, krate) {
                    problems.push(format!("{path}:{}: names `{krate}`", n + 1));
                }
            }
        }
    }
    fail_if_any(
        problems,
        "the core (commands, store, ingest, export, digests, replies) never names a front-end crate",
    );
}

/// Front-end modules of this crate: the core reaches none of them.
const FRONT_END_MODULES: &[&str] = &["email", "http", "discord", "telegram", "cli", "console", "daemon"];

#[test]
fn the_core_reaches_no_front_end_module() {
    let mut problems = Vec::new();
    for (path, text) in sources().iter().filter(|(p, _)| is_in(p, CORE)) {
        for (n, code) in code_lines(text).iter().enumerate() {
            for m in FRONT_END_MODULES {
                if names_crate(code, &format!("crate::{m}")) {
                    problems.push(format!("{path}:{}: names `crate::{m}`", n + 1));
                }
            }
        }
    }
    fail_if_any(
        problems,
        "the core never reaches into a front-end module (email, http, discord, telegram, cli, console, daemon)",
    );
}

#[test]
fn sqlx_and_sql_text_live_only_in_the_store() {
    let mut problems = Vec::new();
    for (path, text) in sources().iter().filter(|(p, _)| !is_in(p, STORE)) {
        for (n, (code, literals)) in scan(text).iter().enumerate() {
            if names_crate(code, "sqlx") {
                problems.push(format!("{path}:{}: names `sqlx`", n + 1));
            }
            if is_sql(literals) {
                problems.push(format!("{path}:{}: SQL text `{}`", n + 1, literals.trim()));
            }
        }
    }
    fail_if_any(problems, "sqlx and every SQL statement live under src/store");
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let problems: Vec<String> = sources()
        .iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(path, _)| format!("{path}:1: does not open with a `//!` line"))
        .collect();
    fail_if_any(problems, "each file opens with a one- or two-line `//!`");
}

#[test]
fn files_and_functions_stay_short() {
    let mut problems = Vec::new();
    let mut long_fns_seen = Vec::new();
    for (path, text) in sources() {
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES && !LONG_FILES.iter().any(|(p, _)| *p == path) {
            problems.push(format!(
                "{path}: {lines} lines (at most {MAX_FILE_LINES}): split it by feature"
            ));
        }
        for (name, start, len) in functions(&code_lines(&text)) {
            let key = format!("{path}::{name}");
            if len > MAX_FN_LINES {
                if LONG_FNS.contains(&key.as_str()) {
                    long_fns_seen.push(key);
                } else {
                    problems.push(format!(
                        "{path}:{start}: fn {name} has {len} lines (at most {MAX_FN_LINES})"
                    ));
                }
            }
        }
    }
    for key in LONG_FNS.iter().filter(|k| !long_fns_seen.iter().any(|s| s == *k)) {
        problems.push(format!(
            "{key} is short now (or gone): remove it from LONG_FNS in tests/it/tidy.rs"
        ));
    }
    fail_if_any(problems, "files of at most ~500 lines, functions of at most 80");
}

/// (name, first line, length in lines) of every function with a body.
fn functions(code: &[String]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (i, line) in code.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let mut depth = 0usize;
        let mut opened = false;
        'scan: for (j, l) in code.iter().enumerate().skip(i) {
            for c in l.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth = depth.saturating_sub(1);
                        if opened && depth == 0 {
                            out.push((name.clone(), i + 1, j - i + 1));
                            break 'scan;
                        }
                    }
                    ';' if !opened => break 'scan, // a declaration without a body
                    _ => {}
                }
            }
        }
    }
    out
}

/// The name of the function a line declares (`pub(crate) async fn name…`).
fn fn_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().peekable();
    while let Some(w) = words.next() {
        match w {
            "pub" | "async" | "const" | "unsafe" | "extern" => continue,
            w if w.starts_with("pub(") => continue,
            "fn" => {
                let name: String = words
                    .next()?
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                return (!name.is_empty()).then_some(name);
            }
            _ => return None,
        }
    }
    None
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The scanners themselves: a check that can never fire proves nothing.
    let code = code_lines("use serenity::model; // teloxide::x\nlet s = \"axum::Router\";\n");
    assert!(names_crate(&code[0], "serenity"));
    assert!(!names_crate(&code[0], "teloxide"), "comments are not code");
    assert!(!names_crate(&code[1], "axum"), "strings are not code");
    assert!(
        !names_crate("let my_serenity::x", "serenity"),
        "a longer name is another name"
    );
    let src = "fn a() {\n    let c = '{';\n    if x { y }\n}\npub(crate) async fn b(x: &'a str);\n";
    let fns = functions(&code_lines(src));
    assert_eq!(fns, [("a".to_string(), 1, 4)]);
    let raw = scan("fn z() {\n    let q = r#\"SELECT \"{\"\n    FROM t\"#;\n}\n");
    assert!(is_sql(&format!("{}{}", raw[1].1, raw[2].1)), "{raw:?}");
    let code: Vec<String> = raw.into_iter().map(|(c, _)| c).collect();
    assert_eq!(
        functions(&code),
        [("z".to_string(), 1, 4)],
        "a brace in a raw string is text"
    );
    assert!(is_sql("UPDATE links SET revoked_at = ?"));
    assert!(!is_sql("Send UPDATE when you SET it"), "prose is not SQL");
}

/// The one file allowed `unsafe` (ARCHITECTURE.md, "Unsafe code").
const UNSAFE_FILE: &str = "src/memory.rs";

#[test]
fn unsafe_code_lives_in_one_file() {
    let mut problems = Vec::new();
    let mut seen_there = false;
    for (path, text) in sources() {
        for (n, code) in code_lines(&text).iter().enumerate() {
            let says = code
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "unsafe" || w == "unsafe_code");
            if says && path == UNSAFE_FILE {
                seen_there = true;
            } else if says {
                problems.push(format!("{path}:{}: `unsafe` outside {UNSAFE_FILE}", n + 1));
            }
        }
    }
    fail_if_any(problems, "unsafe code lives in src/memory.rs only");
    assert!(
        seen_there,
        "{UNSAFE_FILE} moved or lost its one call: update this test and ARCHITECTURE.md"
    );
}
