//! The click writer: clicks arrive through a bounded channel and are committed in
//! batches, aggregated per link and day.

use crate::metrics::Metrics;
use crate::store::{ClickBatch, Store};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One counted click.
#[derive(Debug, Clone)]
pub struct Click {
    pub link_id: i64,
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Keyed hash of address and user agent for that day.
    pub visitor: [u8; 16],
}

/// How long the writer waits for more clicks before committing a batch.
const LINGER: Duration = Duration::from_millis(5);
/// Most clicks in one transaction.
const MAX_BATCH: usize = 20_000;

/// The visitor hash: HMAC-SHA256 over day, address and user agent, truncated. The
/// address itself is never stored, and hashes of different days cannot be linked.
pub fn visitor_hash(key: &[u8; 32], day: &str, ip: &str, user_agent: &str) -> [u8; 16] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in [day, ip, user_agent] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Clicks and distinct visitors of one link and day.
type Tally = (i64, HashSet<[u8; 16]>);

fn aggregate(clicks: &[Click]) -> ClickBatch {
    let mut by_key: HashMap<(i64, &str), Tally> = HashMap::new();
    for c in clicks {
        let e = by_key.entry((c.link_id, c.day.as_str())).or_default();
        e.0 += 1;
        e.1.insert(c.visitor);
    }
    ClickBatch {
        rows: by_key
            .into_iter()
            .map(|((link, day), (n, v))| (link, day.to_string(), n, v.into_iter().collect()))
            .collect(),
    }
}

/// Runs until every sender is gone and the buffer is empty.
pub(super) async fn writer(store: Store, mut rx: mpsc::Receiver<Click>, metrics: Arc<Metrics>) {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if rx.recv_many(&mut buf, MAX_BATCH).await == 0 {
            break;
        }
        // Let a burst fill the batch instead of committing click by click.
        tokio::time::sleep(LINGER).await;
        while buf.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => buf.push(c),
                Err(_) => break,
            }
        }
        let batch = aggregate(&buf);
        let mut attempt = 0;
        loop {
            match store.record_clicks(&batch).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "writing clicks failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, clicks = buf.len(), "writing clicks failed; these clicks are lost");
                    for _ in 0..buf.len() {
                        metrics.click("lost");
                    }
                    break;
                }
            }
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_hash_depends_on_key_day_address_and_agent() {
        let k = [7u8; 32];
        let a = visitor_hash(&k, "2026-11-23", "203.0.113.5", "UA");
        assert_eq!(a, visitor_hash(&k, "2026-11-23", "203.0.113.5", "UA"));
        assert_ne!(a, visitor_hash(&k, "2026-11-24", "203.0.113.5", "UA"));
        assert_ne!(a, visitor_hash(&k, "2026-11-23", "203.0.113.6", "UA"));
        assert_ne!(a, visitor_hash(&[8u8; 32], "2026-11-23", "203.0.113.5", "UA"));
    }

    #[test]
    fn batches_aggregate_per_link_and_day() {
        let c = |link, day: &str, v: u8| Click {
            link_id: link,
            day: day.into(),
            visitor: [v; 16],
        };
        let mut rows = aggregate(&[c(1, "d1", 1), c(1, "d1", 1), c(1, "d1", 2), c(2, "d1", 1)]).rows;
        rows.sort_by_key(|r| r.0);
        assert_eq!(rows[0].2, 3);
        assert_eq!(rows[0].3.len(), 2);
        assert_eq!(rows[1].2, 1);
    }
}
