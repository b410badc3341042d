//! An outbox row as the mail that goes out: the bot's address under the sender's name,
//! a stable Message-ID, the thread's headers, text and HTML, an attachment.

use super::thread::{message_id_token, references_header};
use crate::store::OutboxMail;
use anyhow::Context;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

/// The sender of an outbox row: the bot's address, under the row's display name (an
/// organization's, cleaned again here) or else the configured one.
fn from_mailbox(mail: &OutboxMail, from: &Mailbox) -> Mailbox {
    match mail.from_name.as_deref().and_then(crate::commands::names::sender_name) {
        Some(name) => Mailbox::new(Some(name), from.email.clone()),
        None => from.clone(),
    }
}

/// Builds the MIME message for an outbox row.
pub fn build_message(mail: &OutboxMail, from: &Mailbox) -> anyhow::Result<Message> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .with_context(|| format!("recipient `{}`", mail.recipient))?;
    let mut b = Message::builder()
        .from(from_mailbox(mail, from))
        .to(to)
        .subject(&mail.subject);
    if let Some(r) = &mail.reply_to {
        b = b.reply_to(r.parse().with_context(|| format!("reply-to `{r}`"))?);
    }
    b = b.message_id(mail.message_id.clone());
    if let Some(parent) = mail.in_reply_to.as_deref().and_then(message_id_token) {
        let chain = mail.references_chain.as_deref().and_then(references_header);
        b = b.in_reply_to(parent.clone()).references(chain.unwrap_or(parent));
    }
    let header =
        |name: &'static str, value: &str| HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_string());
    b = b
        .raw_header(header("Auto-Submitted", "auto-generated"))
        .raw_header(header("X-Auto-Response-Suppress", "All"))
        .raw_header(header("Precedence", "bulk"));
    let text = SinglePart::plain(mail.body.clone());
    let html = match &mail.body_html {
        Some(h) => Some(h.clone()),
        None if mail.kind == "invite" => Some(crate::reply::html::text_html(&mail.body)),
        None => None,
    };
    // A picture the HTML shows (`cid:`) travels beside it, inline, not as a file.
    let inline = match (&mail.attachment, &mail.attachment_name, &mail.attachment_mime, &html) {
        (Some(data), Some(name), Some(mime), Some(h))
            if mime.starts_with("image/") && h.contains(&format!("cid:{}", crate::reply::html::content_id(name))) =>
        {
            Some(
                Attachment::new_inline(crate::reply::html::content_id(name))
                    .body(data.clone(), ContentType::parse(mime)?),
            )
        }
        _ => None,
    };
    let shown_inline = inline.is_some();
    let body = match (html, inline) {
        (Some(h), Some(picture)) => Body::Alternative(
            MultiPart::alternative()
                .singlepart(text)
                .multipart(MultiPart::related().singlepart(SinglePart::html(h)).singlepart(picture)),
        ),
        (Some(h), None) => Body::Alternative(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::html(h)),
        ),
        (None, _) => Body::Plain(text),
    };
    let msg = match (&mail.attachment, &mail.attachment_name) {
        (Some(data), Some(name)) if !shown_inline => {
            let mime = mail.attachment_mime.as_deref().unwrap_or("application/octet-stream");
            let ct = ContentType::parse(&format!("{mime}; charset=utf-8")).or_else(|_| ContentType::parse(mime))?;
            let file = Attachment::new(name.clone()).body(data.clone(), ct);
            let mixed = match body {
                Body::Plain(p) => MultiPart::mixed().singlepart(p),
                Body::Alternative(a) => MultiPart::mixed().multipart(a),
            };
            b.multipart(mixed.singlepart(file))?
        }
        _ => match body {
            Body::Plain(p) => b.singlepart(p)?,
            Body::Alternative(a) => b.multipart(a)?,
        },
    };
    Ok(msg)
}

/// The readable part of a message: plain text, or text and HTML as alternatives.
enum Body {
    Plain(SinglePart),
    Alternative(MultiPart),
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{HeaderValue as Parsed, MessageParser};

    fn ids(v: &Parsed<'_>) -> Vec<String> {
        match v {
            Parsed::Text(t) => vec![t.to_string()],
            Parsed::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    fn mail(kind: &str) -> OutboxMail {
        OutboxMail {
            id: crate::domain::OutboxId(1),
            recipient: "ana@example.test".into(),
            kind: kind.into(),
            subject: "Referred buyers".into(),
            body: "Here it is.".into(),
            attempts: 0,
            message_id: Some("<abc.export@example.test>".into()),
            reply_to: Some("bot+tok@example.test".into()),
            in_reply_to: None,
            attachment_name: None,
            attachment_mime: None,
            attachment: None,
            from_name: None,
            body_html: None,
            references_chain: None,
            created_at: chrono::Utc::now(),
        }
    }

    fn bot() -> Mailbox {
        "promoterd <bot@example.test>".parse().unwrap()
    }

    fn raw(mail: &OutboxMail) -> Vec<u8> {
        build_message(mail, &bot()).unwrap().formatted()
    }

    #[test]
    fn messages_carry_auto_submitted_reply_to_and_a_stable_id() {
        let mail = OutboxMail {
            in_reply_to: Some("m1@client.test".into()),
            attachment_name: Some("buyers.csv".into()),
            attachment_mime: Some("text/csv".into()),
            attachment: Some(b"a,b\r\n1,2\r\n".to_vec()),
            ..mail("export")
        };
        let raw = String::from_utf8(raw(&mail)).unwrap();
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(raw.contains("Message-ID: <abc.export@example.test>"), "{raw}");
        assert!(raw.contains("Reply-To: bot+tok@example.test"), "{raw}");
        assert!(raw.contains("In-Reply-To: <m1@client.test>"), "{raw}");
        assert!(raw.contains("References: <m1@client.test>"), "{raw}");
        assert!(raw.contains("filename=\"buyers.csv\""), "{raw}");
    }

    #[test]
    fn an_organizations_mail_has_its_name_on_the_bots_address() {
        let from = |mail: &OutboxMail| {
            let raw = raw(mail);
            let m = MessageParser::default().parse(&raw).unwrap();
            let a = m.from().and_then(|a| a.first()).unwrap();
            (
                a.name().map(str::to_string),
                a.address().map(str::to_string),
                String::from_utf8(raw.clone()).unwrap(),
            )
        };
        let (name, address, _) = from(&mail("reply"));
        assert_eq!(
            (name.as_deref(), address.as_deref()),
            (Some("promoterd"), Some("bot@example.test"))
        );
        let (name, address, _) = from(&OutboxMail {
            from_name: Some("Acme Events".into()),
            ..mail("invite")
        });
        assert_eq!(
            (name.as_deref(), address.as_deref()),
            (Some("Acme Events"), Some("bot@example.test"))
        );
        // Hostile: a header injection attempt stays inside the (encoded) name.
        let (name, address, text) = from(&OutboxMail {
            from_name: Some("Fête \"Zoë\"\r\nBcc: victim@evil.test\u{202E}".into()),
            ..mail("digest")
        });
        assert_eq!(name.as_deref(), Some("Fête \"Zoë\" Bcc: victim@evil.test"));
        assert_eq!(address.as_deref(), Some("bot@example.test"));
        assert!(text.contains("From: =?utf-8?"), "non-ASCII is RFC 2047 encoded: {text}");
        assert!(!text.contains("\r\nBcc:"), "{text}");
        // Nothing printable left: the configured name.
        let (name, _, _) = from(&OutboxMail {
            from_name: Some("\r\n\t".into()),
            ..mail("digest")
        });
        assert_eq!(name.as_deref(), Some("promoterd"));
    }

    #[test]
    fn a_stored_html_part_is_the_alternative_of_the_text() {
        let html = "<!doctype html><html><body><table><thead><tr><th>Promoter</th></tr></thead>\
                    <tbody><tr><td>&lt;b&gt;Ana&lt;/b&gt;</td></tr></tbody></table></body></html>";
        let with_html = OutboxMail {
            body_html: Some(html.into()),
            ..mail("digest")
        };
        let raw = raw(&with_html);
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("multipart/alternative"), "{text}");
        let m = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(m.body_text(0).as_deref(), Some("Here it is."));
        assert_eq!(m.body_html(0).as_deref(), Some(html));
        // With an attachment too: mixed, holding the alternative and the file.
        let raw = self::raw(&OutboxMail {
            attachment_name: Some("buyers.csv".into()),
            attachment_mime: Some("text/csv".into()),
            attachment: Some(b"a\r\n".to_vec()),
            ..with_html
        });
        let m = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(m.body_html(0).as_deref(), Some(html));
        assert_eq!(m.attachments().count(), 1);
        // Without one: a single text part.
        let plain = String::from_utf8(self::raw(&mail("reply"))).unwrap();
        assert!(!plain.contains("multipart") && !plain.contains("text/html"), "{plain}");
    }

    #[test]
    fn a_reply_lists_the_whole_references_chain_in_order() {
        let chain =
            crate::email::thread::reply_references(&["root@a.test", "mid@b.test"], &["mid@b.test"], "parent@c.test");
        let reply = OutboxMail {
            in_reply_to: Some("parent@c.test".into()),
            references_chain: Some(chain.join(" ")),
            ..mail("reply")
        };
        let raw = raw(&reply);
        let m = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(ids(m.in_reply_to()), ["parent@c.test"]);
        assert_eq!(ids(m.references()), ["root@a.test", "mid@b.test", "parent@c.test"]);
        // An id that is not one is not echoed at all.
        let text = String::from_utf8(self::raw(&OutboxMail {
            in_reply_to: Some("x\r\nBcc: v@evil.test".into()),
            ..mail("reply")
        }))
        .unwrap();
        assert!(!text.contains("In-Reply-To") && !text.contains("References"), "{text}");
    }
}
