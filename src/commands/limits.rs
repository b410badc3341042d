//! A per-sender command limit: one chat account or address cannot flood the bot.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A sliding one-minute window per sender.
#[derive(Debug, Default)]
pub struct RateLimiter {
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// Counts a command of `who`; false when they are over `per_minute`.
    pub fn allow(&self, who: &str, per_minute: u32, now: Instant) -> bool {
        if per_minute == 0 {
            return true;
        }
        let mut seen = self.seen.lock().expect("rate limiter lock");
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = seen.entry(who.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_over_the_limit_waits_for_the_next_minute() {
        let l = RateLimiter::default();
        let t = Instant::now();
        assert!((0..3).all(|_| l.allow("tg:1", 3, t)));
        assert!(!l.allow("tg:1", 3, t));
        assert!(l.allow("tg:2", 3, t), "others are not affected");
        assert!(l.allow("tg:1", 3, t + Duration::from_secs(61)));
    }
}
