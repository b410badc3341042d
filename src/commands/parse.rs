//! Turns a line of text (console, Telegram, email) or named options (Discord) into an
//! [`Invocation`] of a declared command, checking every argument against its kind.

use super::spec::{ArgKind, ArgSpec, Cmd, CommandSpec, find};
use crate::error::UserError;
use std::collections::HashMap;

/// A command with its checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub cmd: Cmd,
    pub args: HashMap<&'static str, String>,
}

impl Invocation {
    /// An argument's value, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.args.get(name).map(String::as_str)
    }

    /// A required argument's value (parsing guarantees it is present).
    pub fn req(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }
}

/// Splits a line into words; "double quotes" (also “curly” ones) keep spaces.
pub fn tokenize(line: &str) -> Result<Vec<String>, UserError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut has_token = false;
    for c in line.chars() {
        match c {
            '"' | '“' | '”' => {
                in_quote = !in_quote;
                has_token = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if has_token {
                    out.push(std::mem::take(&mut cur));
                    has_token = false;
                }
            }
            c => {
                cur.push(c);
                has_token = true;
            }
        }
    }
    if in_quote {
        return Err(UserError::new("A quote is not closed: add the missing \"."));
    }
    if has_token {
        out.push(cur);
    }
    Ok(out)
}

/// Parses a text command such as `/invite ana@example.com summer-fest`.
pub fn parse_line(line: &str) -> Result<Invocation, UserError> {
    let words = tokenize(line.trim())?;
    let Some(first) = words.first() else {
        return Err(UserError::new("Send a command, for example `help`."));
    };
    // `/stats@promoterd_bot` in Telegram groups; a leading slash everywhere.
    let name = first.trim_start_matches('/');
    let name = name.split('@').next().unwrap_or(name);
    let Some(spec) = find(name) else {
        return Err(unknown_command(name));
    };
    let mut named: Vec<(String, String)> = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        if let Some(flag) = w.strip_prefix("--").filter(|f| !f.is_empty()) {
            let Some(arg) = spec.args.iter().find(|a| a.flag && a.name == flag) else {
                return Err(UserError::new(format!(
                    "`{}` has no option --{flag}. Usage: {}",
                    spec.name,
                    spec.usage()
                )));
            };
            let Some(value) = it.next() else {
                return Err(UserError::new(format!(
                    "--{} needs a value. Usage: {}",
                    arg.name,
                    spec.usage()
                )));
            };
            named.push((arg.name.to_string(), value.clone()));
        } else {
            positional.push(w.clone());
        }
    }
    let pos_specs: Vec<&ArgSpec> = spec.args.iter().filter(|a| !a.flag).collect();
    let mut values: Vec<(&'static str, String)> = Vec::new();
    let mut rest_words = positional.into_iter();
    for (i, a) in pos_specs.iter().enumerate() {
        let last = i + 1 == pos_specs.len();
        let value = if a.rest && last {
            let v: Vec<String> = rest_words.by_ref().collect();
            if v.is_empty() { None } else { Some(v.join(" ")) }
        } else {
            rest_words.next()
        };
        if let Some(v) = value {
            values.push((a.name, v));
        }
    }
    if let Some(extra) = rest_words.next() {
        return Err(UserError::new(format!("Unexpected `{extra}`. Usage: {}", spec.usage())));
    }
    for (name, v) in named {
        let a = spec.args.iter().find(|a| a.name == name).expect("flag was found above");
        values.push((a.name, v));
    }
    build(spec, values)
}

/// Builds an invocation from named option values (Discord slash commands).
pub fn parse_named(name: &str, options: &[(String, String)]) -> Result<Invocation, UserError> {
    let Some(spec) = find(name) else {
        return Err(unknown_command(name));
    };
    let mut values = Vec::new();
    for (k, v) in options {
        let Some(a) = spec.args.iter().find(|a| a.name == k) else {
            return Err(UserError::new(format!(
                "`{}` has no option {k}. Usage: {}",
                spec.name,
                spec.usage()
            )));
        };
        values.push((a.name, v.clone()));
    }
    build(spec, values)
}

fn build(spec: &'static CommandSpec, values: Vec<(&'static str, String)>) -> Result<Invocation, UserError> {
    let mut args = HashMap::new();
    for (name, raw) in values {
        let a = spec
            .args
            .iter()
            .find(|a| a.name == name)
            .expect("names come from the spec");
        let v = check_value(a, &raw).map_err(|m| UserError::new(format!("{m} Usage: {}", spec.usage())))?;
        if args.insert(name, v).is_some() {
            return Err(UserError::new(format!(
                "{name} is given twice. Usage: {}",
                spec.usage()
            )));
        }
    }
    for a in spec.args.iter().filter(|a| a.required) {
        if !args.contains_key(a.name) {
            return Err(UserError::new(format!(
                "Missing {} ({}). Usage: {} — for example: {}",
                a.name,
                a.kind.describe(),
                spec.usage(),
                spec.example
            )));
        }
    }
    Ok(Invocation { cmd: spec.cmd, args })
}

fn check_value(a: &ArgSpec, raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(format!("{} is empty.", a.name));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{} contains control characters.", a.name));
    }
    if v.chars().count() > 300 {
        return Err(format!("{} is longer than 300 characters.", a.name));
    }
    let show: String = v.chars().take(60).collect();
    Ok(match a.kind {
        ArgKind::Email => parse_email(v).ok_or_else(|| format!("`{show}` is not an email address."))?,
        ArgKind::Slug => {
            let s = v.to_lowercase();
            if !is_slug(&s) {
                return Err(format!("`{show}` is not a short name: use 2 to 40 of a-z, 0-9 and -."));
            }
            s
        }
        // An event: its short name, or `<organization>/<event>` where names repeat.
        ArgKind::Event => {
            let s = v.to_lowercase();
            let ok = match s.split_once('/') {
                Some((org, event)) => is_slug(org) && is_slug(event),
                None => is_slug(&s),
            };
            if !ok {
                return Err(format!(
                    "`{show}` is not a short name: use 2 to 40 of a-z, 0-9 and - (or <organization>/<event>)."
                ));
            }
            s
        }
        ArgKind::Text => {
            if v.chars().count() > 100 {
                return Err(format!("{} is longer than 100 characters.", a.name));
            }
            v.to_string()
        }
        ArgKind::Code => {
            let c = crate::codes::normalize_code(v);
            if c.is_empty() || c.len() > 64 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                return Err(format!("`{show}` is not a valid code."));
            }
            c
        }
        ArgKind::Price => parse_price(v)
            .ok_or_else(|| format!("`{show}` is not a price like 25 or 25.50."))?
            .to_string(),
        ArgKind::Time => v.to_string(),
        ArgKind::Url => {
            let u = url::Url::parse(v).map_err(|_| format!("`{show}` is not a web address."))?;
            if u.scheme() != "https" && u.scheme() != "http" || u.host_str().is_none() {
                return Err(format!("`{show}` must be an http(s):// address."));
            }
            u.to_string()
        }
        ArgKind::Whole { min, max } => match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => n.to_string(),
            _ => return Err(format!("{} must be a whole number from {min} to {max}.", a.name)),
        },
        ArgKind::Choice(choices) => {
            let l = v.to_lowercase();
            if !choices.contains(&l.as_str()) {
                return Err(format!("{} must be one of: {}.", a.name, choices.join(", ")));
            }
            l
        }
    })
}

fn unknown_command(name: &str) -> UserError {
    let shown: String = name.chars().take(40).collect();
    let close = super::spec::COMMANDS
        .iter()
        .filter(|c| {
            c.name
                .starts_with(&name.to_lowercase().chars().take(3).collect::<String>())
        })
        .map(|c| c.name)
        .next();
    match close {
        Some(c) if !name.is_empty() => UserError::new(format!(
            "Unknown command `{shown}`. Did you mean `{c}`? Send `help` for the list."
        )),
        _ => UserError::new(format!("Unknown command `{shown}`. Send `help` for the list.")),
    }
}

/// A short name: 2 to 40 of a-z, 0-9 and `-`, not starting or ending with `-`, with at
/// least one letter (all-digit names would read as ids).
pub fn is_slug(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.chars().any(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Normalizes an email address (lowercase); `None` when it is not one.
pub fn parse_email(s: &str) -> Option<String> {
    let s = s.trim().trim_start_matches("mailto:").to_lowercase();
    let (local, domain) = s.rsplit_once('@')?;
    let ok_local = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let ok_domain = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
        });
    (ok_local && ok_domain).then_some(s)
}

/// Parses `25`, `25.5`, `25.50`, `25,50` or `1.125` into thousandths (25000, 25500,
/// 25500, 25500, 1125): exact in the minor units of any currency, which the command
/// knows only once it has found its event ([`crate::commands::args::Money::minor_in`]).
pub fn parse_price(s: &str) -> Option<i64> {
    let s = s.trim().replace(',', ".");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) || whole.len() > 9 {
        return None;
    }
    if frac.len() > 3 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let thousandths: i64 = format!("{frac:0<3}").parse().ok()?;
    Some(whole.parse::<i64>().ok()? * 1000 + thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_optional_and_rest_arguments() {
        let inv = parse_line("/newtickettype summer-fest 49 General Admission").unwrap();
        assert_eq!(inv.cmd, Cmd::NewTicketType);
        // Thousandths: the event, and so its currency, is not known yet.
        assert_eq!(inv.get("price"), Some("49000"));
        assert_eq!(inv.get("name"), Some("General Admission"));
        let inv = parse_line("invite Ana@Example.com").unwrap();
        assert_eq!(inv.get("email"), Some("ana@example.com"));
        assert_eq!(inv.get("event"), None);
    }

    #[test]
    fn quotes_flags_and_telegram_bot_suffix() {
        let inv = parse_line("/newlink \"tik tok\" summer-fest --for \"Bo Li\"").unwrap();
        assert_eq!(inv.get("label"), Some("tik tok"));
        assert_eq!(inv.get("for"), Some("Bo Li"));
        assert_eq!(
            parse_line("/stats@promoterd_bot fest").unwrap().get("event"),
            Some("fest")
        );
    }

    #[test]
    fn bad_input_is_explained() {
        assert!(
            parse_line("frobnicate")
                .unwrap_err()
                .0
                .starts_with("Unknown command `frobnicate`")
        );
        assert!(parse_line("invite").unwrap_err().0.contains("Missing email"));
        assert!(
            parse_line("invite not-an-email")
                .unwrap_err()
                .0
                .contains("is not an email address")
        );
        assert!(
            parse_line("stats fest extra@x.io more")
                .unwrap_err()
                .0
                .contains("Unexpected `more`")
        );
        assert!(
            parse_line("setleaderboard maybe")
                .unwrap_err()
                .0
                .contains("one of: on, off")
        );
        assert!(parse_line("newlink \"open").unwrap_err().0.contains("quote"));
    }

    #[test]
    fn prices_and_emails() {
        assert_eq!(parse_price("25"), Some(25_000));
        assert_eq!(parse_price("25,5"), Some(25_500));
        assert_eq!(parse_price("1.234"), Some(1_234));
        assert_eq!(parse_price("-3"), None);
        assert_eq!(parse_price("1.2345"), None);
        assert_eq!(parse_email("x@y"), None);
        assert_eq!(parse_email("a..b@x.io"), None);
        assert_eq!(parse_email("=cmd@x.io").as_deref(), Some("=cmd@x.io"));
        assert!(is_slug("summer-fest-2027") && !is_slug("2027") && !is_slug("-x") && !is_slug("a"));
    }
}
