//! How long a sender holds the outbox rows it claims, and the rule that keeps a slow
//! sender from sending past its claim, after which another daemon may take the row.

use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::time::Instant;

/// How long a claim holds its rows. A daemon that dies holding claims delays those
/// messages by at most this long: then any daemon's sender claims them again.
pub const HOLD: Duration = Duration::from_secs(30);

/// The longest one message's send may take before it counts as a failed attempt; a
/// send starts only while at least this much of its claim is left, so no sender is
/// still sending a message when its claim lapses.
pub const SEND_LIMIT: Duration = Duration::from_secs(10);

/// A claim being worked through: its end as stored, and as this process's monotonic
/// clock sees it (a wall clock set back cannot stretch it).
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    until: DateTime<Utc>,
    deadline: Instant,
}

impl Claim {
    /// A claim made at `now` (the core's clock) for [`HOLD`].
    pub fn new(now: DateTime<Utc>) -> Claim {
        Claim {
            until: now + chrono::Duration::from_std(HOLD).unwrap_or_default(),
            deadline: Instant::now() + HOLD,
        }
    }

    /// The end of the claim, as stored with the rows.
    pub fn until(&self) -> DateTime<Utc> {
        self.until
    }

    /// Whether a send may still start: it ends, at the latest, before the claim does.
    pub fn may_start(&self) -> bool {
        Instant::now() + SEND_LIMIT <= self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending_in(left: Duration) -> Claim {
        Claim {
            until: Utc::now(),
            deadline: Instant::now() + left,
        }
    }

    #[test]
    fn a_send_starts_only_while_it_can_end_inside_the_claim() {
        assert!(Claim::new(Utc::now()).may_start(), "a fresh claim");
        assert!(ending_in(SEND_LIMIT + Duration::from_secs(5)).may_start());
        assert!(
            !ending_in(SEND_LIMIT - Duration::from_secs(1)).may_start(),
            "a send starting now could outlast the claim"
        );
    }
}
