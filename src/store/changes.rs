//! What a committed transaction changed in the tracking links: collected by the store
//! functions that change them, announced after the commit, applied by the redirect.

use crate::domain::{EventId, LinkId, MembershipId};
use std::sync::Mutex;
use tokio::sync::Notify;

/// Which links a change may have touched (their liveness or their target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkChange {
    /// One link (turned off or on, its voucher made).
    Link(LinkId),
    /// Every link of a membership (the promoter left or was revoked).
    Membership(MembershipId),
    /// Every link of an event (its ticket page or shop changed; a new event).
    Event(EventId),
    /// Links created: everything past the highest id the table has seen.
    Created,
}

/// Most scopes kept apart; past it, the next pass reloads everything (one full
/// rebuild costs less than thousands of small ones).
pub const MAX_SCOPES: usize = 256;

/// The changes not yet applied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// Scopes in the order they were announced, without repeats.
    pub scopes: Vec<LinkChange>,
    /// Too many to keep apart: reload every link.
    pub everything: bool,
}

impl Pending {
    fn add(&mut self, scope: LinkChange) {
        if self.everything || self.scopes.contains(&scope) {
            return;
        }
        if self.scopes.len() >= MAX_SCOPES {
            self.scopes.clear();
            self.everything = true;
            return;
        }
        self.scopes.push(scope);
    }

    /// Nothing to apply.
    pub fn is_empty(&self) -> bool {
        !self.everything && self.scopes.is_empty()
    }
}

/// The store's announcements of link changes, shared by every handle of one database
/// in this process. Changes made by another process (the console) reach the redirect
/// through migration 0017's log instead, at its next look.
#[derive(Debug, Default)]
pub struct LinkChanges {
    pending: Mutex<Pending>,
    notify: Notify,
}

impl LinkChanges {
    /// Announces committed changes and wakes whoever applies them.
    pub fn announce(&self, scopes: impl IntoIterator<Item = LinkChange>) {
        let mut any = false;
        {
            let mut pending = self.pending.lock().expect("link changes lock");
            for s in scopes {
                pending.add(s);
                any = true;
            }
        }
        if any {
            self.notify.notify_one();
        }
    }

    /// Waits until something is announced, then takes everything announced so far.
    pub async fn next(&self) -> Pending {
        loop {
            let taken = self.take();
            if !taken.is_empty() {
                return taken;
            }
            self.notify.notified().await;
        }
    }

    /// Takes what is announced, leaving nothing.
    pub fn take(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().expect("link changes lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_merge_and_too_many_scopes_become_a_full_reload() {
        let c = LinkChanges::default();
        c.announce([LinkChange::Created, LinkChange::Event(EventId(1)), LinkChange::Created]);
        assert_eq!(
            c.take(),
            Pending {
                scopes: vec![LinkChange::Created, LinkChange::Event(EventId(1))],
                everything: false
            }
        );
        assert!(c.take().is_empty());
        c.announce((0..=MAX_SCOPES as i64).map(|i| LinkChange::Link(LinkId(i))));
        let p = c.take();
        assert!(p.everything && p.scopes.is_empty());
        c.announce([]);
        assert!(c.take().is_empty());
    }

    #[tokio::test]
    async fn next_returns_what_was_announced_before_it_waited() {
        let c = std::sync::Arc::new(LinkChanges::default());
        c.announce([LinkChange::Membership(MembershipId(7))]);
        assert_eq!(c.next().await.scopes, vec![LinkChange::Membership(MembershipId(7))]);
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.next().await }
        });
        c.announce([LinkChange::Link(LinkId(3))]);
        assert_eq!(waiter.await.unwrap().scopes, vec![LinkChange::Link(LinkId(3))]);
    }
}
