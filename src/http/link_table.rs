//! The tracking links in memory: built in full at start off to the side and swapped
//! in, then updated link by link from the link log, as soon as this process commits a
//! change and every few seconds for the changes of other processes.

mod table;

pub use table::CachedLink;
use table::Table;
pub(super) use table::target;

use crate::domain::{EventId, LinkId};
use crate::metrics::Metrics;
use crate::store::{EventPage, LinkChange, LinkTableHead, LiveLink, Store, StoreResult};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// Live codes → targets.
#[derive(Debug)]
pub struct LinkCache {
    table: RwLock<Table>,
    /// Codes known not to exist, so a flood of made-up codes does not reach the database.
    misses: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Database lookups of codes the table does not hold, rationed.
    lookups: std::sync::Mutex<Ration>,
    /// Counts the table's updates: a lookup that raced one does not put back what the
    /// update just took out.
    generation: AtomicU64,
    /// The link log's last row the table has applied (-1: not built yet).
    log_at: AtomicI64,
}

/// Link log rows applied one scope at a time in one look; a look that finds this
/// many rebuilds the table instead (a bulk change elsewhere).
const LOG_BATCH: i64 = 2048;
/// Link log rows kept for daemons that are behind; past twice this many, the oldest
/// go, a chunk at each look that applies rows.
const LOG_KEEP: i64 = 10_000;
const LOG_PRUNE_CHUNK: i64 = 5_000;

/// Most unknown codes remembered between reloads.
const MAX_MISSES: usize = 50_000;

/// Codes not in the table are looked up in the database at most this many times a
/// second (and as many at once): a flood of distinct made-up codes costs the database
/// nothing beyond that, and known codes, served from memory, never wait for it. A link
/// created outside this daemon (the console) is in the table at the next reload anyway.
pub const LOOKUPS_PER_SECOND: f64 = 20.0;

/// A token bucket: `LOOKUPS_PER_SECOND` tokens a second, at most that many stored.
#[derive(Debug)]
struct Ration {
    tokens: f64,
    at: std::time::Instant,
}

impl Default for Ration {
    fn default() -> Self {
        Ration {
            tokens: LOOKUPS_PER_SECOND,
            at: std::time::Instant::now(),
        }
    }
}

impl Ration {
    /// Takes a token if one is there.
    fn take(&mut self, now: std::time::Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * LOOKUPS_PER_SECOND;
        self.tokens = (self.tokens + refill).min(LOOKUPS_PER_SECOND);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Default for LinkCache {
    fn default() -> Self {
        LinkCache {
            table: Default::default(),
            misses: Default::default(),
            lookups: Default::default(),
            generation: AtomicU64::new(0),
            log_at: AtomicI64::new(-1),
        }
    }
}

impl LinkCache {
    /// Applies the link log's rows past the last one applied (changes made by any
    /// process) to just the links they name; returns how many rows it applied. Rebuilds
    /// the whole table instead when the rows it would need were pruned or are too many
    /// to apply one by one. `kind` names why it looked, for the metric.
    pub async fn follow_log(&self, store: &Store, metrics: &Metrics, kind: &'static str) -> StoreResult<usize> {
        let at = self.log_at.load(Ordering::Acquire);
        let rows = store.link_log_after(at, LOG_BATCH).await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            metrics.link_table_update("unchanged");
            return Ok(0);
        };
        let start = store.link_log_start().await?.unwrap_or(last);
        if start > at + 1 || rows.len() as i64 >= LOG_BATCH {
            self.reload(store, metrics).await?;
            return Ok(rows.len());
        }
        let gone: Vec<&str> = rows.iter().filter_map(|r| r.gone_code.as_deref()).collect();
        if !gone.is_empty() {
            let mut table = self.table.write().expect("link table lock");
            for code in gone {
                table.remove(code);
            }
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        let mut scopes: Vec<LinkChange> = Vec::new();
        for change in rows.iter().filter_map(|r| r.change()) {
            if !scopes.contains(&change) {
                scopes.push(change);
            }
        }
        self.update(store, metrics, &scopes, kind).await?;
        self.log_at.fetch_max(last, Ordering::AcqRel);
        if last - start >= 2 * LOG_KEEP {
            store.prune_link_log(LOG_KEEP, LOG_PRUNE_CHUNK).await?;
        }
        Ok(rows.len())
    }

    /// Replaces the table with every live link of the database. The new table is
    /// built beside the one serving, from the rows as they come, and swapped in at
    /// once; the old one is dropped on a blocking thread.
    pub async fn reload(&self, store: &Store, metrics: &Metrics) -> StoreResult<usize> {
        struct Build {
            table: Table,
            pages: HashMap<EventId, EventPage>,
            vouchers: std::collections::HashSet<LinkId>,
            log_at: i64,
        }
        let capacity = self.table.read().expect("link table lock").len();
        let start = |head: LinkTableHead| Build {
            table: Table::with_capacity(capacity),
            pages: head.pages.into_iter().map(|p| (p.event_id, p)).collect(),
            vouchers: head.vouchers.into_iter().collect(),
            log_at: head.log_at,
        };
        let each = |b: &mut Build, l: LiveLink| {
            let voucher_live = b.vouchers.contains(&l.link_id);
            let pages = &b.pages;
            let page = || {
                let p = pages.get(&l.event_id)?;
                target(&p.ticket_url, p.checkout, voucher_live)
            };
            b.table.put_with(l.link_id, &l.code, l.event_id, voucher_live, page);
        };
        let Build {
            table: fresh, log_at, ..
        } = store.read_live_links(start, each).await?;
        let n = fresh.len();
        let old = {
            let mut table = self.table.write().expect("link table lock");
            let old = std::mem::replace(&mut *table, fresh);
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.log_at.store(log_at, Ordering::Release);
            old
        };
        self.misses.lock().expect("miss cache lock").clear();
        metrics.set_links_cached(n);
        metrics.link_table_update("rebuild");
        // Freeing 100k codes takes milliseconds: not on a thread that serves redirects.
        // Then what the build and the old table used goes back to the system.
        drop(tokio::task::spawn_blocking(move || {
            drop(old);
            crate::memory::give_back();
        }));
        Ok(n)
    }

    /// Applies changes: reads just the links they may have touched and puts each in or
    /// takes it out.
    async fn update(
        &self,
        store: &Store,
        metrics: &Metrics,
        changes: &[LinkChange],
        kind: &'static str,
    ) -> StoreResult<usize> {
        let mut states = Vec::new();
        for &change in changes {
            states.extend(store.link_states(change).await?);
        }
        let live: Vec<&str> = states
            .iter()
            .filter(|s| s.live)
            .map(|s| s.target.code.as_str())
            .collect();
        if !live.is_empty() {
            let mut misses = self.misses.lock().expect("miss cache lock");
            for code in live {
                misses.remove(code);
            }
        }
        let size = {
            let mut table = self.table.write().expect("link table lock");
            for &change in changes {
                if let LinkChange::Event(e) = change {
                    table.forget_event(e);
                }
            }
            for s in &states {
                if s.live {
                    table.put(&s.target);
                } else {
                    table.remove(&s.target.code);
                }
            }
            self.generation.fetch_add(1, Ordering::AcqRel);
            table.len()
        };
        metrics.set_links_cached(size);
        metrics.link_table_update(kind);
        Ok(states.len())
    }

    /// The target of a code; a code the table does not hold asks the database once
    /// (links created elsewhere), within [`LOOKUPS_PER_SECOND`].
    pub async fn get(&self, code: &str, store: &Store, metrics: &Metrics) -> StoreResult<Option<CachedLink>> {
        if let Some(hit) = self.table.read().expect("link table lock").get(code) {
            return Ok(Some(hit));
        }
        if self.misses.lock().expect("miss cache lock").contains(code) {
            return Ok(None);
        }
        if !self
            .lookups
            .lock()
            .expect("lookup ration lock")
            .take(std::time::Instant::now())
        {
            // Not remembered as a miss: it was not asked, so it may exist.
            metrics.link_lookup("throttled");
            return Ok(None);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(t) = store.live_link_target(code).await? else {
            metrics.link_lookup("unknown");
            let mut misses = self.misses.lock().expect("miss cache lock");
            if misses.len() >= MAX_MISSES {
                misses.clear();
            }
            misses.insert(code.to_string());
            return Ok(None);
        };
        metrics.link_lookup("found");
        let mut table = self.table.write().expect("link table lock");
        // An update since the read knows better (the link may be revoked by now, or its
        // event moved to another page): this answer is served once and nothing is kept.
        if self.generation.load(Ordering::Acquire) == generation {
            Ok(table.put(&t))
        } else {
            let target = target(&t.ticket_url, t.checkout, t.voucher_live);
            Ok(target.map(|target| CachedLink {
                link_id: t.link_id,
                target: Arc::new(target),
            }))
        }
    }
}

/// Follows the link log: at once when this process commits a link change, or (on
/// PostgreSQL) another daemon notifies one, and every `every` for the changes of other
/// processes (the console on SQLite).
pub(super) async fn refresher(
    cache: Arc<LinkCache>,
    events: Arc<crate::ingest::EventCache>,
    store: Store,
    metrics: Arc<Metrics>,
    every: Duration,
    after: Arc<Notify>,
) {
    let changes = store.link_changes().clone();
    // Dropped (stopping it) when this task ends or is aborted.
    let _listening = match store.listen_for_link_changes().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "link changes: cannot listen on PostgreSQL; other daemons' changes arrive at the next look");
            None
        }
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let kind = tokio::select! {
            _ = tick.tick() => "log",
            _ = changes.next() => "change",
        };
        // Event names and shops may have changed too: the webhook resolves them again.
        events.clear();
        match cache.follow_log(&store, &metrics, kind).await {
            // The shops' vouchers follow a change of the links, whoever made it.
            Ok(rows) if rows > 0 || kind == "change" => after.notify_one(),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading tracking links failed; serving the previous table"),
        }
    }
}
