//! How long a sender holds the outbox rows it claims, and the rule that keeps a slow
//! sender from sending past its claim, after which another daemon may take the row.

use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::time::Instant;

/// How long a sender's claims last and how long one send may take.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// How long a claim holds its rows. A daemon that dies holding claims delays those
    /// messages by at most this long: then any daemon's sender claims them again.
    pub hold: Duration,
    /// The longest one message's send may take before it counts as a failed attempt; a
    /// send starts only while this much of its claim (and [`MARGIN`]) is left, so no
    /// sender is still sending a message, or recording it, when its claim lapses.
    pub send_limit: Duration,
}

/// Email: an SMTP hand-off takes milliseconds to seconds.
pub const EMAIL: Rules = Rules {
    hold: Duration::from_secs(60),
    send_limit: Duration::from_secs(20),
};

/// Chat: a send may wait out Telegram's or Discord's rate limit first.
pub const CHAT: Rules = Rules {
    hold: Duration::from_secs(120),
    send_limit: Duration::from_secs(45),
};

/// Kept free at a claim's end: stored times are whole seconds (a claim may end up to
/// 1 s earlier in the database than here), and a send's outcome is recorded after it.
pub const MARGIN: Duration = Duration::from_secs(3);

/// A claim being worked through: its end as stored, and as this process's monotonic
/// clock sees it (a wall clock set back cannot stretch it).
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    until: DateTime<Utc>,
    deadline: Instant,
    send_limit: Duration,
}

impl Claim {
    /// A claim made at `now` (the core's clock) under `rules`.
    pub fn new(now: DateTime<Utc>, rules: Rules) -> Claim {
        Claim {
            until: now + chrono::Duration::from_std(rules.hold).unwrap_or_default(),
            deadline: Instant::now() + rules.hold,
            send_limit: rules.send_limit,
        }
    }

    /// The end of the claim, as stored with the rows.
    pub fn until(&self) -> DateTime<Utc> {
        self.until
    }

    /// The longest one send may take.
    pub fn send_limit(&self) -> Duration {
        self.send_limit
    }

    /// Whether a send may still start: it ends and is recorded, at the latest, before
    /// the claim does.
    pub fn may_start(&self) -> bool {
        Instant::now() + self.send_limit + MARGIN <= self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending_in(left: Duration) -> Claim {
        Claim {
            until: Utc::now(),
            deadline: Instant::now() + left,
            send_limit: EMAIL.send_limit,
        }
    }

    #[test]
    fn a_send_starts_only_while_it_can_end_inside_the_claim() {
        for rules in [EMAIL, CHAT] {
            assert!(rules.hold > rules.send_limit + MARGIN, "{rules:?}");
            assert!(Claim::new(Utc::now(), rules).may_start(), "a fresh claim");
        }
        assert!(ending_in(EMAIL.send_limit + MARGIN + Duration::from_secs(5)).may_start());
        assert!(
            !ending_in(EMAIL.send_limit + MARGIN - Duration::from_secs(1)).may_start(),
            "a send starting now could outlast the claim"
        );
    }
}
