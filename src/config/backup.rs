//! `[backup]`: where scheduled backups go, how often, and how many are kept.

use serde::Deserialize;
use std::path::PathBuf;

/// `[backup]`: scheduled online backups, rotated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Directory of scheduled backups (relative: from the config's directory); empty: none.
    pub dir: PathBuf,
    /// Time between backups: a whole number with `m`, `h` or `d` (`30m`, `6h`, `1d`).
    pub every: String,
    /// Scheduled backups kept; older ones are deleted after a new one checks out.
    pub keep: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: PathBuf::new(),
            every: "1d".into(),
            keep: 7,
        }
    }
}

/// Reads `30m`, `6h` or `1d`: at least one minute, at most a year.
pub fn parse_every(s: &str) -> Option<std::time::Duration> {
    let unit = s.chars().last()?;
    let n = &s[..s.len() - unit.len_utf8()];
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    let minutes = match unit {
        'm' => n,
        'h' => n.checked_mul(60)?,
        'd' => n.checked_mul(24 * 60)?,
        _ => return None,
    };
    (minutes <= 366 * 24 * 60).then(|| std::time::Duration::from_secs(minutes * 60))
}
