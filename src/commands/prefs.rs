//! Preferences: how often digests come, at which hour, on which channel, and whether
//! live sale notifications are wanted, or none of that mail (`stop`); the
//! organization's defaults.

use super::args::{Args, OnOff};
use super::command::{Command, declare};
use super::grants::{Anyone, Organizer};
use super::spec::{ArgKind, CommandSpec, ON_OFF, ORG_FLAG, opt, req};
use super::{Actor, Core};
use crate::domain;
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply};
use crate::store::{PersonRow, Preferences};

type Res = Result<Reply, CommandError>;

fn person(actor: &Actor) -> Result<&PersonRow, CommandError> {
    match &actor.person {
        Some(p) => Ok(p),
        None => Err(UserError::new("Link this account first: send `connect <your email>`.").into()),
    }
}

fn hour(s: &str) -> Result<i64, UserError> {
    match s.trim().trim_end_matches(":00").parse::<i64>() {
        Ok(h) if (0..=23).contains(&h) => Ok(h),
        _ => Err(UserError::new(format!("`{s}` is not an hour from 0 to 23."))),
    }
}

crate::choice!(
    /// What `digest` sets: how often, or (`hour`) at which hour.
    DigestSetting { Daily = "daily", Weekly = "weekly", Off = "off", Hour = "hour" }
);

impl DigestSetting {
    fn word(self) -> &'static str {
        Self::WORDS[self as usize]
    }
}

/// `digest [daily|weekly|off|hour] [hour]`.
#[derive(Debug)]
pub struct Digest {
    pub setting: Option<DigestSetting>,
    /// With `hour`; read once the setting says it belongs (and the person is known).
    pub hour: Option<String>,
}

impl Command for Digest {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Digest,
        "digest",
        [
            opt(
                "setting",
                ArgKind::Choice(DigestSetting::WORDS),
                "how often, or `hour` to set the hour"
            ),
            opt("hour", ArgKind::Text, "with `hour`: the local hour, 0 to 23"),
        ],
        "Show or set your digest: daily, weekly or off, and at which hour",
        "digest daily",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Digest {
            setting: args.opt("setting")?,
            hour: args.opt("hour")?,
        })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        let p = person(&ctx.actor)?;
        match (self.setting, self.hour.as_deref()) {
            (None, _) => core.describe(p, &core.store.preferences(p.id).await?).await,
            (Some(DigestSetting::Hour), Some(h)) => {
                let h = hour(h)?;
                core.save_prefs(p, |prefs| prefs.digest_hour = Some(h)).await
            }
            (Some(DigestSetting::Hour), None) => refuse!("Which hour? For example: `digest hour 8`."),
            (Some(freq), None) => core.save_prefs(p, |prefs| prefs.digest = freq.word().into()).await,
            (Some(_), Some(_)) => refuse!("Give an hour only with `hour`, e.g. `digest hour 8`."),
        }
    }
}

/// `notify on|off`.
#[derive(Debug)]
pub struct Notify {
    pub state: OnOff,
}

impl Command for Notify {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Notify,
        "notify",
        [req("state", ON_OFF, "on or off")],
        "Turn live sale notifications on or off",
        "notify off",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Notify {
            state: args.req("state")?,
        })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        let p = person(&ctx.actor)?;
        let on = self.state.0;
        core.save_prefs(p, |prefs| prefs.notify = on).await
    }
}

crate::choice!(
    /// Where digests and notifications go.
    Via { Telegram = "telegram", Discord = "discord", Email = "email" }
);

impl Via {
    fn word(self) -> &'static str {
        Self::WORDS[self as usize]
    }

    fn channel(self) -> domain::Channel {
        match self {
            Via::Telegram => domain::Channel::Telegram,
            Via::Discord => domain::Channel::Discord,
            Via::Email => domain::Channel::Email,
        }
    }
}

/// `channel telegram|discord|email`.
#[derive(Debug)]
pub struct Channel {
    pub via: Via,
}

impl Command for Channel {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Channel,
        "channel",
        [req(
            "via",
            ArgKind::Choice(Via::WORDS),
            "where digests and notifications go"
        )],
        "Choose where digests and notifications reach you",
        "channel telegram",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Channel { via: args.req("via")? })
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        let p = person(&ctx.actor)?;
        let via = self.via.word();
        if self.via != Via::Email
            && !core
                .store
                .chat_accounts_of(p.id)
                .await?
                .iter()
                .any(|(platform, _, _)| platform.as_str() == via)
        {
            return refuse!(
                "No {via} account is linked to {}. Send `connect {}` to the bot there first.",
                p.email,
                p.email
            );
        }
        core.save_prefs(p, |prefs| prefs.channel = Some(self.via.channel()))
            .await
    }
}

crate::choice!(
    /// Days of the week, Monday first (the organization's digest day).
    Weekday {
        Monday = "monday",
        Tuesday = "tuesday",
        Wednesday = "wednesday",
        Thursday = "thursday",
        Friday = "friday",
        Saturday = "saturday",
        Sunday = "sunday",
    }
);

impl Weekday {
    fn word(self) -> &'static str {
        Self::WORDS[self as usize]
    }

    /// 1 for Monday to 7 for Sunday, as stored.
    fn number(self) -> i64 {
        self as i64 + 1
    }
}

/// `orgdigest <weekday> <hour> [--org <org>]`.
#[derive(Debug)]
pub struct OrgDigest {
    pub weekday: Weekday,
    pub hour: i64,
}

impl Command for OrgDigest {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        OrgDigest,
        "orgdigest",
        [
            req("weekday", ArgKind::Choice(Weekday::WORDS), "weekly digest day"),
            req("hour", ArgKind::Text, "local hour, 0 to 23"),
            ORG_FLAG,
        ],
        "Set the organization's default digest day and hour",
        "orgdigest monday 9"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(OrgDigest {
            weekday: args.req("weekday")?,
            hour: hour(&args.req::<String>("hour")?)?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person, .. } = ctx;
        let (h, day) = (self.hour, self.weekday.word());
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store
            .set_org_digest_defaults(&mut tx, org.id, self.weekday.number(), h)
            .await?;
        let detail = format!("{day} {h}");
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "org.digest", &detail, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Weekly digests of {} now go out on {day} at {h}:00 {} (daily ones at {h}:00), unless a person chose their own hour.",
            org.name, org.time_zone
        )))
    }
}

/// `timezone <zone> [--org <org>]`.
#[derive(Debug)]
pub struct TimeZone {
    pub zone: chrono_tz::Tz,
}

impl Command for TimeZone {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        TimeZone,
        "timezone",
        [
            req("zone", ArgKind::Text, "an IANA time zone, e.g. Europe/Berlin"),
            ORG_FLAG
        ],
        "Set the organization's time zone (digests, times shown)",
        "timezone Europe/Berlin"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let zone: String = args.req("zone")?;
        match zone.parse() {
            Ok(zone) => Ok(TimeZone { zone }),
            Err(_) => Err(UserError::new(format!(
                "`{zone}` is not a time zone. Use an IANA name such as Europe/Berlin or America/New_York."
            ))),
        }
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person, .. } = ctx;
        let zone = self.zone.name();
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store.set_org_time_zone(&mut tx, org.id, zone).await?;
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "org.time_zone", zone, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!("{} now runs on {zone} time.", org.name)))
    }
}

/// `stop`: no more digest or notification mail.
#[derive(Debug)]
pub struct Stop;

impl Command for Stop {
    type Grant = Anyone;
    const SPEC: CommandSpec = declare!(
        Stop,
        "stop",
        [],
        "Stop digest and notification mails to your address",
        "stop",
        private = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(Stop)
    }

    async fn run(self, core: &Core, ctx: Anyone) -> Res {
        let Some(p) = &ctx.actor.person else {
            return refuse!("There is nothing to stop: this address gets no digests or notifications.");
        };
        let mut tx = core.store.write().await?;
        core.store.set_mail_opt_out(&mut tx, p.id, true).await?;
        core.store
            .audit(&mut tx, None, Some(p.id), "mail.stopped", &p.email, core.clock.now())
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Done: {} gets no more digest or notification mails. Invites and answers to your own commands still arrive.",
            p.email
        )))
    }
}

impl Core {
    /// The person's settings as they take effect: after `stop`, mail that would carry a
    /// digest or a notification is not sent, and the reply says so.
    async fn describe(&self, person: &PersonRow, p: &Preferences) -> Result<Reply, CommandError> {
        let stopped = self.store.mail_opted_out(&person.email).await?;
        let has_chat = !self.store.linked_accounts(person.id).await?.is_empty();
        let by_mail = p.channel == Some(domain::Channel::Email) || !has_chat;
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
            .map_or_else(|| "first linked chat, else email".into(), |c| c.to_string());
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

    async fn save_prefs(&self, p: &PersonRow, change: impl FnOnce(&mut Preferences)) -> Res {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::command::example as parses;

    #[test]
    fn every_example_parses_into_its_command() {
        assert_eq!(parses::<Digest>().setting, Some(DigestSetting::Daily));
        assert_eq!(parses::<Notify>().state, OnOff(false));
        assert_eq!(parses::<Channel>().via, Via::Telegram);
        let d = parses::<OrgDigest>();
        assert_eq!((d.weekday.number(), d.hour), (1, 9));
        assert_eq!(parses::<TimeZone>().zone, chrono_tz::Europe::Berlin);
        parses::<Stop>();
    }

    #[test]
    fn choice_words_name_their_variants() {
        assert_eq!(DigestSetting::Weekly.word(), "weekly");
        assert_eq!(Via::Email.word(), "email");
        assert_eq!((Weekday::Sunday.word(), Weekday::Sunday.number()), ("sunday", 7));
    }
}
