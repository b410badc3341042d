//! Failed recipients read from the human-readable part of a bounce (Exchange, Office 365,
//! Gmail and similar), for bounces whose machine-readable part is missing.
//!
//! Conservative: only an address in a recognized sentence, or opening a line of the block
//! right under a recognized heading, counts; never any address found anywhere (a bounce
//! also carries our own address and the original message's headers). Linear time: every
//! line is read once, either by the outer loop or by the one block scan that moves the
//! loop past it, and each line is searched once per fixed pattern.

/// At most this many failed recipients are read from one mail.
pub(super) const MAX_FAILED: usize = 100;

/// Headings followed by a block of failed addresses, lowercase (`’` read as `'`).
#[rustfmt::skip]
const BLOCK_HEADINGS: &[&str] = &[
    // Exchange 2010 and later, Office 365.
    "delivery has failed to these recipients or groups:",
    // Office 365: "<host> rejected your message to the following email addresses:".
    "rejected your message to the following email address",
    // Exchange 2003: "did not reach the following recipient(s):".
    "did not reach the following recipient",
    // Gmail and others.
    "delivery to the following recipient failed permanently:",
    "delivery to the following recipients failed permanently:",
];

/// Lines that end such a block (what follows is diagnostics or the original headers).
#[rustfmt::skip]
const BLOCK_ENDS: &[&str] = &[
    "diagnostic information for administrators", "for email admins", "original message headers",
    "technical details", "----- original message", "-----original message", "original message",
];

/// Sentences naming one failed address: (text before it, text right after it).
#[rustfmt::skip]
const SENTENCES: &[(&str, &str)] = &[
    // Gmail: "Your message wasn't delivered to x@y because the address couldn't be found."
    ("your message wasn't delivered to ", " because"),
    // Office 365: "Your message to x@y couldn't be delivered."
    ("your message to ", " couldn't be delivered"),
];

/// Longest block under a heading, in lines.
const MAX_BLOCK: usize = 60;

/// Failed addresses named in a bounce's human-readable `text`, lowercase, without
/// duplicates or `own` (our address), at most `MAX_FAILED`.
pub(super) fn failed_recipients(text: &str, own: Option<&str>) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut add = |a: Option<String>| {
        if let Some(a) = a
            && own != Some(a.as_str())
            && out.len() < MAX_FAILED
            && !out.contains(&a)
        {
            out.push(a);
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let line = normalize(lines[i]);
        i += 1;
        if BLOCK_HEADINGS.iter().any(|h| line.contains(h)) {
            let end = lines.len().min(i + MAX_BLOCK);
            while i < end && !is_block_end(&normalize(lines[i])) {
                add(leading_address(lines[i]));
                i += 1;
            }
            continue;
        }
        for (before, after) in SENTENCES {
            if let Some(at) = line.find(before) {
                let rest = line[at + before.len()..].trim_start();
                let word = rest.split_whitespace().next().unwrap_or("");
                if rest[word.len()..].starts_with(after) {
                    add(address(word));
                }
            }
        }
    }
    out
}

/// Lowercase (ASCII) with typographic apostrophes read as `'`.
fn normalize(line: &str) -> String {
    line.trim().to_ascii_lowercase().replace('\u{2019}', "'")
}

fn is_block_end(line: &str) -> bool {
    BLOCK_ENDS.iter().any(|e| line.starts_with(e))
}

/// The address a block line opens with (after a bullet): `x@y`, `x@y<mailto:x@y>`,
/// `x@y (x@y)<mailto:…>`, `x@y on <date>`, `* x@y`, `<x@y>`.
fn leading_address(line: &str) -> Option<String> {
    let t = line.trim_start().trim_start_matches(['*', '-', '•']).trim_start();
    let word = t.split_whitespace().next()?;
    address(word.split("<mailto:").next().unwrap_or(word))
}

/// `word` as an address (`<>` and trailing punctuation stripped), lowercase, if it is one.
fn address(word: &str) -> Option<String> {
    let a = word
        .trim_start_matches(['<', '(', '"', '\''])
        .trim_end_matches(['>', ')', '"', '\'', '.', ',', ';', ':']);
    let (local, domain) = a.split_once('@')?;
    let local_ok = !local.is_empty() && !local.contains(|c: char| c.is_whitespace() || "<>()[],;:\"@".contains(c));
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    (local_ok && domain_ok).then(|| a.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::super::classify::{MailKind, inspect};
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// A bounce with no usable machine-readable part: its failed recipients come from the
    /// text, it is a `Bounce`, and it runs no command.
    macro_rules! human_bounce {
        ($name:ident, $file:literal, $expected:expr) => {
            #[test]
            fn $name() {
                let i = inspect(&fixture($file), Some("bot@example.test"));
                assert_eq!(i.kind, MailKind::Bounce);
                assert_eq!(i.failed_recipients, $expected as [&str; _]);
                assert_eq!((i.command, i.args.len()), (None, 0));
            }
        };
    }

    human_bounce!(
        office365_without_status,
        "sisimai__lhost-office365-01.eml",
        ["kijitora@example.com"]
    );
    human_bounce!(
        office365_plain_text,
        "sisimai__lhost-office365-02.eml",
        ["kijitora@example.onmicrosoft.com"]
    );
    human_bounce!(
        exchange2003,
        "sisimai__lhost-exchange2003-01.eml",
        ["kijitora@example.jp"]
    );
    human_bounce!(gmail_delay_is_not_a_failure, "sisimai__lhost-gmail-06.eml", []);

    #[test]
    fn gmail_text_without_its_x_failed_recipients_header() {
        let raw = String::from_utf8(fixture("sisimai__lhost-gmail-01.eml")).unwrap();
        let stripped: String = raw
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("X-Failed-Recipients:"))
            .collect();
        assert_ne!(raw, stripped);
        let i = inspect(stripped.as_bytes(), None);
        assert_eq!(
            (i.kind, i.failed_recipients),
            (MailKind::Bounce, vec!["userunknown@example.jp".to_string()])
        );
    }

    #[test]
    fn human_parts_of_other_bounces() {
        // Gmail's and Office 365's sentences in bounces whose delivery-status part is intact,
        // and a bulleted block in an X3 bounce (a report without a report-type, from
        // `Mail.Delivery.System@`).
        for (file, expected) in [
            ("sisimai__rhost-gsuite-01.eml", "kijitora@example.de"),
            ("sisimai__lhost-x3-01.eml", "kijitora@example.com"),
            (
                "sisimai__lhost-office365-13.eml",
                "kijitora-nyaan@neko.kyoto.example.jp",
            ),
        ] {
            let raw = fixture(file);
            let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let text = msg.body_text(0).unwrap();
            assert_eq!(failed_recipients(&text, None), [expected], "{file}");
        }
    }

    #[test]
    fn only_recognized_places_count() {
        let text = "Delivery has failed to these recipients or groups:\n\na@example.org\nb@example.org<mailto:b@example.org>\nThe address wasn't found; write to help@example.org.\n\nbot@example.test\n\nDiagnostic information for administrators:\n\nc@example.org\nFrom: d@example.org\n";
        assert_eq!(
            failed_recipients(text, Some("bot@example.test")),
            ["a@example.org", "b@example.org"]
        );
        assert!(
            failed_recipients(
                "Write to x@example.org.\nYour message to me couldn't be delivered",
                None
            )
            .is_empty()
        );
        assert_eq!(
            failed_recipients(
                "Your message wasn’t delivered to <X@Example.org> because it failed.",
                None
            ),
            ["x@example.org"]
        );
    }

    #[test]
    fn at_most_max_failed_in_linear_time() {
        // Linear by construction (see the module comment); no wall time is asserted.
        let mut text = String::new();
        for n in 0..20_000 {
            text.push_str(&format!(
                "Delivery has failed to these recipients or groups:\nu{n}@example.org\n"
            ));
        }
        let got = failed_recipients(&text, None);
        assert_eq!((got.len(), got[0].as_str()), (MAX_FAILED, "u0@example.org"));
    }
}
