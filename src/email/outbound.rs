//! The SMTP sender: drains the email outbox with retries and backoff; a message keeps
//! its Message-ID across attempts, so a resend after a crash is the same mail.

use crate::commands::Core;
use crate::store::OutboxMail;
use anyhow::Context;
use futures::StreamExt;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use tokio::sync::watch;

/// Attempts before a message is given up.
const MAX_ATTEMPTS: i64 = 8;

/// Delay before attempt `n + 1`: 30 s, 2 min, 8 min … capped at 6 h.
fn backoff(attempts: i64) -> chrono::Duration {
    let secs = 30i64.saturating_mul(4i64.saturating_pow(attempts.clamp(0, 6) as u32));
    chrono::Duration::seconds(secs.min(6 * 3600))
}

/// Builds the MIME message for an outbox row.
pub fn build_message(mail: &OutboxMail, from: &Mailbox) -> anyhow::Result<Message> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .with_context(|| format!("recipient `{}`", mail.recipient))?;
    let mut b = Message::builder().from(from.clone()).to(to).subject(&mail.subject);
    if let Some(r) = &mail.reply_to {
        b = b.reply_to(r.parse().with_context(|| format!("reply-to `{r}`"))?);
    }
    b = b.message_id(mail.message_id.clone());
    if let Some(parent) = &mail.in_reply_to {
        let id = format!("<{}>", parent.trim().trim_matches(|c| c == '<' || c == '>'));
        b = b.in_reply_to(id.clone()).references(id);
    }
    let header =
        |name: &'static str, value: &str| HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_string());
    b = b
        .raw_header(header("Auto-Submitted", "auto-generated"))
        .raw_header(header("X-Auto-Response-Suppress", "All"))
        .raw_header(header("Precedence", "bulk"));
    let text = SinglePart::plain(mail.body.clone());
    let msg = match (&mail.attachment, &mail.attachment_name) {
        (Some(data), Some(name)) => {
            let mime = mail.attachment_mime.as_deref().unwrap_or("application/octet-stream");
            let ct = ContentType::parse(&format!("{mime}; charset=utf-8")).or_else(|_| ContentType::parse(mime))?;
            b.multipart(
                MultiPart::mixed()
                    .singlepart(text)
                    .singlepart(Attachment::new(name.clone()).body(data.clone(), ct)),
            )?
        }
        _ if mail.kind == "invite" => b.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::html(invite_html(&mail.body))),
        )?,
        _ => b.singlepart(text)?,
    };
    Ok(msg)
}

/// A simple HTML rendering of a plain-text mail: paragraphs, links clickable.
fn invite_html(text: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut html = String::from("<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">");
    for para in text.split("\n\n") {
        let lines: Vec<String> = para
            .lines()
            .map(|l| {
                let e = esc(l);
                match e.find("https://") {
                    Some(i) => {
                        let end = e[i..].find(char::is_whitespace).map(|j| i + j).unwrap_or(e.len());
                        format!("{}<a href=\"{}\">{}</a>{}", &e[..i], &e[i..end], &e[i..end], &e[end..])
                    }
                    None => e,
                }
            })
            .collect();
        html.push_str(&format!("<p>{}</p>", lines.join("<br>")));
    }
    html.push_str("</body></html>");
    html
}

/// Why a message was not sent, and whether trying again can help.
#[derive(Debug)]
struct SendFailure {
    error: anyhow::Error,
    /// The server refused it for good (a 5xx such as "user unknown"), or we must not send.
    permanent: bool,
}

impl<E: Into<anyhow::Error>> From<E> for SendFailure {
    fn from(e: E) -> Self {
        SendFailure {
            error: e.into(),
            permanent: false,
        }
    }
}

/// Sends one message unless its recipient is suppressed.
async fn send_one(
    core: &Core,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    mail: &OutboxMail,
) -> Result<(), SendFailure> {
    if core.store.is_suppressed(&mail.recipient).await? {
        return Err(SendFailure {
            error: anyhow::anyhow!("suppressed: the address bounced or complained"),
            permanent: true,
        });
    }
    let message = build_message(mail, from)?;
    if let Err(e) = transport.send(message).await {
        let permanent = e.is_permanent();
        // lettre's message already carries the server's reply; its source repeats it.
        return Err(SendFailure {
            error: anyhow::anyhow!("SMTP: {e}"),
            permanent,
        });
    }
    Ok(())
}

/// Messages read from the outbox per round, and sent at the same time.
const BATCH: i64 = 50;
const IN_FLIGHT: usize = 8;

/// The next batch of due mail; a read failure is logged and reads as none.
async fn read_due(core: &Core, now: chrono::DateTime<chrono::Utc>) -> Vec<OutboxMail> {
    core.store.due_mails(now, BATCH).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the outbox failed");
        Vec::new()
    })
}

/// Sends queued mail until `stop` turns true; wakes when mail is queued.
pub async fn sender(
    core: Core,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    mut stop: watch::Receiver<bool>,
) {
    let mut failing = false;
    loop {
        let now = core.clock.now();
        let mut due = read_due(&core, now).await;
        // An invite answered or cancelled while mail was off is not sent late. Only a
        // batch holding invite mail takes the writer for that.
        if due.iter().any(|m| m.kind == "invite") {
            match core.store.drop_stale_invite_mails(now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(dropped = n, "email: invite mails that no longer apply were dropped");
                    due = read_due(&core, now).await;
                }
                Err(e) => tracing::warn!(error = %e, "dropping stale invite mails failed"),
            }
        }
        // Several messages in flight at once (the SMTP pool has a connection each), each
        // recorded as sent as soon as the server took it: a crash resends (with the same
        // Message-ID) only what was taken but not yet recorded.
        let mut results: Vec<(&OutboxMail, Result<(), SendFailure>)> = Vec::with_capacity(due.len());
        let mut in_flight = futures::stream::FuturesUnordered::new();
        let mut queue = due.iter();
        loop {
            while in_flight.len() < IN_FLIGHT
                && let Some(m) = queue.next()
            {
                let (core, transport, from) = (&core, &transport, &from);
                in_flight.push(async move { (m, send_one(core, transport, from, m).await) });
            }
            let Some((mail, result)) = in_flight.next().await else {
                break;
            };
            if result.is_ok() {
                if failing {
                    tracing::info!("email: SMTP delivery works again");
                    failing = false;
                }
                if let Err(e) = core.store.mark_sent(mail.id, core.clock.now()).await {
                    tracing::warn!(error = %e, "recording sent mail failed");
                }
            }
            results.push((mail, result));
        }
        let now = core.clock.now();
        for (mail, result) in &results {
            let Err(SendFailure { error: e, permanent }) = result else {
                continue;
            };
            let refused = *permanent;
            let permanent = refused || mail.attempts + 1 >= MAX_ATTEMPTS;
            if !failing && !permanent {
                tracing::warn!(error = %format!("{e:#}"), "email: sending failed; retrying with backoff");
                failing = true;
            }
            if permanent {
                tracing::warn!(id = mail.id, to = %mail.recipient, error = %format!("{e:#}"), "email: giving up on a message");
                // The organizer who sent an invite learns that it did not arrive.
                if let Err(err) = core.invite_undeliverable(mail.id, &format!("{e:#}")).await {
                    tracing::warn!(error = %err, "telling the inviter about an undeliverable invite failed");
                }
            }
            let next = (!permanent).then(|| now + backoff(mail.attempts));
            if let Err(e) = core
                .store
                .mark_attempt_failed(mail.id, &format!("{e:#}"), next, now)
                .await
            {
                tracing::warn!(error = %e, "recording a send attempt failed");
            }
        }
        if due.len() == BATCH as usize {
            continue;
        }
        tokio::select! {
            _ = core.mail_queued.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1).num_seconds(), 120);
        assert_eq!(backoff(10).num_seconds(), 6 * 3600);
    }

    #[test]
    fn messages_carry_auto_submitted_reply_to_and_a_stable_id() {
        let mail = OutboxMail {
            id: 1,
            recipient: "ana@example.test".into(),
            kind: "export".into(),
            subject: "Referred buyers".into(),
            body: "Here it is.".into(),
            attempts: 0,
            message_id: Some("<abc.export@example.test>".into()),
            reply_to: Some("bot+tok@example.test".into()),
            in_reply_to: Some("m1@client.test".into()),
            attachment_name: Some("buyers.csv".into()),
            attachment_mime: Some("text/csv".into()),
            attachment: Some(b"a,b\r\n1,2\r\n".to_vec()),
        };
        let from: Mailbox = "promoterd <bot@example.test>".parse().unwrap();
        let raw = String::from_utf8(build_message(&mail, &from).unwrap().formatted()).unwrap();
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(raw.contains("Message-ID: <abc.export@example.test>"), "{raw}");
        assert!(raw.contains("Reply-To: bot+tok@example.test"), "{raw}");
        assert!(raw.contains("In-Reply-To: <m1@client.test>"), "{raw}");
        assert!(raw.contains("filename=\"buyers.csv\""), "{raw}");
    }
}
