//! The click writer: clicks arrive through a bounded channel and are committed in
//! batches, aggregated per link and day.

use crate::domain::LinkId;
use crate::metrics::Metrics;
use crate::store::{ClickBatch, Store};
use crate::text::FastHash;
use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One counted click.
#[derive(Debug, Clone)]
pub struct Click {
    pub link_id: LinkId,
    /// The UTC day.
    pub day: NaiveDate,
    /// Keyed hash of address and user agent for that day.
    pub visitor: [u8; 16],
}

/// How long the writer waits for more clicks before committing a batch.
const LINGER: Duration = Duration::from_millis(20);
/// Most clicks in one transaction.
const MAX_BATCH: usize = 20_000;

/// The secret of the visitor hash, keyed once: HMAC-SHA256 over day, address and user
/// agent, truncated. The address itself is never stored, and hashes of different days
/// cannot be linked.
#[derive(Clone)]
pub struct VisitorKey(Hmac<Sha256>);

impl std::fmt::Debug for VisitorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitorKey(..)")
    }
}

impl VisitorKey {
    pub fn new(key: &[u8; 32]) -> Self {
        VisitorKey(Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length"))
    }

    /// The visitor hash of `day` (`YYYY-MM-DD`), `ip` and `user_agent`.
    pub fn hash(&self, day: &str, ip: &str, user_agent: &str) -> [u8; 16] {
        let mut mac = self.0.clone();
        for part in [day, ip, user_agent] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

/// Clicks and distinct visitors of one link and day.
type Tally = (i64, HashSet<[u8; 16], FastHash>);

fn aggregate(clicks: &[Click]) -> ClickBatch {
    let mut by_key: HashMap<(LinkId, NaiveDate), Tally, FastHash> = HashMap::default();
    for c in clicks {
        let e = by_key.entry((c.link_id, c.day)).or_default();
        e.0 += 1;
        e.1.insert(c.visitor);
    }
    ClickBatch {
        rows: by_key
            .into_iter()
            .map(|((link, day), (n, v))| (link, day.format("%Y-%m-%d").to_string(), n, v.into_iter().collect()))
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
        let k = VisitorKey::new(&[7u8; 32]);
        let a = k.hash("2026-11-23", "203.0.113.5", "UA");
        assert_eq!(a, k.hash("2026-11-23", "203.0.113.5", "UA"));
        assert_ne!(a, k.hash("2026-11-24", "203.0.113.5", "UA"));
        assert_ne!(a, k.hash("2026-11-23", "203.0.113.6", "UA"));
        assert_ne!(a, VisitorKey::new(&[8u8; 32]).hash("2026-11-23", "203.0.113.5", "UA"));
        // Part boundaries count: ("ab", "c") is not ("a", "bc").
        assert_ne!(k.hash("d", "ab", "c"), k.hash("d", "a", "bc"));
    }

    #[test]
    fn batches_aggregate_per_link_and_day() {
        let d1 = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let d2 = d1.succ_opt().unwrap();
        let c = |link, day, v: u8| Click {
            link_id: link,
            day,
            visitor: [v; 16],
        };
        let mut rows = aggregate(&[
            c(LinkId(1), d1, 1),
            c(LinkId(1), d1, 1),
            c(LinkId(1), d1, 2),
            c(LinkId(2), d1, 1),
            c(LinkId(2), d2, 1),
        ])
        .rows;
        rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        assert_eq!((rows[0].1.as_str(), rows[0].2, rows[0].3.len()), ("2026-11-23", 3, 2));
        assert_eq!((rows[1].1.as_str(), rows[1].2), ("2026-11-23", 1));
        assert_eq!((rows[2].1.as_str(), rows[2].2), ("2026-11-24", 1));
    }
}
