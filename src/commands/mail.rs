//! Outbound mail as the core queues it: a stable Message-ID, and a per-recipient reply
//! token in the Reply-To address so that answers can be tied to what they answer.

use super::Core;
use crate::codes;
use crate::domain::{InviteId, OutboxId};
use crate::reply::Attachment;
use crate::store::{NewReplyToken, QueuedMail, StoreError, WriteTx};

/// How long a reply token of a non-invite mail stays valid.
const REPLY_TOKEN_DAYS: i64 = 30;

/// What a queued mail is and what replying to it may do.
#[derive(Debug, Clone)]
pub(crate) struct MailOut<'a> {
    pub to: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// An invite: a reply of `accept` / `ignore` answers it.
    pub invite: Option<(InviteId, chrono::DateTime<chrono::Utc>)>,
    pub in_reply_to: Option<&'a str>,
    pub attachment: Option<&'a Attachment>,
    /// The organization the mail speaks for: its name becomes the sender's display name.
    pub from_name: Option<&'a str>,
    /// An HTML alternative of `body`.
    pub body_html: Option<&'a str>,
    /// A reply's References chain (bounded `<id>` tokens, see `email::thread`).
    pub references: &'a [String],
}

impl<'a> MailOut<'a> {
    /// A plain mail: no invite, not a reply, no attachment, the configured sender name.
    pub fn new(to: &'a str, kind: &'a str, subject: &'a str, body: &'a str) -> Self {
        MailOut {
            to,
            kind,
            subject,
            body,
            invite: None,
            in_reply_to: None,
            attachment: None,
            from_name: None,
            body_html: None,
            references: &[],
        }
    }
}

impl Core {
    /// The bot's address split in local part and domain, when configured.
    pub fn bot_address_parts(&self) -> Option<(String, String)> {
        let addr = self.settings.bot_address.as_deref()?;
        let (local, domain) = addr.trim().rsplit_once('@')?;
        Some((local.to_string(), domain.to_lowercase()))
    }

    /// Queues a mail in `tx`, with a fresh reply token.
    pub(crate) async fn queue_mail(&self, tx: &mut WriteTx, mail: MailOut<'_>) -> Result<OutboxId, StoreError> {
        let now = self.clock.now();
        let parts = self.bot_address_parts();
        let domain = parts.as_ref().map(|(_, d)| d.as_str()).unwrap_or("promoterd.invalid");
        let message_id = format!("<{}{}.{}@{domain}>", codes::link_code(), codes::link_code(), mail.kind);
        let token = codes::invite_code();
        let (purpose, invite_id, expires_at) = match mail.invite {
            Some((id, expires)) => ("invite", Some(id), expires),
            None => ("reply", None, now + chrono::Duration::days(REPLY_TOKEN_DAYS)),
        };
        let reply_to = parts
            .as_ref()
            .map(|(local, domain)| format!("{local}+{token}@{domain}"));
        let from_name = mail.from_name.and_then(super::names::sender_name);
        let references = (!mail.references.is_empty()).then(|| mail.references.join(" "));
        let queued = QueuedMail {
            to: mail.to,
            kind: mail.kind,
            subject: mail.subject,
            body: mail.body,
            message_id,
            reply_to,
            in_reply_to: mail.in_reply_to,
            attachment: mail
                .attachment
                .map(|a| (a.filename.as_str(), a.mime.as_str(), a.data.as_slice())),
            token: Some(NewReplyToken {
                hash: codes::hash_code(&token),
                purpose,
                invite_id,
                expires_at,
            }),
            from_name: from_name.as_deref(),
            body_html: mail.body_html,
            references_chain: references.as_deref(),
        };
        // The sender is woken by `Core::commit`, once the mail can be read.
        self.store.enqueue_mail(tx, &queued, now).await
    }
}
