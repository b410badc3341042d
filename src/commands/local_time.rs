//! Times as replies show them, in the organization's time zone (typed ones are read by
//! [`super::args::When`]).

use chrono::{DateTime, Utc};

/// A UTC time on the clock of a time zone, without naming it: `2027-06-01 18:00`
/// (for a table whose header names the zone).
pub fn local_clock(t: &DateTime<Utc>, tz_name: &str) -> String {
    match tz_name.parse::<chrono_tz::Tz>() {
        Ok(tz) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        Err(_) => t.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// Shows a UTC time in a time zone: `2027-06-01 18:00 (Europe/Berlin)`.
pub fn local_time(t: &DateTime<Utc>, tz_name: &str) -> String {
    let zone = if tz_name.parse::<chrono_tz::Tz>().is_ok() {
        format!("({tz_name})")
    } else {
        "UTC".into()
    };
    format!("{} {zone}", local_clock(t, tz_name))
}
