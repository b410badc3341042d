//! Time: an injectable clock and the one text format times are stored in.

use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where "now" comes from: the system clock, or a fixed/settable one in tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that stays at `t` until moved with [`Clock::advance`].
    pub fn fixed(t: DateTime<Utc>) -> Self {
        Self {
            fixed: Some(Arc::new(AtomicI64::new(t.timestamp_millis()))),
        }
    }

    /// Moves a fixed clock forward; no effect on the system clock.
    pub fn advance(&self, by: chrono::Duration) {
        if let Some(f) = &self.fixed {
            f.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.fixed {
            Some(f) => DateTime::from_timestamp_millis(f.load(Ordering::SeqCst)).unwrap_or_default(),
            None => Utc::now(),
        }
    }
}

/// The stored form of a time: RFC 3339, UTC, whole seconds (sorts as text).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored time with milliseconds, for ordering the checkout's updates.
pub fn ts_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a stored time strictly: RFC 3339 or an error (the store reports it as corrupt).
pub fn parse_stored(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}
