//! `retention`: how long an organization keeps its buyers' name, email and phone after
//! each event (owner only); shown without an argument, set with days or `never`.

use super::Core;
use super::args::{Args, FromArg};
use super::command::{Command, declare};
use super::grants::Owner;
use super::local_time::local_time;
use super::spec::{ArgKind, CommandSpec, ORG_FLAG, opt};
use crate::error::{CommandError, UserError};
use crate::reply::Reply;

type Res = Result<Reply, CommandError>;

/// The longest retention that can be set, in days (ten years).
pub const MAX_DAYS: i64 = 3650;

/// A retention as typed: a number of days, or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(pub Option<i64>);

impl FromArg for Days {
    fn from_arg(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("never") {
            return Ok(Days(None));
        }
        match s.parse::<i64>() {
            Ok(d) if (1..=MAX_DAYS).contains(&d) => Ok(Days(Some(d))),
            _ => Err(format!(
                "`{s}` is not a number of days from 1 to {MAX_DAYS}, nor `never`"
            )),
        }
    }
}

/// What a retention means, in a sentence.
pub fn describe(days: Option<i64>) -> String {
    match days {
        Some(d) => format!("{d} days after each event"),
        None => "until erased on request (`forgetbuyer`); never by time".into(),
    }
}

/// `retention [days|never] [--org]`.
#[derive(Debug)]
pub struct Retention {
    pub days: Option<Days>,
}

impl Command for Retention {
    type Grant = Owner;
    const SPEC: CommandSpec = declare!(
        Retention,
        "retention",
        [
            opt("days", ArgKind::Text, "days after each event (1-3650), or `never`"),
            ORG_FLAG,
        ],
        "How long buyers' name, email and phone are kept after each event (owner only)",
        "retention 90",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Retention {
            days: args.opt("days")?,
        })
    }

    async fn run(self, core: &Core, ctx: Owner) -> Res {
        let Owner { org, person, .. } = ctx;
        let Some(Days(days)) = self.days else {
            let (days, from) = core.store.buyer_retention(org.id).await?;
            let mut reply = Reply::text(format!(
                "{} keeps its buyers' name, email and phone {}. Numbers, attribution and self-referral \
                 flags are kept. Change it with `retention <days>` or `retention never`.",
                org.name,
                describe(days)
            ));
            if let Some(from) = from.filter(|f| days.is_some() && *f > core.clock.now()) {
                reply = reply.line(format!(
                    "Nothing is erased before {}: the grace period after the upgrade that brought retention. \
                     Setting it now ends the grace.",
                    local_time(&from, &org.time_zone)
                ));
            }
            return Ok(reply);
        };
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store.set_buyer_retention(&mut tx, org.id, days).await?;
        let detail = match days {
            Some(d) => format!("{d} days"),
            None => "never".into(),
        };
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "retention", &detail, now)
            .await?;
        tx.commit().await?;
        let mut reply = Reply::text(format!(
            "{} now keeps its buyers' name, email and phone {}.",
            org.name,
            describe(days)
        ));
        if days.is_some() {
            reply = reply.line(
                "Buyer data of events past that date is erased within the hour; the orders, \
                 their numbers and their promoters stay.",
            );
        }
        Ok(reply)
    }
}
