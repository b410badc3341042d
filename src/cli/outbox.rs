//! `promoterd outbox`: what waits to be sent on each channel, what failed lately, and
//! the codes of invites still waiting for an answer, so that a first program can run
//! with email off.

use crate::codes::hash_code;
use crate::config::Config;
use crate::domain::{Channel, InviteKind, InviteStatus, OutboxId};
use crate::reply::Table;
use crate::store::OutboxEntry;
use anyhow::Context;
use chrono::{DateTime, Utc};
use std::process::ExitCode;

/// Messages given up on this recently are still listed.
const FAILED_DAYS: i64 = 7;
/// Subjects and errors are cut to this many characters in the tables.
const CELL: usize = 48;

/// Runs `promoterd outbox [--channel <c>] [--show <id>]`.
pub async fn run(config: &Config, channel: Option<Channel>, show: Option<OutboxId>) -> anyhow::Result<ExitCode> {
    let store = crate::daemon::open_store(config).await?;
    let now = Utc::now();
    if let Some(id) = show {
        let entry = store
            .outbox_entry(id)
            .await?
            .with_context(|| format!("no message {id} in the outbox"))?;
        print!("{}", full(&entry, now));
        return Ok(ExitCode::SUCCESS);
    }
    let since = now - chrono::Duration::days(FAILED_DAYS);
    let entries = store
        .outbox_entries(channel, since)
        .await
        .context("reading the outbox")?;
    print!("{}", listing(config, channel, &entries, now));
    Ok(ExitCode::SUCCESS)
}

/// Where a message stands, in a word or two.
fn state(e: &OutboxEntry, now: DateTime<Utc>) -> String {
    if e.sent_at.is_some() {
        return "sent".into();
    }
    if e.failed_at.is_some() {
        return "failed".into();
    }
    match stale_invite(e, now) {
        Some(why) => format!("won't send ({why})"),
        None if e.attempts > 0 => "retrying".into(),
        None => "queued".into(),
    }
}

/// Why an unsent invite mail will be dropped instead of sent, if it will.
fn stale_invite(e: &OutboxEntry, now: DateTime<Utc>) -> Option<String> {
    let status = e.invite_status?;
    if e.invite_replaced {
        return Some("a newer invite mail replaced it".into());
    }
    if status != InviteStatus::Pending {
        return Some(format!("invite {status}"));
    }
    expired(e, now).then(|| "invite expired".into())
}

fn expired(e: &OutboxEntry, now: DateTime<Utc>) -> bool {
    e.invite_expires_at.is_some_and(|t| t <= now)
}

/// The code of a pending invite, found in its mail and checked against the stored hash.
fn invite_code(e: &OutboxEntry, now: DateTime<Utc>) -> Option<String> {
    if e.sent_at.is_some() || e.invite_replaced || e.invite_status != Some(InviteStatus::Pending) || expired(e, now) {
        return None;
    }
    let hash = e.invite_code_hash.as_deref()?;
    e.body
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() >= 20 && hash_code(w) == hash)
        .map(str::to_string)
}

/// A stored time as `2027-05-01 10:00:00`; "now" once it has passed.
fn when(t: &DateTime<Utc>, now: Option<DateTime<Utc>>) -> String {
    if now.is_some_and(|now| *t <= now) {
        return "now".into();
    }
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn cut(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(CELL) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// The outbox as `promoterd outbox` prints it: a table per channel (or only `only`),
/// then the codes of pending invites.
fn listing(config: &Config, only: Option<Channel>, entries: &[OutboxEntry], now: DateTime<Utc>) -> String {
    let mut out = format!(
        "Outbox: messages not sent yet, and those given up on in the last {FAILED_DAYS} days (times in UTC).\n"
    );
    let channels: Vec<Channel> = match only {
        Some(c) => vec![c],
        None => Channel::ALL.to_vec(),
    };
    for &channel in &channels {
        out.push_str(&channel_section(config, channel, entries, now));
    }
    out.push_str(&invites_section(entries, now));
    if !entries.is_empty() {
        out.push_str("\n`promoterd outbox --show <id>` prints a message in full.\n");
    }
    out
}

/// Whether the configuration sends on `channel` at all.
fn channel_on(config: &Config, channel: Channel) -> bool {
    match channel {
        Channel::Email => config.smtp_url().is_some(),
        Channel::Telegram => config.telegram_token().is_some(),
        Channel::Discord => config.discord_token().is_some(),
    }
}

/// One channel's messages, as a table under a line that counts them.
fn channel_section(config: &Config, channel: Channel, entries: &[OutboxEntry], now: DateTime<Utc>) -> String {
    let rows: Vec<&OutboxEntry> = entries.iter().filter(|e| e.channel == channel).collect();
    let off = if channel_on(config, channel) {
        ""
    } else {
        " (off in this configuration: nothing is sent)"
    };
    if rows.is_empty() {
        return format!("\n{channel}: nothing waiting{off}.\n");
    }
    let mut out = format!("\n{channel}: {} message(s){off}\n", rows.len());
    let mut t = Table::new(
        &[
            "id",
            "state",
            "recipient",
            "kind",
            "subject",
            "created",
            "attempts",
            "next try",
            "last error",
        ],
        &[true, false, false, false, false, false, true, false, false],
    );
    for e in rows {
        t.row(entry_row(e, now));
    }
    out.push_str(&t.to_plain());
    out
}

/// A message's row in its channel's table.
fn entry_row(e: &OutboxEntry, now: DateTime<Utc>) -> Vec<String> {
    let waiting = e.sent_at.is_none() && e.failed_at.is_none() && stale_invite(e, now).is_none();
    vec![
        e.id.to_string(),
        state(e, now),
        e.recipient.clone(),
        e.kind.clone(),
        cut(&e.subject),
        when(&e.created_at, None),
        e.attempts.to_string(),
        if waiting {
            when(&e.next_try_at, Some(now))
        } else {
            "–".into()
        },
        e.last_error.as_deref().map(cut).unwrap_or_else(|| "–".into()),
    ]
}

/// The codes of invites still waiting for an answer, and how to use them; empty when
/// there are none.
fn invites_section(entries: &[OutboxEntry], now: DateTime<Utc>) -> String {
    let mut invites = Table::new(&["id", "recipient", "invited to", "code"], &[true, false, false, false]);
    let mut first = None;
    for e in entries {
        if let Some(code) = invite_code(e, now) {
            first.get_or_insert_with(|| (e.recipient.clone(), code.clone()));
            invites.row(vec![e.id.to_string(), e.recipient.clone(), invited_to(e), code]);
        }
    }
    let Some((who, code)) = first else {
        return String::new();
    };
    let mut out = String::from(
        "\nInvites waiting for an answer. Until their mail goes out, hand the code over \
         yourself; the invited person accepts with any of:\n",
    );
    out.push_str(&format!(
        "  promoterd console --as {who} -c 'accept {code}'   (you, as them)\n  \
         /accept {code}   (to the Telegram or Discord bot; promoter invites only)\n  \
         a reply of `accept` to the invite mail, once it is sent\n\n"
    ));
    out.push_str(&invites.to_plain());
    out
}

/// What an invite invites to: organizing an organization, or promoting one event or all.
fn invited_to(e: &OutboxEntry) -> String {
    match (e.invite_kind, &e.invite_event, &e.invite_org) {
        (Some(InviteKind::Organizer), _, Some(org)) => format!("organize {org}"),
        (_, Some(event), Some(org)) => format!("promote {event} ({org})"),
        (_, None, Some(org)) => format!("promote every event of {org}"),
        _ => "–".into(),
    }
}

/// One message in full: its fields, then the body as it will be sent.
fn full(e: &OutboxEntry, now: DateTime<Utc>) -> String {
    let mut fields = vec![
        ("Message", e.id.to_string()),
        ("Channel", e.channel.to_string()),
        ("To", e.recipient.clone()),
        ("Kind", e.kind.clone()),
        ("State", state(e, now)),
        ("Created", when(&e.created_at, None)),
        ("Attempts", e.attempts.to_string()),
    ];
    if let Some(t) = &e.sent_at {
        fields.push(("Sent", when(t, None)));
    } else if let Some(t) = &e.failed_at {
        fields.push(("Failed", when(t, None)));
    } else {
        fields.push(("Next try", when(&e.next_try_at, Some(now))));
        if let Some(t) = e.claimed_until.filter(|t| *t > now) {
            fields.push((
                "Being sent",
                format!("claimed by a sender until {}", when(&t, Some(now))),
            ));
        }
    }
    if let Some(err) = &e.last_error {
        fields.push(("Last error", err.clone()));
    }
    if let Some(code) = invite_code(e, now) {
        fields.push(("Invite code", code));
    }
    if let Some(name) = &e.attachment_name {
        fields.push(("Attachment", name.clone()));
    }
    fields.push(("Subject", e.subject.clone()));
    let w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out: String = fields.iter().map(|(k, v)| format!("{k:<w$}  {v}\n")).collect();
    out.push('\n');
    out.push_str(&e.body);
    if !e.body.ends_with('\n') {
        out.push('\n');
    }
    out
}
