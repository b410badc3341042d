//! Preferences: how often digests come, at which hour, on which channel, and whether
//! live sale notifications are wanted; the organization's defaults.

use super::{Actor, Core, Invocation, Scope, organizer_scope};
use crate::error::CommandError;
use crate::refuse;
use crate::reply::{Block, Reply};
use crate::store::{PersonRow, Preferences};

type Res = Result<Reply, CommandError>;

fn person(actor: &Actor) -> Result<&PersonRow, CommandError> {
    match &actor.person {
        Some(p) => Ok(p),
        None => Err(crate::error::UserError::new("Link this account first: send `connect <your email>`.").into()),
    }
}

fn hour(s: &str) -> Result<i64, CommandError> {
    match s.trim().trim_end_matches(":00").parse::<i64>() {
        Ok(h) if (0..=23).contains(&h) => Ok(h),
        _ => Err(crate::error::UserError::new(format!("`{s}` is not an hour from 0 to 23.")).into()),
    }
}

impl Core {
    /// The person's settings as they take effect: after `stop`, mail that would carry a
    /// digest or a notification is not sent, and the reply says so.
    async fn describe(&self, person: &PersonRow, p: &Preferences) -> Result<Reply, CommandError> {
        let stopped = self.store.mail_opted_out(&person.email).await?;
        let has_chat = !self.store.linked_accounts(person.id).await?.is_empty();
        let by_mail = p.channel.as_deref() == Some("email") || !has_chat;
        let hour = p
            .digest_hour
            .map(|h| format!("{h}:00"))
            .unwrap_or_else(|| "the organization's hour".into());
        let halted = |what: String| {
            if stopped && by_mail {
                format!("stopped by `stop` (was {what})")
            } else {
                what
            }
        };
        let channel = p
            .channel
            .clone()
            .unwrap_or_else(|| "first linked chat, else email".into());
        let mut reply = Reply::default()
            .titled("Your preferences")
            .with(Block::Fields(vec![
                (
                    "Digest".into(),
                    if p.digest == "off" {
                        "off".into()
                    } else {
                        halted(format!("{} at {hour}", p.digest))
                    },
                ),
                (
                    "Sale notifications".into(),
                    if p.notify { halted("on".into()) } else { "off".into() },
                ),
                ("Channel".into(), channel),
            ]))
            .private();
        if stopped {
            reply = reply.line(if by_mail {
                "Mail is stopped: no digests or notifications are sent. `digest daily` or `notify on` starts them again."
            } else {
                "Digest and notification mail is stopped; your chat channel still gets them."
            });
        }
        Ok(reply)
    }

    async fn save_prefs(&self, actor: &Actor, change: impl FnOnce(&mut Preferences)) -> Res {
        let p = person(actor)?;
        let mut prefs = self.store.preferences(p.id).await?;
        change(&mut prefs);
        let mut tx = self.store.write().await?;
        self.store.set_preferences(&mut tx, p.id, &prefs).await?;
        // Asking for digests or notifications again undoes an earlier `stop`.
        if prefs.digest != "off" || prefs.notify {
            self.store.set_mail_opt_out(&mut tx, p.id, false).await?;
        }
        tx.commit().await?;
        Ok(self.describe(p, &prefs).await?.line("Saved."))
    }

    pub(super) async fn digest_prefs(&self, actor: &Actor, inv: &Invocation) -> Res {
        let p = person(actor)?;
        match (inv.get("setting"), inv.get("hour")) {
            (None, _) => self.describe(p, &self.store.preferences(p.id).await?).await,
            (Some("hour"), Some(h)) => {
                let h = hour(h)?;
                self.save_prefs(actor, |prefs| prefs.digest_hour = Some(h)).await
            }
            (Some("hour"), None) => refuse!("Which hour? For example: `digest hour 8`."),
            (Some(freq), None) => {
                let freq = freq.to_string();
                self.save_prefs(actor, |prefs| prefs.digest = freq).await
            }
            (Some(_), Some(_)) => refuse!("Give an hour only with `hour`, e.g. `digest hour 8`."),
        }
    }

    pub(super) async fn notify_prefs(&self, actor: &Actor, inv: &Invocation) -> Res {
        let on = inv.req("state") == "on";
        self.save_prefs(actor, |prefs| prefs.notify = on).await
    }

    pub(super) async fn channel_prefs(&self, actor: &Actor, inv: &Invocation) -> Res {
        let p = person(actor)?;
        let via = inv.req("via").to_string();
        if via != "email"
            && !self
                .store
                .chat_accounts_of(p.id)
                .await?
                .iter()
                .any(|(platform, _, _)| *platform == via)
        {
            refuse!(
                "No {via} account is linked to {}. Send `connect {}` to the bot there first.",
                p.email,
                p.email
            );
        }
        self.save_prefs(actor, |prefs| prefs.channel = Some(via)).await
    }

    pub(super) async fn org_digest(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, _) = organizer_scope(scope);
        let h = hour(inv.req("hour"))?;
        let day = super::spec::WEEKDAYS
            .iter()
            .position(|d| *d == inv.req("weekday"))
            .unwrap_or(0) as i64
            + 1;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        self.store.set_org_digest_defaults(&mut tx, org.id, day, h).await?;
        let detail = format!("{} {h}", inv.req("weekday"));
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "org.digest",
                &detail,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Weekly digests of {} now go out on {} at {h}:00 {} (daily ones at {h}:00), unless a person chose their own hour.",
            org.name,
            inv.req("weekday"),
            org.time_zone
        )))
    }

    pub(super) async fn time_zone(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, _) = organizer_scope(scope);
        let zone = inv.req("zone");
        let Ok(tz) = zone.parse::<chrono_tz::Tz>() else {
            refuse!("`{zone}` is not a time zone. Use an IANA name such as Europe/Berlin or America/New_York.");
        };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        self.store.set_org_time_zone(&mut tx, org.id, tz.name()).await?;
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "org.time_zone",
                tz.name(),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!("{} now runs on {} time.", org.name, tz.name())))
    }
}
