//! Hourly chores on the core's clock: invites that ran out, buyer data past each
//! organization's retention, the content of messages given up on long ago, the chat
//! updates applied long ago, and the log.

use crate::commands::Core;
use crate::store::{FAILED_KEEP, StoreResult};

/// Orders erased per write transaction: a large past event never holds the write
/// lock long enough to delay an incoming order noticeably.
const ERASE_BATCH: usize = 2000;

/// What one round of chores did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chores {
    pub expired_invites: u64,
    /// Orders whose buyer's name, email and phone were erased by retention.
    pub erased_orders: u64,
    /// Outbox messages given up on more than [`FAILED_KEEP`] ago (or sent before content
    /// was dropped on sending) whose content was dropped.
    pub scrubbed_messages: u64,
    /// Applied chat update ids older than [`CHAT_UPDATES_KEEP`], forgotten.
    pub forgotten_chat_updates: u64,
}

/// How long an applied chat update's id is kept to refuse it as a repeat: far longer
/// than Telegram (24 hours) or Discord (minutes) ever delivers one again.
pub const CHAT_UPDATES_KEEP: chrono::Duration = chrono::Duration::days(7);

/// Runs every chore once at the core's `now`.
pub async fn run_once(core: &Core) -> StoreResult<Chores> {
    let store = &core.store;
    let now = core.clock.now();
    let mut chores = Chores::default();
    let mut tx = store.write().await?;
    chores.expired_invites = store.expire_invites(&mut tx, now).await?;
    chores.scrubbed_messages = store.scrub_outbox(&mut tx, now - FAILED_KEEP, now).await?;
    chores.forgotten_chat_updates = store.prune_chat_updates(&mut tx, now - CHAT_UPDATES_KEEP).await?;
    tx.commit().await?;
    for event in store.events_past_retention(now).await? {
        let ids = store.orders_holding_buyer_data(event.id).await?;
        let mut erased = 0;
        for chunk in ids.chunks(ERASE_BATCH) {
            let mut tx = store.write().await?;
            erased += store.erase_buyer_data(&mut tx, chunk, now).await?;
            tx.commit().await?;
        }
        if erased > 0 {
            let mut tx = store.write().await?;
            let detail = format!(
                "{}: {erased} orders, {} days after the event (retention)",
                event.slug, event.days
            );
            store
                .audit(&mut tx, Some(event.org_id), None, "buyer.erased", &detail, now)
                .await?;
            tx.commit().await?;
            tracing::info!(event = %event.slug, orders = erased, "buyer data past retention erased");
        }
        chores.erased_orders += erased;
    }
    // Sent messages dropped their content when sent; this also clears their old frames.
    store.checkpoint_truncate().await?;
    Ok(chores)
}

/// Runs the chores every hour, the first time at start.
pub async fn every_hour(core: Core) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match run_once(&core).await {
            Ok(c) if c == Chores::default() => {}
            Ok(c) => tracing::info!(
                expired_invites = c.expired_invites,
                erased_orders = c.erased_orders,
                scrubbed_messages = c.scrubbed_messages,
                forgotten_chat_updates = c.forgotten_chat_updates,
                "housekeeping"
            ),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}
