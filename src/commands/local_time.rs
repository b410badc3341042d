//! Times as organizers type them and as replies show them, in the organization's time zone.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Parses `2027-06-01 18:00` (in the organization's time zone) or an RFC 3339 time.
pub fn parse_local_time(s: &str, tz_name: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let tz: chrono_tz::Tz = tz_name.parse().ok()?;
    let s = s.replace('T', " ");
    let naive = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// A stored UTC time on the clock of a time zone, without naming it: `2027-06-01 18:00`
/// (for a table whose header names the zone).
pub fn local_clock(stored: &str, tz_name: &str) -> String {
    let t = crate::clock::parse_ts(stored);
    match tz_name.parse::<chrono_tz::Tz>() {
        Ok(tz) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        Err(_) => t.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// Shows a stored UTC time in a time zone: `2027-06-01 18:00 (Europe/Berlin)`.
pub fn local_time(stored: &str, tz_name: &str) -> String {
    let zone = if tz_name.parse::<chrono_tz::Tz>().is_ok() {
        format!("({tz_name})")
    } else {
        "UTC".into()
    };
    format!("{} {zone}", local_clock(stored, tz_name))
}
