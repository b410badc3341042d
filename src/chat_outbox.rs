//! Draining the outbox's chat messages (Telegram, Discord) through a front-end's sender:
//! retried with backoff, and sent by email instead when the chat account is unreachable.

use crate::commands::{Core, MailOut, Platform};
use crate::outbox_claim::{self, Claim};
use crate::reply::Reply;
use crate::store::ChatMail;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// Messages claimed per round.
const BATCH: i64 = 20;

/// Attempts before a chat message is given up (and sent by email).
const MAX_ATTEMPTS: i64 = 6;

/// What a front-end's send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Blocked the bot, DMs closed: fall back to email.
    Unreachable,
}

async fn fall_back(core: &Core, m: &ChatMail, why: &str) -> anyhow::Result<()> {
    let now = core.clock.now();
    let mail_ok = match &m.fallback_email {
        Some(email) => !core.store.is_suppressed(email).await? && !core.store.mail_opted_out(email).await?,
        None => false,
    };
    // The email copy and the end of the chat message commit together: never both twice.
    let mut tx = core.store.write().await?;
    if let (true, Some(email)) = (mail_ok, &m.fallback_email) {
        // The same mail as if it had gone by email at first: the organization's name as the
        // sender, tables in an HTML part.
        let html = m
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<Reply>(p).ok())
            .and_then(|r| crate::delivery::fallback_html(&m.kind, &r));
        let mail = MailOut {
            from_name: m.from_name.as_deref(),
            body_html: html.as_deref(),
            ..MailOut::new(email, &m.kind, &m.subject, &m.body)
        };
        core.queue_mail(&mut tx, mail).await?;
    }
    core.store.fail_in(&mut tx, m.id, why, now).await?;
    core.commit(tx).await?;
    Ok(())
}

/// Sends due messages of `channel` with `send` until `stop`. Each round claims its
/// messages ([`Claim`]): a send starts only while it can end inside the claim and is
/// cut off at its limit (long enough to wait out a rate limit); what is left unsent is
/// given back.
pub async fn drain<F, Fut>(core: Core, channel: Platform, send: F, mut stop: watch::Receiver<bool>)
where
    F: Fn(ChatMail, Reply) -> Fut,
    Fut: Future<Output = anyhow::Result<Delivery>>,
{
    loop {
        let claim = Claim::new(core.clock.now(), outbox_claim::CHAT);
        let due = core
            .store
            .claim_chat(channel, core.clock.now(), claim.until(), BATCH)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(channel = channel.as_str(), error = %e, "reading the outbox failed");
                Vec::new()
            });
        let mut unsent = Vec::new();
        for m in &due {
            if !claim.may_start() {
                unsent.push(m.id);
                continue;
            }
            if let Err(e) = deliver(&core, m, &send, claim.send_limit()).await {
                tracing::warn!(channel = channel.as_str(), error = %format!("{e:#}"), "recording a chat delivery failed");
            }
        }
        if !unsent.is_empty()
            && let Err(e) = core.store.release_claims(&unsent).await
        {
            tracing::warn!(error = %e, "giving back unsent chat messages failed; they go once their claim lapses");
        }
        if due.len() == BATCH as usize {
            continue;
        }
        tokio::select! {
            _ = core.chat_queued.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// Sends one claimed message and records how it went.
async fn deliver<F, Fut>(core: &Core, m: &ChatMail, send: &F, limit: Duration) -> anyhow::Result<()>
where
    F: Fn(ChatMail, Reply) -> Fut,
    Fut: Future<Output = anyhow::Result<Delivery>>,
{
    let reply = m
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<Reply>(p).ok())
        .unwrap_or_else(|| Reply::text(&m.body));
    let result = match tokio::time::timeout(limit, send(m.clone(), reply)).await {
        Ok(r) => r,
        Err(_) => Err(anyhow::anyhow!("no answer within {limit:?}")),
    };
    let now = core.clock.now();
    match result {
        Ok(Delivery::Delivered) => Ok(core.store.mark_sent(m.id, now).await?),
        Ok(Delivery::Unreachable) => fall_back(core, m, "unreachable on this channel; sent by email").await,
        Err(e) if m.attempts + 1 >= MAX_ATTEMPTS => fall_back(core, m, &format!("{e:#}")).await,
        Err(e) => {
            let next = now + chrono::Duration::seconds(30 << m.attempts.clamp(0, 8));
            Ok(core
                .store
                .mark_attempt_failed(m.id, &format!("{e:#}"), Some(next), now)
                .await?)
        }
    }
}
