//! Scheduled digests and live sale notifications: which are due (in each person's time
//! zone, across DST), exactly once per period, delivered on each person's channel.

use crate::commands::{Core, Origin};
use crate::delivery::Outgoing;
use crate::domain::DigestKind;
use crate::money::money;
use crate::reply::{Block, Reply};
use crate::store::{MembershipRow, Recipient, StoreError};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

mod notify;

/// How often a digest goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
}

/// Quiet time between two sale notifications to one promoter: a rush is summed up.
pub const NOTIFY_WINDOW_MINUTES: i64 = 5;
/// Ticket counts that earn a congratulation, once each.
pub const MILESTONES: [i64; 5] = [10, 25, 50, 100, 250];

/// `hour:00` local time on `date` in `tz` (on a DST gap, the first valid time after it).
fn at_local(tz: Tz, date: NaiveDate, hour: u32) -> DateTime<Utc> {
    for h in hour..24 {
        if let Some(t) = date
            .and_hms_opt(h, 0, 0)
            .and_then(|n| tz.from_local_datetime(&n).earliest())
        {
            return t.with_timezone(&Utc);
        }
    }
    date.and_hms_opt(23, 59, 0)
        .map(|n| Utc.from_utc_datetime(&n))
        .unwrap_or_default()
}

/// The latest period due at `now` and when it became due: a daily period is the local
/// date ("2026-11-23"), a weekly one the ISO week ("2026-W48") of `weekday` (1 = Monday).
pub fn latest_due(freq: Frequency, tz: Tz, hour: u32, weekday: u32, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    match freq {
        Frequency::Daily => {
            let mut date = today;
            if at_local(tz, date, hour) > now {
                date = date.pred_opt().unwrap_or(date);
            }
            (date.format("%Y-%m-%d").to_string(), at_local(tz, date, hour))
        }
        Frequency::Weekly => {
            let back = (today.weekday().number_from_monday() + 7 - weekday.clamp(1, 7)) % 7;
            let mut date = today - Duration::days(i64::from(back));
            if at_local(tz, date, hour) > now {
                date -= Duration::days(7);
            }
            (date.format("%G-W%V").to_string(), at_local(tz, date, hour))
        }
    }
}

/// What one scheduler pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    pub digests: usize,
    pub notifications: usize,
    pub milestones: usize,
    /// Events whose commissions were announced as due to their organizers.
    pub commission_notices: usize,
}

impl Core {
    async fn digest_for(
        &self,
        org: &crate::store::OrgRow,
        person: &Recipient,
        kind: DigestKind,
        since: Option<DateTime<Utc>>,
    ) -> Result<Option<Reply>, StoreError> {
        // The person's own view, as the console shows it: a digest is not a command the
        // person sent, so their per-sender command limit does not apply to it.
        let origin = Origin::Console {
            email: person.email.clone(),
        };
        let now = self.clock.now();
        let horizon = now - Duration::days(1);
        let events: Vec<_> = self
            .store
            .events_of_org(org.id)
            .await?
            .into_iter()
            .filter(|e| e.starts_at >= horizon)
            .collect();
        let mut digest = Reply::default().titled(format!("{} — your {} digest", org.name, kind));
        let mut any = false;
        let memberships: Vec<MembershipRow> = self.store.active_memberships_of(person.person_id).await?;
        for e in &events {
            // Qualified by the organization: short names repeat across organizations.
            let line = if kind == DigestKind::Organizer {
                format!("stats {}/{}", org.slug, e.slug)
            } else {
                format!("mystats {}/{}", org.slug, e.slug)
            };
            let reply = self.view_as(&origin, &line).await;
            if reply.is_error {
                continue; // not theirs
            }
            any = true;
            digest.blocks.push(Block::Text(format!("■ {}", e.name)));
            if kind == DigestKind::Promoter
                && let Some(since) = since
                && let Some(m) = memberships
                    .iter()
                    .find(|m| m.event_id == Some(e.id) || (m.org_id == org.id && m.event_id.is_none()))
            {
                let changes = self.store.sale_changes(m.id, since, now).await?;
                let (t, net): (i64, i64) = changes
                    .iter()
                    .filter(|c| c.event_id == e.id)
                    .fold((0, 0), |a, c| (a.0 + c.tickets, a.1 + c.net_minor));
                digest.blocks.push(Block::Text(format!(
                    "Since your last digest: {t} tickets, {}.",
                    money(net, &e.currency)
                )));
            }
            digest.blocks.extend(reply.blocks);
        }
        if !any {
            return Ok(None);
        }
        let money_line = match kind {
            DigestKind::Organizer => self.payouts_line(org).await?,
            DigestKind::Promoter => self.earnings_line(org, person.person_id).await?,
        };
        digest.blocks.extend(money_line.map(Block::Text));
        if kind == DigestKind::Organizer {
            digest.blocks.push(Block::Text(
                "Reply `export <event>` to this mail for the referred buyers as CSV.".into(),
            ));
        }
        digest.private = true;
        Ok(Some(digest))
    }

    /// The digests of `kind` an organization owes at `now` and has not claimed yet:
    /// (recipient, preferences, frequency, claim key). Three reads whatever the number
    /// of people, so the pass every minute, which nearly always finds nothing due, costs
    /// little at any size.
    async fn due_digests(
        &self,
        org: &crate::store::OrgRow,
        tz: Tz,
        kind: DigestKind,
        (weekday, org_hour): (i64, i64),
        now: DateTime<Utc>,
    ) -> Result<Vec<(Recipient, crate::store::Preferences, Frequency, String)>, StoreError> {
        let mut prefs_of = self.store.digest_preferences(org.id, kind).await?;
        let mut due = Vec::new();
        for person in self.store.digest_recipients(org.id, kind).await? {
            let prefs = prefs_of.remove(&person.person_id).unwrap_or_default();
            let freq = match prefs.digest.as_str() {
                "daily" => Frequency::Daily,
                "weekly" => Frequency::Weekly,
                _ => continue,
            };
            let hour = prefs.digest_hour.unwrap_or(org_hour).clamp(0, 23) as u32;
            let (period, due_at) = latest_due(freq, tz, hour, weekday.clamp(1, 7) as u32, now);
            if due_at < person.created_at {
                continue; // not with us yet when that period was due
            }
            due.push((person, prefs, freq, format!("{}:{period}", org.slug)));
        }
        let mut keys: Vec<String> = due.iter().map(|d| d.3.clone()).collect();
        keys.sort();
        keys.dedup();
        // Sent already (the common case every minute): build nothing.
        let claimed = self.store.digests_claimed(kind, &keys).await?;
        due.retain(|(person, _, _, key)| !claimed.contains(&(person.person_id, key.clone())));
        Ok(due)
    }

    /// Queues every digest due at the clock's now that was not sent yet; returns how many.
    pub async fn run_digests(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut sent = 0;
        for org_id in self.store.org_ids().await? {
            let Some(org) = self.store.org(org_id).await? else {
                continue;
            };
            let Ok(tz) = org.time_zone.parse::<Tz>() else {
                // Never a guessed zone: a digest at the wrong hour is worse than a late one.
                tracing::error!(org = %org.slug, zone = %org.time_zone, "digests: a stored time zone is not IANA; skipped");
                continue;
            };
            let (weekday, org_hour) = self.store.org_digest_defaults(org.id).await?;
            for &kind in DigestKind::ALL {
                for (person, prefs, freq, key) in self.due_digests(&org, tz, kind, (weekday, org_hour), now).await? {
                    let last = self.store.last_digest_at(person.person_id, kind, &org.slug).await?;
                    let Some(mut digest) = self.digest_for(&org, &person, kind, last).await? else {
                        continue;
                    };
                    if freq == Frequency::Weekly {
                        digest
                            .attachments
                            .extend(self.week_chart(&org, person.person_id, kind).await?);
                    }
                    let mut tx = self.store.write().await?;
                    if !self
                        .store
                        .claim_digest(&mut tx, person.person_id, kind, &key, now)
                        .await?
                    {
                        continue; // already sent, by us earlier or by another scheduler
                    }
                    let subject = digest.title.clone().unwrap_or_default();
                    let about = match kind {
                        DigestKind::Organizer => None,
                        DigestKind::Promoter => Some(
                            self.store
                                .active_memberships_of(person.person_id)
                                .await?
                                .iter()
                                .filter(|m| m.org_id == org.id)
                                .map(|m| m.id)
                                .collect::<Vec<_>>(),
                        ),
                    };
                    let out = Outgoing {
                        kind: "digest",
                        subject: &subject,
                        reply: &digest,
                        org_name: Some(&org.name),
                    };
                    self.deliver(&mut tx, &person, &prefs, about.as_deref(), &out).await?;
                    self.commit(tx).await?;
                    sent += 1;
                }
            }
        }
        Ok(sent)
    }

    /// One scheduler pass: digests, then notifications.
    pub async fn run_scheduled(&self) -> Result<Sent, StoreError> {
        let digests = self.run_digests().await?;
        let (notifications, milestones) = self.run_notifications().await?;
        let commission_notices = self.run_commission_notices().await?;
        Ok(Sent {
            digests,
            notifications,
            milestones,
            commission_notices,
        })
    }
}

/// Runs the scheduler every minute until `stop`.
pub async fn scheduler(core: Core, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        // A pass stops where it is when asked to: each digest is claimed and queued in
        // one transaction, so the rest are for the next pass (or the next daemon).
        let pass = tokio::select! {
            pass = core.run_scheduled() => pass,
            _ = stop.changed() => break,
        };
        core.metrics.scheduler_pass(if pass.is_ok() { "ok" } else { "failed" });
        match pass {
            Ok(s) if s != Sent::default() => tracing::info!(
                digests = s.digests,
                notifications = s.notifications,
                milestones = s.milestones,
                commission_notices = s.commission_notices,
                "scheduled messages queued"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler pass failed"),
        }
        // What the pass read and built is free now (the first pass, at start, is large).
        crate::memory::give_back_soon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_digests_stay_at_nine_local_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Summer time (UTC+2) on Saturday 24 Oct 2026, winter time (UTC+1) from the 25th.
        assert_eq!(
            latest_due(Frequency::Daily, berlin, 9, 1, utc("2026-10-24T07:00:00Z")),
            ("2026-10-24".into(), utc("2026-10-24T07:00:00Z"))
        );
        assert_eq!(
            latest_due(Frequency::Daily, berlin, 9, 1, utc("2026-10-25T07:30:00Z")).0,
            "2026-10-24",
            "not yet 09:00 local"
        );
        assert_eq!(
            latest_due(Frequency::Daily, berlin, 9, 1, utc("2026-10-25T08:00:00Z")),
            ("2026-10-25".into(), utc("2026-10-25T08:00:00Z"))
        );
        let ny: Tz = "America/New_York".parse().unwrap();
        // EDT (UTC-4) until 1 Nov 2026, EST (UTC-5) after.
        assert_eq!(
            latest_due(Frequency::Daily, ny, 9, 1, utc("2026-10-31T13:00:00Z")).1,
            utc("2026-10-31T13:00:00Z")
        );
        assert_eq!(
            latest_due(Frequency::Daily, ny, 9, 1, utc("2026-11-02T14:00:00Z")).1,
            utc("2026-11-02T14:00:00Z")
        );
    }

    #[test]
    fn weekly_digests_use_iso_weeks_and_the_chosen_weekday() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // Monday 23 Nov 2026, 09:00 local = 08:00 UTC.
        assert_eq!(
            latest_due(Frequency::Weekly, tz, 9, 1, utc("2026-11-23T08:00:00Z")).0,
            "2026-W48"
        );
        assert_eq!(
            latest_due(Frequency::Weekly, tz, 9, 1, utc("2026-11-23T07:59:00Z")).0,
            "2026-W47"
        );
        assert_eq!(
            latest_due(Frequency::Weekly, tz, 9, 1, utc("2026-11-29T20:00:00Z")).0,
            "2026-W48"
        );
        // Friday digests.
        assert_eq!(
            latest_due(Frequency::Weekly, tz, 9, 5, utc("2026-11-23T08:00:00Z")).1,
            utc("2026-11-20T08:00:00Z")
        );
    }

    #[test]
    fn a_digest_hour_inside_a_spring_gap_moves_to_the_next_valid_hour() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 29 Mar 2026: 02:00 local does not exist.
        assert_eq!(
            at_local(tz, NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(), 2),
            utc("2026-03-29T01:00:00Z")
        );
    }
}
