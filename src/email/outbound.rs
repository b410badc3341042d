//! The SMTP sender: drains the email outbox with retries and backoff; a message keeps
//! its Message-ID across attempts, so a resend after a crash is the same mail.

use super::message::build_message;
use super::smtp::Smtp;
use crate::commands::Core;
use crate::domain::OutboxId;
use crate::outbox_claim::{self, Claim};
use crate::store::OutboxMail;
use futures::StreamExt;
use lettre::message::Mailbox;
use std::time::Duration;
use tokio::sync::watch;

/// Attempts before a message is given up.
const MAX_ATTEMPTS: i64 = 8;

/// Delay before attempt `n + 1`: 30 s, 2 min, 8 min … capped at 6 h.
fn backoff(attempts: i64) -> chrono::Duration {
    let secs = 30i64.saturating_mul(4i64.saturating_pow(attempts.clamp(0, 6) as u32));
    chrono::Duration::seconds(secs.min(6 * 3600))
}

/// Why a message was not sent, and what follows.
#[derive(Debug)]
struct SendFailure {
    error: anyhow::Error,
    kind: Failed,
}

/// What a failed send means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failed {
    /// Worth another attempt after the message's backoff.
    Retry,
    /// The server refused it for good (a 5xx such as "user unknown"), or we must not send.
    Refused,
    /// No SMTP session could be opened (connection, TLS, greeting, login): the message
    /// was never offered, so the attempt is not its own.
    NoSession,
}

impl<E: Into<anyhow::Error>> From<E> for SendFailure {
    fn from(e: E) -> Self {
        SendFailure {
            error: e.into(),
            kind: Failed::Retry,
        }
    }
}

/// Sends one message unless its recipient is suppressed.
async fn send_one(core: &Core, smtp: &Smtp, from: &Mailbox, mail: &OutboxMail) -> Result<(), SendFailure> {
    if core.store.is_suppressed(&mail.recipient).await? {
        return Err(SendFailure {
            error: anyhow::anyhow!("suppressed: the address bounced or complained"),
            kind: Failed::Refused,
        });
    }
    let message = build_message(mail, from)?;
    if let Err(e) = smtp.send(&message).await {
        let kind = if e.is_permanent() {
            Failed::Refused
        } else if e.is_no_session() {
            Failed::NoSession
        } else {
            Failed::Retry
        };
        // lettre's message already carries the server's reply; its source repeats it.
        return Err(SendFailure {
            error: anyhow::anyhow!("SMTP: {e}"),
            kind,
        });
    }
    Ok(())
}

/// Messages read from the outbox per round, and sent at the same time.
const BATCH: i64 = 50;
const IN_FLIGHT: usize = 8;

/// How long a mail waits for a session while none can be opened before it is given up:
/// as long as its attempts' backoffs add up to (about 15 hours), so an outage ends a
/// mail when failed attempts would have.
fn give_up_after() -> chrono::Duration {
    (0..MAX_ATTEMPTS - 1).map(backoff).sum()
}

/// The sender's pause after round `n` (from 0) in a row found no session could be
/// opened: 30 s, doubling, at most 15 min. One login is tried per round, however much
/// mail waits, so a wrong password does not lock the account at the provider.
fn session_backoff(n: u32) -> Duration {
    Duration::from_secs(30u64.saturating_mul(1 << n.min(5)).min(15 * 60))
}

/// Claims the next batch of due mail; a failure is logged and reads as none.
async fn claim_due(core: &Core, claim: &Claim) -> Vec<OutboxMail> {
    let now = core.clock.now();
    core.store
        .claim_mails(now, claim.until(), BATCH)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading the outbox failed");
            Vec::new()
        })
}

/// Sends queued mail through `smtp` until `stop` turns true; wakes when mail is queued.
/// (A send cut off mid-exchange takes its connection with it: only a connection whose
/// exchange ended goes back to be used again.) While no session can be opened, it
/// pauses on its own ([`session_backoff`]) and then tries one mail alone.
pub async fn sender(core: Core, smtp: Smtp, from: Mailbox, mut stop: watch::Receiver<bool>) {
    // Whether the last attempt failed and may be retried: an outage is logged once.
    let mut failing = false;
    // Rounds in a row that could open no session.
    let mut outage: Option<u32> = None;
    loop {
        let claim = Claim::new(core.clock.now(), outbox_claim::EMAIL);
        let due = due_mail(&core, &claim).await;
        let round = send_all(&core, &smtp, &from, &due, &claim, outage.is_some(), &mut failing).await;
        if !round.unsent.is_empty()
            && let Err(e) = core.store.release_claims(&round.unsent).await
        {
            tracing::warn!(error = %e, "giving back unsent mail failed; it goes once its claim lapses");
        }
        if round.cut_off {
            tracing::warn!("email: a send got no answer in time; its SMTP connection was closed");
        }
        if let Some(error) = round.no_session {
            let n = outage.map_or(0, |n| n.saturating_add(1));
            outage = Some(n);
            let pause = session_backoff(n);
            tracing::warn!(
                error = %format!("{error:#}"),
                retry_in_secs = pause.as_secs(),
                "email: no SMTP session could be opened; mail waits without using its attempts"
            );
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
            continue;
        }
        outage = None;
        if due.len() == BATCH as usize {
            continue;
        }
        smtp.prune();
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

/// The next batch of due mail, claimed. An invite answered or cancelled while mail was
/// off is not sent late: a batch holding invite mail drops those of its own.
async fn due_mail(core: &Core, claim: &Claim) -> Vec<OutboxMail> {
    let due = claim_due(core, claim).await;
    let invites: Vec<OutboxId> = due.iter().filter(|m| m.kind == "invite").map(|m| m.id).collect();
    if invites.is_empty() {
        return due;
    }
    match core.store.drop_stale_invite_mails(&invites, core.clock.now()).await {
        Ok(dropped) if dropped.is_empty() => due,
        Ok(dropped) => {
            tracing::info!(
                dropped = dropped.len(),
                "email: invite mails that no longer apply were dropped"
            );
            due.into_iter().filter(|m| !dropped.contains(&m.id)).collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, "dropping stale invite mails failed");
            due
        }
    }
}

/// What a round left: the ids of messages not started (too little of the claim was
/// left, or no session could be opened), whether a send was cut off at the limit, and
/// why no session opened if one could not.
struct Round {
    unsent: Vec<OutboxId>,
    cut_off: bool,
    no_session: Option<anyhow::Error>,
}

/// Sends every message of `due`, several in flight at once (the SMTP pool has a
/// connection each), each recorded as soon as it is done: a crash resends (with the
/// same Message-ID) only what was taken but not yet recorded. A send starts only while
/// it can end and be recorded inside the claim ([`Claim::may_start`]) and is cut off
/// at its limit, so no other daemon's sender can take a message still going. After a
/// cut-off, or a session that could not be opened, no further send starts. With no
/// session kept (or `probe`: the last round could open none), one message goes alone
/// until one is sent: a server that refuses the login is asked once a round.
async fn send_all(
    core: &Core,
    smtp: &Smtp,
    from: &Mailbox,
    due: &[OutboxMail],
    claim: &Claim,
    probe: bool,
    failing: &mut bool,
) -> Round {
    let mut round = Round {
        unsent: Vec::new(),
        cut_off: false,
        no_session: None,
    };
    let limit = claim.send_limit();
    let mut width = if probe || !smtp.has_kept() { 1 } else { IN_FLIGHT };
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut queue = due.iter();
    loop {
        while in_flight.len() < width
            && let Some(m) = queue.next()
        {
            if round.cut_off || round.no_session.is_some() || !claim.may_start() {
                round.unsent.push(m.id);
                continue;
            }
            in_flight.push(async move { (m, tokio::time::timeout(limit, send_one(core, smtp, from, m)).await) });
        }
        let Some((mail, result)) = in_flight.next().await else {
            break;
        };
        let now = core.clock.now();
        match result {
            Ok(Ok(())) => {
                if *failing {
                    tracing::info!("email: SMTP delivery works again");
                    *failing = false;
                }
                width = IN_FLIGHT;
                if let Err(e) = core.store.mark_sent(mail.id, now).await {
                    tracing::warn!(error = %e, "recording sent mail failed");
                }
            }
            Ok(Err(failure)) if failure.kind == Failed::NoSession => {
                *failing = true;
                round.unsent.push(mail.id);
                round.no_session.get_or_insert(failure.error);
            }
            Ok(Err(failure)) => record_failure(core, mail, &failure, now, failing).await,
            Err(_) => {
                round.cut_off = true;
                let failure = SendFailure::from(anyhow::anyhow!("SMTP: no answer within {limit:?}"));
                record_failure(core, mail, &failure, now, failing).await;
            }
        }
    }
    if let Some(error) = &round.no_session {
        give_up_the_overdue(core, due, &mut round.unsent, error).await;
    }
    round
}

/// While no session opens, gives up the mails of `unsent` queued longer than
/// [`give_up_after`] (an invite's sender is told) and keeps the rest to give back.
async fn give_up_the_overdue(core: &Core, due: &[OutboxMail], unsent: &mut Vec<OutboxId>, error: &anyhow::Error) {
    let now = core.clock.now();
    let overdue: Vec<&OutboxMail> = due
        .iter()
        .filter(|m| unsent.contains(&m.id) && m.created_at + give_up_after() <= now)
        .collect();
    for mail in overdue {
        unsent.retain(|id| *id != mail.id);
        let (h, m) = (give_up_after().num_hours(), give_up_after().num_minutes() % 60);
        let failure = SendFailure {
            error: anyhow::anyhow!("{error:#} (no session could be opened in the {h} h {m} min since it was queued)"),
            kind: Failed::Refused,
        };
        let mut failing = true;
        record_failure(core, mail, &failure, now, &mut failing).await;
    }
}

/// Records a failed attempt: the message is tried again after a backoff, or given up
/// (refused for good, or out of attempts) and an invite's sender told.
async fn record_failure(
    core: &Core,
    mail: &OutboxMail,
    failure: &SendFailure,
    now: chrono::DateTime<chrono::Utc>,
    failing: &mut bool,
) {
    let SendFailure { error: e, kind } = failure;
    let permanent = *kind == Failed::Refused || mail.attempts + 1 >= MAX_ATTEMPTS;
    if !*failing && !permanent {
        tracing::warn!(error = %format!("{e:#}"), "email: sending failed; retrying with backoff");
        *failing = true;
    }
    if permanent {
        tracing::warn!(id = mail.id.get(), to = %mail.recipient, error = %format!("{e:#}"), "email: giving up on a message");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1).num_seconds(), 120);
        assert_eq!(backoff(10).num_seconds(), 6 * 3600);
        // 30 s + 2 + 8 + 32 min + 2 h 8 min + 6 h + 6 h: the README says "about 15 hours".
        assert_eq!(give_up_after().num_seconds(), 53_430);
        let pauses: Vec<u64> = (0..8).map(|n| session_backoff(n).as_secs()).collect();
        assert_eq!(pauses, [30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(session_backoff(u32::MAX).as_secs(), 900);
    }
}
