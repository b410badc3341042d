//! Sale notifications and milestones: at most one note per promoter per quiet window,
//! summing what happened since the last one, each milestone once.

use super::{MILESTONES, NOTIFY_WINDOW_MINUTES};
use crate::commands::Core;
use crate::delivery::Outgoing;
use crate::domain::{EventId, MembershipId, PersonId};
use crate::money::money;
use crate::reply::Reply;
use crate::store::{Recipient, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

impl Core {
    /// Queues sale notifications and milestones for promoters with new sales, at most one
    /// per promoter per quiet window, summing what happened since the last one.
    pub async fn run_notifications(&self) -> Result<(usize, usize), StoreError> {
        let now = self.clock.now();
        let (mut notes, mut milestones) = (0, 0);
        for (membership_id, person_id, since, followed) in self.store.memberships_with_new_sales(now).await? {
            if now - since < Duration::minutes(NOTIFY_WINDOW_MINUTES) {
                continue; // within the quiet window: coalesce with what follows
            }
            let after = followed.then_some(since);
            let (n, m) = self
                .notify_membership(membership_id, person_id, (since, after), now)
                .await?;
            notes += n;
            milestones += m;
        }
        Ok((notes, milestones))
    }

    /// One promoter's sale notifications (per event) and milestones since `since`, in
    /// one commit; nothing when another pass claimed them first. `after` is the previous
    /// pass's time, when there was one: the orders up to it are recorded as told.
    async fn notify_membership(
        &self,
        membership_id: MembershipId,
        person_id: PersonId,
        (since, after): (DateTime<Utc>, Option<DateTime<Utc>>),
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), StoreError> {
        let Some(person) = self.store.person(person_id).await? else {
            return Ok((0, 0));
        };
        let recipient = Recipient {
            person_id,
            mail_opt_out: self.store.mail_opted_out(&person.email).await?,
            created_at: person.created_at,
            email: person.email,
        };
        let prefs = self.store.preferences(person_id).await?;
        let changes = self.store.sale_changes(membership_id, since, now).await?;
        let deltas = self.store.order_deltas(membership_id, since, now).await?;
        let mut by_event: BTreeMap<EventId, Vec<&crate::store::SaleChange>> = BTreeMap::new();
        for c in &changes {
            by_event.entry(c.event_id).or_default().push(c);
        }
        for (event_id, _) in &deltas {
            by_event.entry(*event_id).or_default();
        }
        let mut tx = self.store.write().await?;
        if !self
            .store
            .claim_notification(&mut tx, membership_id, since, now)
            .await?
        {
            return Ok((0, 0));
        }
        self.store
            .mark_orders_notified(&mut tx, membership_id, after, now)
            .await?;
        let (mut notes, mut milestones) = (0, 0);
        for (event_id, rows) in by_event {
            let Some(event) = self.store.event(event_id).await? else {
                continue;
            };
            let org_name = self.store.org(event.org_id).await?.map(|o| o.name);
            let delta: i64 = deltas.iter().filter(|(e, _)| *e == event_id).map(|(_, d)| d).sum();
            let Some(reply) = sale_note(&event, &rows, delta) else {
                continue;
            };
            let to = (&recipient, &prefs, membership_id, org_name.as_deref());
            if prefs.notify {
                let out = Outgoing {
                    kind: "notification",
                    subject: "New sales",
                    reply: &reply,
                    org_name: to.3,
                };
                self.deliver(&mut tx, to.0, to.1, Some(&[membership_id]), &out).await?;
                notes += 1;
            }
            milestones += self.milestones(&mut tx, to, &event, now).await?;
        }
        self.commit(tx).await?;
        Ok((notes, milestones))
    }

    /// Milestones of a promoter's total tickets for an event, each delivered once.
    async fn milestones(
        &self,
        tx: &mut crate::store::WriteTx,
        (recipient, prefs, membership_id, org_name): (
            &Recipient,
            &crate::store::Preferences,
            MembershipId,
            Option<&str>,
        ),
        event: &crate::store::EventRow,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let total: i64 = self
            .store
            .sales_facts(event.id, Some(membership_id))
            .await?
            .iter()
            .map(|f| f.tickets)
            .sum();
        let mut sent = 0;
        for m in MILESTONES.iter().filter(|m| **m <= total) {
            if self.store.claim_milestone(tx, membership_id, event.id, *m, now).await? {
                let note = Reply::text(format!("🎉 You have sold {m} tickets for {}! Keep going.", event.name))
                    .titled("Milestone");
                let out = Outgoing {
                    kind: "milestone",
                    subject: "Milestone",
                    reply: &note,
                    org_name,
                };
                self.deliver(tx, recipient, prefs, Some(&[membership_id]), &out).await?;
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// The sale notification of one event: new tickets by ticket type and link, more
/// tickets on earlier orders (`delta` > 0) or refunds (`delta` < 0); `None` when there
/// is nothing to say.
fn sale_note(event: &crate::store::EventRow, rows: &[&crate::store::SaleChange], delta: i64) -> Option<Reply> {
    let tickets: i64 = rows.iter().map(|r| r.tickets).sum();
    let net: i64 = rows.iter().map(|r| r.net_minor).sum();
    let (refunded, more) = ((-delta).max(0), delta.max(0));
    if tickets == 0 && refunded == 0 && more == 0 {
        return None;
    }
    let parts: Vec<String> = rows
        .iter()
        .filter(|r| r.tickets > 0)
        .map(|r| {
            let via = if r.link_label.is_empty() {
                String::new()
            } else {
                format!(
                    " via {}",
                    crate::store::shown_link_label(&r.link_label, r.link_sub_promoter.as_deref())
                )
            };
            format!("{} × {}{via}", r.tickets, r.ticket_type)
        })
        .collect();
    let mut reply = Reply::default().titled(format!("New sales — {}", event.name));
    if tickets > 0 {
        reply = reply.line(format!(
            "{}: {tickets} tickets, {}.",
            parts.join(", "),
            money(net, &event.currency)
        ));
    }
    if more > 0 {
        reply = reply.line(format!("{more} more ticket(s) on earlier orders."));
    }
    if refunded > 0 {
        reply = reply.line(format!("{refunded} ticket(s) were refunded."));
    }
    Some(reply)
}
