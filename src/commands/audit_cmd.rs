//! `audit`: who did what in an organization — invites, revokes, role and rule changes,
//! buyer exports and erasures — for its owner only.

use super::Core;
use super::args::Args;
use super::command::{Command, declare};
use super::grants::Owner;
use super::local_time::local_clock;
use super::spec::{ArgKind, CommandSpec, ORG_FLAG, opt};
use crate::error::{CommandError, UserError};
use crate::reply::{Block, Reply, Table};

type Res = Result<Reply, CommandError>;

/// Entries one reply shows at most (the newest).
const MAX_ROWS: i64 = 200;

/// `audit [days] [--org]`.
#[derive(Debug)]
pub struct Audit {
    pub days: u32,
}

impl Command for Audit {
    type Grant = Owner;
    const SPEC: CommandSpec = declare!(
        Audit,
        "audit",
        [
            opt(
                "days",
                ArgKind::Whole { min: 1, max: 365 },
                "how many days back (default 30)"
            ),
            ORG_FLAG,
        ],
        "Who did what: invites, revokes, role and rule changes, buyer exports, erasures (owner only)",
        "audit 7",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Audit {
            days: args.opt("days")?.unwrap_or(30),
        })
    }

    async fn run(self, core: &Core, ctx: Owner) -> Res {
        let Owner { org, .. } = ctx;
        let since = core.clock.now() - chrono::Duration::days(i64::from(self.days));
        let (entries, total) = core.store.audit_since(org.id, since, MAX_ROWS).await?;
        let title = format!("Audit log of {}, last {} days", org.name, self.days);
        if entries.is_empty() {
            return Ok(Reply::text(format!("Nothing was recorded in the last {} days.", self.days)).titled(title));
        }
        let mut t = Table::new(
            &[&format!("When ({})", org.time_zone), "Who", "What", "Detail"],
            &[false, false, false, false],
        );
        for e in &entries {
            t.row(vec![
                local_clock(&e.at, &org.time_zone),
                e.actor.clone().unwrap_or_else(|| "promoterd".into()),
                e.action.clone(),
                e.detail.clone(),
            ]);
        }
        let mut reply = Reply::default().titled(title).with(Block::Table(t));
        if total > entries.len() as i64 {
            reply = reply.line(format!("The newest {} of {total} entries.", entries.len()));
        }
        Ok(reply)
    }
}
