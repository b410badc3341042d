//! Tracking-link changes: what a link log row (migration 0017) names, and the wake-up
//! a committed transaction of this process gives the redirect's table to read the log.

use crate::domain::{EventId, LinkId, MembershipId};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Which links a change may have touched (their liveness or their target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkChange {
    /// One link (made, turned off or on, its voucher made).
    Link(LinkId),
    /// Every link of a membership (the promoter left or was revoked).
    Membership(MembershipId),
    /// Every link of an event (its ticket page or shop changed; a new event).
    Event(EventId),
}

/// Commits of this process that changed links, shared by every handle of one
/// database. The log names what changed, for every process; this only makes the table
/// read it at once instead of at its next look.
#[derive(Debug, Default)]
pub struct LinkChanges {
    changed: AtomicBool,
    notify: Notify,
}

impl LinkChanges {
    /// Says that a committed transaction changed links; wakes whoever reads the log.
    pub fn announce(&self) {
        self.changed.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Waits until something is announced since the last call; several announcements
    /// before it are one wake-up.
    pub async fn next(&self) {
        loop {
            if self.changed.swap(false, Ordering::AcqRel) {
                return;
            }
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn an_announcement_before_the_wait_wakes_it_and_several_are_one() {
        let c = Arc::new(LinkChanges::default());
        c.announce();
        c.announce();
        c.next().await;
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.next().await }
        });
        tokio::task::yield_now().await;
        // The two announcements above were one wake-up: the waiter is still waiting.
        assert!(!waiter.is_finished());
        c.announce();
        waiter.await.unwrap();
    }
}
