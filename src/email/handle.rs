//! What one inbound mail does: classify, authenticate by reply token and sender, run
//! the command through the core, and record the outcome with its reply in one commit.

use super::classify::{Inspected, MailKind, inspect};
use super::thread::reply_references;
use super::visible::first_line;
use crate::commands::spec::find;
use crate::commands::{COMMANDS, Core, MailOut, Origin};
use crate::reply::{Reply, html};
use crate::store::{ReplyToken, StoreError};
use sha2::{Digest, Sha256};

/// Settings the handler needs.
#[derive(Debug, Clone)]
pub struct InboundSettings {
    /// The bot's address (`local@domain`).
    pub bot_address: String,
    pub mailbox: String,
    pub require_authentication_results: Option<String>,
}

/// Where a message sits in the mailbox.
#[derive(Debug, Clone, Copy)]
pub struct MailPosition {
    pub uid_validity: u32,
    pub uid: u32,
}

/// The stable key of a message: its Message-ID, else a hash of the raw bytes.
pub fn message_key(inspected: &Inspected, raw: &[u8]) -> String {
    match &inspected.message_id {
        Some(id) if !id.trim().is_empty() => format!("mid:{}", id.trim().to_lowercase()),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

/// The token in a `local+token@domain` address of ours.
fn token_in(address: &str, local: &str, domain: &str) -> Option<String> {
    let (l, d) = address.rsplit_once('@')?;
    if !d.eq_ignore_ascii_case(domain) {
        return None;
    }
    let token = l.strip_prefix(local)?.strip_prefix('+')?;
    (!token.is_empty() && token.len() <= 64 && token.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| token.to_lowercase())
}

/// Message-IDs of ours looked at in one mail, at most.
pub const MAX_MESSAGE_IDS: usize = 50;
/// Longest Message-ID we read (ours are under 40 bytes).
const MAX_ID_LEN: usize = 200;

/// Message-IDs of our domain quoted anywhere in a raw mail (bounces carry the
/// original's headers); at most [`MAX_MESSAGE_IDS`]. Linear in the mail's size: each
/// match looks back at most [`MAX_ID_LEN`] bytes for its `<`, and the search resumes
/// after the match.
pub fn our_message_ids(raw: &[u8], domain: &str) -> Vec<String> {
    let needle = format!("@{}>", domain.to_ascii_lowercase());
    let finder = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([needle.as_bytes()])
        .expect("one literal pattern");
    let mut out: Vec<String> = Vec::new();
    for m in finder.find_iter(raw) {
        let end = m.end();
        let window = &raw[end.saturating_sub(MAX_ID_LEN)..end];
        let Some(lt) = window.iter().rposition(|&b| b == b'<') else {
            continue;
        };
        let id = &window[lt..];
        // A Message-ID is printable ASCII without spaces or another `<`.
        if id[1..].iter().any(|&b| b == b'<' || !b.is_ascii_graphic()) {
            continue;
        }
        let id = String::from_utf8_lossy(id).into_owned();
        if !out.contains(&id) {
            out.push(id);
            if out.len() >= MAX_MESSAGE_IDS {
                break;
            }
        }
    }
    out
}

/// The subject of an error reply to an address we do not know: never the incoming
/// subject, which a forger chooses.
pub const UNKNOWN_SENDER_SUBJECT: &str = "Your mail to promoterd";

/// Failed recipients of one report looked at, at most.
pub const MAX_FAILED_RECIPIENTS: usize = 100;

/// Who a reply authenticates as, and what it may answer.
enum Sender {
    /// A reply carrying our token, from the address the token was issued to.
    Token(ReplyToken),
    /// A new thread from an organizer's address on record.
    Organizer(String),
}

/// What processing a message decided: its outcome and an optional reply to queue.
pub struct Decision {
    pub kind: MailKind,
    pub sender: Option<String>,
    pub outcome: String,
    /// (recipient, reply, is an error reply)
    pub reply: Option<(String, Reply, bool)>,
    pub suppress: Vec<(String, &'static str)>,
    pub in_reply_to: Option<String>,
    /// The reply's References: the message's own chain, then its Message-ID (bounded).
    pub references: Vec<String>,
    /// The display name of the thread's mail the reply answers (an organization's).
    pub from_name: Option<String>,
    pub subject: String,
}

/// Why a reply may not act: refused (the person is told why), or a storage failure.
#[derive(Debug, thiserror::Error)]
enum AuthError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(why: impl Into<String>) -> AuthError {
    AuthError::Refused(why.into())
}

async fn authenticate(core: &Core, s: &InboundSettings, i: &Inspected) -> Result<Sender, AuthError> {
    let Some(from) = &i.from else {
        return Err(refused("no sender address"));
    };
    if let Some(authserv) = &s.require_authentication_results
        && !super::authres::from_domain_authenticated(&i.authentication_results, authserv, i.from.as_deref())
    {
        return Err(refused(
            "the message is not authenticated (DMARC/DKIM) by our mail server",
        ));
    }
    let (local, domain) = s.bot_address.rsplit_once('@').unwrap_or((&s.bot_address, ""));
    let mut token = None;
    for a in &i.recipients {
        if let Some(t) = token_in(a, local, domain)
            && let Some(row) = core.store.reply_token(&crate::codes::hash_code(&t)).await?
        {
            token = Some(row);
            break;
        }
    }
    if token.is_none() {
        for id in i.in_reply_to.iter().chain(i.references.iter().rev()) {
            if let Some(row) = core.store.reply_token_of_message(id).await? {
                token = Some(row);
                break;
            }
        }
    }
    let now = core.clock.now();
    match token {
        Some(t) if t.email != *from => Err(refused(format!(
            "this reply comes from {from}, not from the address the mail was sent to"
        ))),
        Some(t) if t.purpose == "replaced" => Err(refused(
            "this invite mail was replaced by a newer invite; reply to the newest invite mail",
        )),
        Some(t) if t.expires_at <= now => Err(refused(
            "the mail you answered is too old; send the command in a new mail",
        )),
        Some(t) => Ok(Sender::Token(t)),
        None => match core.store.person_by_email(from).await? {
            Some(p) if !core.store.orgs_organized_by(p.id).await?.is_empty() => Ok(Sender::Organizer(p.email)),
            _ => Err(refused("reply to a mail from promoterd to give a command")),
        },
    }
}

/// Decides what an inbound message does, running its command if it has one.
pub async fn decide(core: &Core, s: &InboundSettings, raw: &[u8], i: &Inspected) -> Result<Decision, StoreError> {
    let subject = match i.subject.as_deref() {
        Some(sub) if sub.to_ascii_lowercase().starts_with("re:") => sub.to_string(),
        Some(sub) => format!("Re: {sub}"),
        None => "Re: your message".into(),
    };
    let mut d = Decision {
        kind: i.kind,
        sender: i.from.clone(),
        outcome: String::new(),
        reply: None,
        suppress: Vec::new(),
        in_reply_to: i.message_id.clone(),
        references: reply_references(
            &i.references,
            &i.in_reply_to,
            i.message_id.as_deref().unwrap_or_default(),
        ),
        from_name: None,
        subject,
    };
    match i.kind {
        MailKind::Loop | MailKind::AutoReply => d.outcome = "ignored".into(),
        MailKind::Bounce | MailKind::Complaint => suppressions(core, s, raw, i, &mut d).await?,
        MailKind::Reply => match authenticate(core, s, i).await {
            Err(AuthError::Store(e)) => return Err(e),
            Err(AuthError::Refused(why)) => {
                d.outcome = format!("refused: {why}");
                if let Some(from) = &i.from {
                    let text = format!("Nothing was done: {why}.");
                    d.reply = Some((from.clone(), Reply::error(text), true));
                }
            }
            Ok(sender) => run_command(core, i, sender, &mut d).await,
        },
    }
    Ok(d)
}

/// A bounce or complaint: the failed recipients we really mailed are suppressed. Only a
/// report about a mail we sent to that address counts: anyone can forge a bounce.
async fn suppressions(
    core: &Core,
    s: &InboundSettings,
    raw: &[u8],
    i: &Inspected,
    d: &mut Decision,
) -> Result<(), StoreError> {
    let domain = s.bot_address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let ours = our_message_ids(raw, domain);
    let reason = if i.kind == MailKind::Bounce {
        "bounce"
    } else {
        "complaint"
    };
    // One query per mail, whatever the number of recipients and ids.
    let mailed = core.store.recipients_of_messages(&ours).await?;
    for r in i.failed_recipients.iter().take(MAX_FAILED_RECIPIENTS) {
        if mailed.contains(&r.to_lowercase()) && !d.suppress.iter().any(|(a, _)| a == r) {
            d.suppress.push((r.clone(), reason));
        }
    }
    let counted: Vec<&str> = d.suppress.iter().map(|(a, _)| a.as_str()).collect();
    d.outcome = if counted.is_empty() {
        format!("{reason} not about a mail of ours: ignored")
    } else {
        format!("{reason}: {}", counted.join(", "))
    };
    Ok(())
}

/// An authenticated reply: runs its command (or answers its invite) as the sender.
async fn run_command(core: &Core, i: &Inspected, sender: Sender, d: &mut Decision) {
    // A reply in a thread of an organization's mail speaks for it too.
    if let Sender::Token(t) = &sender {
        d.from_name.clone_from(&t.from_name);
    }
    let (email, invite) = match &sender {
        Sender::Token(t) => (t.email.clone(), t.invite_id.filter(|_| t.purpose == "invite")),
        Sender::Organizer(e) => (e.clone(), None),
    };
    let origin = Origin::Email { from: email.clone() };
    let verb = i.command.clone().unwrap_or_default();
    let new_thread = matches!(sender, Sender::Organizer(_));
    let reply = match (verb.as_str(), invite, i.args.is_empty()) {
        (v, _, _) if new_thread && !v.is_empty() && !find(v).is_some_and(|c| c.new_mail_thread) => {
            let allowed: Vec<&str> = COMMANDS.iter().filter(|c| c.new_mail_thread).map(|c| c.name).collect();
            Reply::error(format!(
                "`{v}` by mail needs a reply to a mail from promoterd (a new mail may only ask for {}).",
                allowed.join(", ")
            ))
        }
        ("", _, _) => Reply::error(
            "Your mail had no command. Reply with one word on the first line, e.g. `accept`, `export` or `help`.",
        ),
        ("accept" | "ignore", Some(invite_id), true) => core.answer_invite(&origin, invite_id, verb == "accept").await,
        _ => core.execute(&origin, first_line(&i.text).unwrap_or_default()).await,
    };
    d.outcome = format!("{} {}", if reply.is_error { "error" } else { "ok" }, verb);
    let is_error = reply.is_error;
    d.reply = Some((email, reply, is_error));
}

/// Whether the decided reply goes out. Error replies never go to anything but a real
/// reply: once an hour to a person we know; to an unknown address (maybe a forged
/// From) once a day with a fixed subject, and never when our server saw the mail fail
/// DMARC or SPF.
async fn may_send_reply(
    core: &Core,
    s: &InboundSettings,
    i: &Inspected,
    d: &mut Decision,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    Ok(match &d.reply {
        Some((to, _, true)) => {
            let known = core.store.person_by_email(to).await?.is_some();
            if !known {
                d.subject = UNKNOWN_SENDER_SUBJECT.into();
            }
            let window = if known {
                chrono::Duration::hours(1)
            } else {
                chrono::Duration::days(1)
            };
            let forged = !known
                && super::authres::known_to_fail(
                    &i.authentication_results,
                    s.require_authentication_results.as_deref(),
                );
            !forged && core.store.error_replies_since(to, now - window).await? == 0
        }
        Some(_) => true,
        None => false,
    })
}

/// Queues the decided reply in `tx`, in the sender's thread, with an HTML part when it
/// has tables.
async fn queue_answer(core: &Core, tx: &mut crate::store::WriteTx, d: &Decision) -> Result<(), StoreError> {
    let Some((to, reply, is_error)) = &d.reply else {
        return Ok(());
    };
    let footer = "\n-- \npromoterd · reply `help` for the commands\n";
    let body = format!("{}{footer}", reply.to_plain().trim_end());
    // Tables (stats, exports' summaries) also as HTML.
    let html = html::has_table(reply).then(|| html::reply_html(reply, footer));
    let mail = MailOut {
        in_reply_to: d.in_reply_to.as_deref(),
        attachment: reply.attachments.first(),
        from_name: d.from_name.as_deref(),
        body_html: html.as_deref(),
        references: &d.references,
        ..MailOut::new(to, if *is_error { "error" } else { "reply" }, &d.subject, &body)
    };
    core.queue_mail(tx, mail).await?;
    Ok(())
}

/// Processes one message exactly once: the decision, its reply, the suppressions and
/// the new IMAP cursor are committed together. Returns false when it was done before.
pub async fn process(core: &Core, s: &InboundSettings, raw: &[u8], pos: MailPosition) -> Result<bool, StoreError> {
    let i = inspect(raw, Some(&s.bot_address));
    let key = message_key(&i, raw);
    if core.store.mail_processed(&key).await? {
        let mut tx = core.store.write().await?;
        core.store
            .set_imap_state(&mut tx, &s.mailbox, pos.uid_validity, pos.uid)
            .await?;
        tx.commit().await?;
        return Ok(false);
    }
    let mut d = decide(core, s, raw, &i).await?;
    let now = core.clock.now();
    let send_reply = may_send_reply(core, s, &i, &mut d, now).await?;
    let mut tx = core.store.write().await?;
    let kind = serde_json::to_value(d.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    if !core
        .store
        .record_processed(
            &mut tx,
            &key,
            &s.mailbox,
            pos.uid_validity,
            pos.uid,
            &kind,
            d.sender.as_deref(),
            &d.outcome,
            now,
        )
        .await?
    {
        return Ok(false);
    }
    for (addr, reason) in &d.suppress {
        core.store.suppress(&mut tx, addr, reason, now).await?;
    }
    if send_reply {
        queue_answer(core, &mut tx, &d).await?;
    }
    core.store
        .set_imap_state(&mut tx, &s.mailbox, pos.uid_validity, pos.uid)
        .await?;
    core.commit(tx).await?;
    tracing::info!(kind, sender = ?d.sender, outcome = %d.outcome, "email processed");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_our_plus_addresses_only() {
        assert_eq!(
            token_in("bot+abc123@example.test", "bot", "example.test").as_deref(),
            Some("abc123")
        );
        assert_eq!(
            token_in("bot+ABC@Example.Test", "bot", "example.test").as_deref(),
            Some("abc")
        );
        assert_eq!(token_in("bot@example.test", "bot", "example.test"), None);
        assert_eq!(token_in("bot+abc@evil.test", "bot", "example.test"), None);
        assert_eq!(token_in("robot+abc@example.test", "bot", "example.test"), None);
        assert_eq!(token_in("bot+a.b@example.test", "bot", "example.test"), None);
    }

    /// Issue 14.3: found in linear time, bounded in number and length.
    #[test]
    fn our_message_ids_are_found_and_bounded() {
        let raw =
            b"Original-Message-ID: <ab12.invite@Bot.Test>\r\nReferences: <x@other.test> <cd34.reply@bot.test>\r\n";
        assert_eq!(
            our_message_ids(raw, "bot.test"),
            ["<ab12.invite@Bot.Test>", "<cd34.reply@bot.test>"]
        );
        // No `<`, a space inside, or an id longer than any of ours: not an id.
        assert!(our_message_ids("@bot.test>".repeat(100_000).as_bytes(), "bot.test").is_empty());
        assert!(our_message_ids(b"<a b@bot.test>", "bot.test").is_empty());
        let long = format!("<{}@bot.test>", "a".repeat(300));
        assert!(our_message_ids(long.as_bytes(), "bot.test").is_empty());
        // Thousands of distinct ids: the first MAX_MESSAGE_IDS.
        let many: String = (0..5000).map(|i| format!("<i{i}@bot.test>\r\n")).collect();
        let ids = our_message_ids(many.as_bytes(), "bot.test");
        assert_eq!(ids.len(), MAX_MESSAGE_IDS);
        assert_eq!(ids[0], "<i0@bot.test>");
    }

    #[test]
    fn authentication_results_must_come_from_our_server() {
        let ok = |headers: &[&str], server: &str| {
            let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
            super::super::authres::from_domain_authenticated(&headers, server, Some("a@b.test"))
        };
        assert!(ok(
            &["mx.example.test; dkim=pass header.d=b.test; dmarc=pass"],
            "mx.example.test"
        ));
        assert!(!ok(
            &["mx.example.test; dkim=pass header.d=b.test"],
            "other.example.test"
        ));
        assert!(!ok(&["mx.example.test; dkim=fail; dmarc=fail"], "mx.example.test"));
        // DKIM of another domain does not vouch for this sender.
        assert!(!ok(
            &["mx.example.test; dkim=pass header.d=evil.test"],
            "mx.example.test"
        ));
        // A forged header below ours is not read.
        assert!(!ok(
            &[
                "mx.example.test; dmarc=fail",
                "mx.example.test; dmarc=pass header.from=b.test"
            ],
            "mx.example.test"
        ));
    }
}
