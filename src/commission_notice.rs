//! The notice organizers get once per event when its commissions become due: how much,
//! to how many promoters, and the commands to pay them.

use crate::commands::Core;
use crate::delivery::Outgoing;
use crate::domain::DigestKind;
use crate::domain::commission;
use crate::money::money;
use crate::reply::Reply;
use crate::store::StoreError;
use chrono::Duration;

impl Core {
    /// Queues the due notice of every event whose holding period ended since the last
    /// pass; returns how many events were announced. Each event once, by any scheduler.
    pub async fn run_commission_notices(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut announced = 0;
        for (event_id, org_id, starts_at, hold) in self.store.events_with_unannounced_commissions().await? {
            if starts_at + Duration::days(hold) > now {
                continue;
            }
            let (Some(org), Some(event)) = (self.store.org(org_id).await?, self.store.event(event_id).await?) else {
                continue;
            };
            let owed = self.store.commission_summary(org.id, Some(event.id), now).await?;
            let due: Vec<i64> = owed
                .iter()
                .map(|p| {
                    commission::balances(&p.ledgers, now)
                        .iter()
                        .map(|b| b.approved)
                        .sum::<i64>()
                })
                .filter(|d| *d > 0)
                .collect();
            let total: i64 = due.iter().sum();
            let reply = Reply::text(format!(
                "Commissions for {} are due: {} to {} promoter(s), refunds until now taken off.",
                event.name,
                money(total, &event.currency),
                due.len()
            ))
            .titled(format!("{} — commissions due for {}", org.name, event.name))
            .line(format!(
                "See them with `payouts {}`, get the transfer file with `payoutfile transfers {}`, and record each \
                 transfer with `markpaid <email>`.",
                event.slug, event.slug
            ))
            .private();
            let subject = reply.title.clone().unwrap_or_default();
            let mut tx = self.store.write().await?;
            if !self.store.mark_commissions_announced(&mut tx, event.id, now).await? {
                continue; // another scheduler announced it
            }
            if total > 0 {
                for person in self.store.digest_recipients(org.id, DigestKind::Organizer).await? {
                    let prefs = self.store.preferences(person.person_id).await?;
                    let out = Outgoing {
                        kind: "commissions",
                        subject: &subject,
                        reply: &reply,
                        org_name: Some(&org.name),
                    };
                    self.deliver(&mut tx, &person, &prefs, None, &out).await?;
                }
                announced += 1;
            }
            self.commit(tx).await?;
        }
        Ok(announced)
    }

    /// One line for a digest: a person's commissions of an organization, when they have any.
    pub async fn earnings_line(
        &self,
        org: &crate::store::OrgRow,
        person: crate::domain::PersonId,
    ) -> Result<Option<String>, StoreError> {
        let rows = self.store.commission_ledgers(org.id, person).await?;
        let ledgers: Vec<_> = rows.iter().map(|r| r.ledger()).collect();
        let parts: Vec<String> = commission::balances(&ledgers, self.clock.now())
            .iter()
            .map(|b| {
                format!(
                    "{} due, {} pending, {} paid",
                    money(b.approved, &b.currency),
                    money(b.pending, &b.currency),
                    money(b.paid, &b.currency)
                )
            })
            .collect();
        Ok((!parts.is_empty()).then(|| format!("Your commissions: {}. Details: `myearnings`.", parts.join("; "))))
    }

    /// One line for an organizer's digest: what is due to promoters now, when anything is.
    pub async fn payouts_line(&self, org: &crate::store::OrgRow) -> Result<Option<String>, StoreError> {
        let now = self.clock.now();
        let rows = self.store.commission_summary(org.id, None, now).await?;
        let mut due: Vec<commission::Balance> = Vec::new();
        for person in &rows {
            for b in commission::balances(&person.ledgers, now) {
                match due.iter_mut().find(|d| d.currency == b.currency) {
                    Some(d) => {
                        d.approved += b.approved;
                        d.pending += b.pending;
                    }
                    None => due.push(b),
                }
            }
        }
        let parts: Vec<String> = due
            .iter()
            .filter(|b| b.approved > 0 || b.pending > 0)
            .map(|b| {
                format!(
                    "{} due now, {} pending",
                    money(b.approved, &b.currency),
                    money(b.pending, &b.currency)
                )
            })
            .collect();
        Ok((!parts.is_empty()).then(|| format!("Promoter commissions: {}. Send `payouts`.", parts.join("; "))))
    }
}
