//! Delivering a structured reply to a person on their channel (digests, notifications,
//! notices): a linked chat account, else email with the organization as the sender's
//! name and an HTML part when the reply has tables.

use crate::commands::{Core, MailOut, Platform};
use crate::domain::{MembershipId, OutboxId};
use crate::reply::Reply;
use crate::reply::html as render;
use crate::store::{Preferences, Recipient, StoreError, WriteTx};

/// The footer of scheduled mail: how to stop it.
const FOOTER: &str = "\n-- \nReply `stop` to get no more of these mails; `help` for the commands.\n";

/// A message to deliver: what it is, its subject and content, and who it speaks for.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The outbox kind (`digest`, `notification`, `milestone`, `notice` …).
    pub kind: &'a str,
    pub subject: &'a str,
    pub reply: &'a Reply,
    /// The organization the message is from: by email, the sender's display name.
    pub org_name: Option<&'a str>,
}

impl Outgoing<'_> {
    /// The HTML alternative of the email copy: digests always, other mail when it has a
    /// table.
    fn html(&self, footer: &str) -> Option<String> {
        (self.kind == "digest" || render::has_table(self.reply)).then(|| render::reply_html(self.reply, footer))
    }
}

/// The HTML part of a chat message sent by email instead (no footer: the plain copy has
/// none either), when its stored reply has a table.
pub fn fallback_html(kind: &str, reply: &Reply) -> Option<String> {
    Outgoing {
        kind,
        subject: "",
        reply,
        org_name: None,
    }
    .html("")
}

impl Core {
    /// Queues `out` for a person on their channel: their choice, else their first linked
    /// chat account, else email; an unreachable chat account falls back to email.
    /// `about` names the memberships the message is about (`None`: organizing): a chat
    /// account linked by invite only gets messages about the memberships it holds.
    pub async fn deliver(
        &self,
        tx: &mut WriteTx,
        person: &Recipient,
        prefs: &Preferences,
        about: Option<&[MembershipId]>,
        out: &Outgoing<'_>,
    ) -> Result<bool, StoreError> {
        let accounts: Vec<(Platform, String)> = self
            .store
            .linked_accounts(person.person_id)
            .await?
            .into_iter()
            .filter(|a| a.may_receive(about))
            .map(|a| (a.platform, a.external_id))
            .collect();
        let mut chosen: Option<(Platform, String)> = None;
        let wanted: Vec<Platform> = match prefs.channel {
            Some(c) => c.platform().into_iter().collect(),
            None => vec![Platform::Telegram, Platform::Discord],
        };
        for platform in wanted {
            if let Some((p, id)) = accounts.iter().find(|(p, _)| *p == platform)
                && !self.store.chat_unreachable(*p, id).await?
            {
                chosen = Some((*p, id.clone()));
                break;
            }
        }
        let body = out.reply.to_plain();
        let now = self.clock.now();
        match chosen {
            Some((platform, id)) => {
                let payload = serde_json::to_string(out.reply).map_err(|e| StoreError::Encode(e.to_string()))?;
                self.store
                    .enqueue_chat(
                        tx,
                        platform,
                        &id,
                        out.kind,
                        out.subject,
                        &body,
                        &payload,
                        &person.email,
                        out.org_name,
                        now,
                    )
                    .await?;
                Ok(true)
            }
            None if person.mail_opt_out || self.store.is_suppressed(&person.email).await? => Ok(false),
            None => {
                let text = format!("{}{FOOTER}", body.trim_end());
                let html = out.html(FOOTER);
                let mail = MailOut {
                    from_name: out.org_name,
                    body_html: html.as_deref(),
                    attachment: out.reply.attachments.first(),
                    ..MailOut::new(&person.email, out.kind, out.subject, &text)
                };
                self.queue_mail(tx, mail).await?;
                Ok(true)
            }
        }
    }

    /// Tells the organizer who sent an invite that its mail was refused for good (the
    /// recipient's server answered 5xx, or the address is suppressed), on their channel.
    pub async fn invite_undeliverable(&self, outbox_id: OutboxId, why: &str) -> Result<(), StoreError> {
        let Some((inviter, invited, org_id)) = self.store.inviter_of_mail(outbox_id).await? else {
            return Ok(());
        };
        let Some(person) = self.store.person(inviter).await? else {
            return Ok(());
        };
        let org = self.store.org(org_id).await?.map(|o| o.name).unwrap_or_default();
        let recipient = Recipient {
            person_id: person.id,
            email: person.email.clone(),
            mail_opt_out: false,
            created_at: person.created_at,
        };
        let prefs = self.store.preferences(person.id).await?;
        let reply = Reply::text(format!(
            "Your invite to {invited} ({org}) could not be delivered: {why}"
        ))
        .titled("Invite not delivered")
        .line(format!(
            "Check the address; to try another one, `cancelinvite {invited}` and invite again."
        ));
        let out = Outgoing {
            kind: "notice",
            subject: "Invite not delivered",
            reply: &reply,
            org_name: Some(&org),
        };
        let mut tx = self.store.write().await?;
        self.deliver(&mut tx, &recipient, &prefs, None, &out).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
