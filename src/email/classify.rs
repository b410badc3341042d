//! Understanding an inbound mail: what kind it is (a reply, or something that must never
//! run a command), who sent it, what it answers, and its visible new text.

use super::bounce_text;
pub use super::html::html_to_text;
use super::visible::{first_line, visible_text};
use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

/// What kind of mail this is. Only a `Reply` may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Reply,
    AutoReply,
    Bounce,
    Complaint,
    Loop,
}

/// Everything promoterd reads from one inbound mail (`promoterd email inspect` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct Inspected {
    pub kind: MailKind,
    /// The visible new text.
    pub text: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub from: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub failed_recipients: Vec<String>,
    pub subject: Option<String>,
    /// To, Cc and Delivered-To addresses (where a reply token may be).
    #[serde(skip)]
    pub recipients: Vec<String>,
    /// Authentication-Results header values.
    #[serde(skip)]
    pub authentication_results: Vec<String>,
}

fn list(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn addresses(msg: &Message<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for a in [msg.to(), msg.cc()].into_iter().flatten() {
        out.extend(a.iter().filter_map(|a| a.address()).map(str::to_lowercase));
    }
    for h in msg.headers() {
        if (h.name.as_str().eq_ignore_ascii_case("Delivered-To")
            || h.name.as_str().eq_ignore_ascii_case("X-Original-To"))
            && let Some(t) = h.value.as_text()
        {
            out.push(t.trim().trim_matches(|c| c == '<' || c == '>').to_lowercase());
        }
    }
    out
}

fn header_text(msg: &Message<'_>, name: &str) -> Option<String> {
    msg.headers()
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .and_then(|h| h.value.as_text().map(|t| t.trim().to_string()))
}

fn header_values(msg: &Message<'_>, name: &str) -> Vec<String> {
    msg.headers()
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
        .filter_map(|h| h.value.as_text().map(|t| t.trim().to_string()))
        .collect()
}

const AUTO_SUBJECTS: &[&str] = &[
    "auto:",
    "automatic reply",
    "autoreply",
    "auto-reply",
    "auto reply",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "respuesta automática",
    "autosvar",
    "automatisch antwoord",
    "risposta automatica",
    "vacation",
    "away from my mail",
];

fn is_auto_reply(msg: &Message<'_>) -> bool {
    let has = |n: &str| header_text(msg, n);
    if has("Auto-Submitted").is_some_and(|v| !v.to_ascii_lowercase().starts_with("no")) {
        return true;
    }
    if has("X-Autoreply").is_some() || has("X-Autorespond").is_some() || has("X-Autoresponder").is_some() {
        return true;
    }
    if has("Precedence")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "bulk" | "junk" | "list" | "auto_reply"))
    {
        return true;
    }
    // mail-parser reads List-Id as an address, not as text: its presence is what counts.
    let list = msg
        .headers()
        .iter()
        .any(|h| h.name.as_str().eq_ignore_ascii_case("List-Id"));
    if has("X-Apple-Action").is_some_and(|v| v.eq_ignore_ascii_case("vacation")) || list {
        return true;
    }
    if let Some(v) = has("X-Auto-Response-Suppress")
        && msg.subject().is_some_and(|s| s.to_lowercase().contains("reply"))
        && !v.is_empty()
    {
        return true;
    }
    let subject = msg.subject().unwrap_or("").trim().to_lowercase();
    let subject = subject.trim_start_matches("re:").trim();
    // The phrase alone or before a colon ("Out of office: …"): a reply to the digest of
    // an organization named "Vacation Fest" is still a reply.
    let auto = AUTO_SUBJECTS.iter().any(|p| {
        subject
            .strip_prefix(p)
            .is_some_and(|rest| p.ends_with(':') || rest.is_empty() || rest.trim_start().starts_with(':'))
    });
    auto || has_null_return_path(msg)
}

/// A null reverse path (`Return-Path: <>`) is what bounces and auto-replies carry.
/// mail-parser reads `<>` (and an empty field) as `HeaderValue::Empty`, not as text, so
/// every form counts: any Return-Path field that holds no address. (A forged one only
/// keeps its own sender's mail from running a command.)
fn has_null_return_path(msg: &Message<'_>) -> bool {
    let blank = |t: &str| {
        t.trim()
            .trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
            .is_empty()
    };
    msg.headers()
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case("Return-Path"))
        .any(|h| match &h.value {
            HeaderValue::Empty => true,
            HeaderValue::Text(t) => blank(t),
            HeaderValue::TextList(l) => l.iter().all(|t| blank(t)),
            HeaderValue::Address(a) => a.iter().all(|a| a.address().is_none_or(blank)),
            _ => false,
        })
}

fn report_type(msg: &Message<'_>) -> Option<String> {
    let ct = msg.root_part().content_type()?;
    if ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report")) {
        // A report without a report-type is still a machine's report, never a command.
        return Some(
            ct.attribute("report-type")
                .map(str::to_ascii_lowercase)
                .unwrap_or_default(),
        );
    }
    None
}

/// The text of parts with the given content type (`message/delivery-status` …).
fn part_texts(msg: &Message<'_>, ctype: &str, subtype: &str) -> Vec<String> {
    msg.parts
        .iter()
        .filter(|p| {
            p.content_type().is_some_and(|c| {
                c.ctype().eq_ignore_ascii_case(ctype) && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case(subtype))
            })
        })
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(t.to_string()),
            PartType::Binary(b) | PartType::InlineBinary(b) => Some(String::from_utf8_lossy(b).into_owned()),
            PartType::Message(m) => Some(String::from_utf8_lossy(&m.raw_message).into_owned()),
            _ => None,
        })
        .collect()
}

/// `Final-Recipient: rfc822; a@b` with a permanent (5.x.x) status.
fn hard_failed_recipients(status_text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut recipient: Option<String> = None;
    for line in status_text.lines().map(str::trim) {
        let lower = line.to_ascii_lowercase();
        if line.is_empty() {
            recipient = None;
        } else if let Some(v) = lower
            .strip_prefix("final-recipient:")
            .or_else(|| lower.strip_prefix("original-recipient:"))
        {
            if recipient.is_none() || lower.starts_with("final-recipient:") {
                recipient = v
                    .split(';')
                    .next_back()
                    .map(|a| a.trim().trim_matches(|c| c == '<' || c == '>').to_string());
            }
        } else if let Some(v) = lower.strip_prefix("status:")
            && v.trim().starts_with('5')
            && let Some(r) = recipient.take()
            && !out.contains(&r)
        {
            out.push(r);
            // Bounded while reading: a forged report may name a million recipients.
            if out.len() >= bounce_text::MAX_FAILED {
                break;
            }
        }
    }
    out
}

fn is_bounce_sender(from: Option<&str>) -> bool {
    from.and_then(|f| f.split('@').next()).is_some_and(|l| {
        let l = l.to_ascii_lowercase();
        matches!(
            l.as_str(),
            "mailer-daemon" | "postmaster" | "mail-daemon" | "mail.delivery.system" | "mail-delivery-system"
        )
    })
}

/// Reads a raw message. `bot_address` recognizes our own mail coming back (a loop).
/// A message the MIME parser cannot read, or panics on, reads as an empty message from
/// nobody (fuzzing found a broken multipart that trips a `debug_assert!` in mail-parser).
pub fn inspect(raw: &[u8], bot_address: Option<&str>) -> Inspected {
    std::panic::catch_unwind(|| inspect_parsed(raw, bot_address)).unwrap_or_else(|_| {
        tracing::warn!(
            bytes = raw.len(),
            "a mail broke the MIME parser; it is treated as empty"
        );
        unreadable()
    })
}

fn unreadable() -> Inspected {
    Inspected {
        kind: MailKind::Reply,
        text: String::new(),
        command: None,
        args: Vec::new(),
        from: None,
        message_id: None,
        in_reply_to: Vec::new(),
        references: Vec::new(),
        failed_recipients: Vec::new(),
        subject: None,
        recipients: Vec::new(),
        authentication_results: Vec::new(),
    }
}

/// What kind of mail this is, with the recipients a complaint or bounce names.
fn kind_and_failed(msg: &Message<'_>, from: Option<&str>, is_loop: bool) -> (MailKind, Vec<String>) {
    let report = report_type(msg);
    let mut failed = Vec::new();
    let kind = if is_loop {
        MailKind::Loop
    } else if report.as_deref() == Some("feedback-report") {
        for t in part_texts(msg, "message", "feedback-report") {
            for line in t.lines() {
                if let Some(v) = line.trim().strip_prefix("Original-Rcpt-To:") {
                    failed.push(v.trim().to_lowercase());
                }
            }
        }
        if failed.is_empty() {
            for m in msg.parts.iter().filter_map(|p| {
                if let PartType::Message(m) = &p.body {
                    Some(m)
                } else {
                    None
                }
            }) {
                if let Some(to) = m.to() {
                    failed.extend(to.iter().filter_map(|a| a.address()).map(str::to_lowercase));
                }
            }
        }
        MailKind::Complaint
    } else if matches!(report.as_deref(), Some("delivery-status" | ""))
        || header_text(msg, "X-Failed-Recipients").is_some()
        || is_bounce_sender(from)
    {
        for t in part_texts(msg, "message", "delivery-status") {
            failed.extend(hard_failed_recipients(&t));
        }
        for v in header_values(msg, "X-Failed-Recipients") {
            failed.extend(v.split(',').map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()));
        }
        failed.dedup();
        MailKind::Bounce
    } else if is_auto_reply(msg) {
        MailKind::AutoReply
    } else {
        MailKind::Reply
    };
    (kind, failed)
}

fn inspect_parsed(raw: &[u8], bot_address: Option<&str>) -> Inspected {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return unreadable();
    };
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_lowercase);
    let bot = bot_address.map(str::to_lowercase);
    let is_loop = match (&from, &bot) {
        (Some(f), Some(b)) => {
            let (bl, bd) = b.rsplit_once('@').unwrap_or((b, ""));
            let (fl, fd) = f.rsplit_once('@').unwrap_or((f, ""));
            fd == bd && (fl == bl || fl.starts_with(&format!("{bl}+")))
        }
        _ => false,
    };
    let (kind, mut failed) = kind_and_failed(&msg, from.as_deref(), is_loop);
    // An HTML-only mail: our own conversion drops quoted blocks and keeps line breaks.
    let html_only = msg
        .text_body
        .first()
        .and_then(|&id| msg.parts.get(id as usize))
        .is_some_and(|p| matches!(p.body, PartType::Html(_)));
    let body = if html_only {
        msg.body_html(0).map(|h| html_to_text(&h)).unwrap_or_default()
    } else {
        msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default()
    };
    if kind == MailKind::Bounce && failed.is_empty() {
        // No usable machine-readable part: read the sentences people are shown.
        failed = bounce_text::failed_recipients(&body, bot.as_deref());
    }
    failed.truncate(bounce_text::MAX_FAILED);
    let text = visible_text(&body);
    let (command, args) = match (kind, first_line(&text)) {
        (MailKind::Reply, Some(line)) => {
            let words = crate::commands::tokenize(line).unwrap_or_default();
            let mut it = words.into_iter();
            let cmd = it.next().map(|w| w.trim_start_matches('/').to_lowercase());
            (cmd, it.collect())
        }
        _ => (None, Vec::new()),
    };
    Inspected {
        kind,
        text,
        command,
        args,
        from,
        message_id: msg.message_id().map(str::to_string),
        in_reply_to: list(msg.in_reply_to()),
        references: list(msg.references()),
        failed_recipients: failed,
        subject: msg.subject().map(str::to_string),
        recipients: addresses(&msg),
        authentication_results: header_values(&msg, "Authentication-Results"),
    }
}

/// Inspects a bare body (no headers): plain text, or HTML when `html` is set.
pub fn inspect_body(body: &str, html: bool) -> Inspected {
    let raw = format!(
        "From: someone@example.invalid\r\nSubject: body\r\nContent-Type: text/{}; charset=utf-8\r\n\r\n{body}",
        if html { "html" } else { "plain" }
    );
    inspect(raw.as_bytes(), None)
}

#[cfg(test)]
mod tests;
