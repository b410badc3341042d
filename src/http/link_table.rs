//! The tracking links in memory: rebuilt in full now and then off the serving threads,
//! and updated link by link from the changes the store announces after each commit.

use super::redirect::target_url_with;
use crate::domain::{LinkId, RefStyle, Shop};
use crate::metrics::Metrics;
use crate::store::{LinkChange, LinkState, Store, StoreResult};
use axum::http::HeaderValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use url::Url;

/// A live link as the redirect needs it.
#[derive(Debug)]
pub struct CachedLink {
    pub link_id: LinkId,
    /// The event's ticket page without any `ref` parameter.
    pub base: Url,
    /// The redirect target when the visitor's request has no query string.
    pub plain_target: HeaderValue,
    /// The query parameter that carries the code to the event's shop.
    pub param: &'static str,
}

/// Live codes → targets.
#[derive(Debug, Default)]
pub struct LinkCache {
    map: RwLock<HashMap<String, Arc<CachedLink>>>,
    /// Codes known not to exist, so a flood of made-up codes does not reach the database.
    misses: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Database lookups of codes the table does not hold, rationed.
    lookups: std::sync::Mutex<Ration>,
    /// The highest link id read by a rebuild or a scan for new links: links past it
    /// are the ones created since.
    seen: AtomicI64,
    /// Counts the table's updates: a lookup that raced one does not put back what the
    /// update just took out.
    generation: AtomicU64,
}

/// Most unknown codes remembered between reloads.
const MAX_MISSES: usize = 50_000;

/// Changed links parsed on the calling task up to this many; more go to a blocking
/// thread (a new ticket page for an event of thousands of links).
const INLINE_PARSE: usize = 64;

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

pub(super) fn cached(
    link_id: LinkId,
    code: &str,
    ticket_url: &str,
    shop: Shop,
    voucher_live: bool,
) -> Option<CachedLink> {
    let mut base = Url::parse(ticket_url).ok()?;
    // A pretix link opens the voucher page once its voucher exists, the event page before.
    let style = match shop.ref_style() {
        RefStyle::Voucher if !voucher_live => RefStyle::Param("ref"),
        style => style,
    };
    let param = match style {
        RefStyle::Param(p) => p,
        RefStyle::Voucher => {
            // pretix: `<event page>/redeem?voucher=<code>`.
            let path = format!("{}/redeem", base.path().trim_end_matches('/'));
            base.set_path(&path);
            "voucher"
        }
    };
    let pairs: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| k != "ref" && k != param)
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    if pairs.is_empty() {
        base.set_query(None);
    } else {
        base.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let plain_target = HeaderValue::try_from(target_url_with(&base, None, code, param)).ok()?;
    Some(CachedLink {
        link_id,
        base,
        plain_target,
        param,
    })
}

/// A changed link as the table takes it: its code, id, and target when it redirects.
type Built = Vec<(String, LinkId, Option<Arc<CachedLink>>)>;

fn build(states: Vec<LinkState>) -> Built {
    states
        .into_iter()
        .map(|s| {
            let t = s.target;
            let c = s
                .live
                .then(|| cached(t.link_id, &t.code, &t.ticket_url, t.checkout, t.voucher_live))
                .flatten()
                .map(Arc::new);
            (t.code, t.link_id, c)
        })
        .collect()
}

impl LinkCache {
    /// Replaces the table with every live link of the database. The new table (every
    /// ticket page parsed as a URL) is built on a blocking thread, not on a thread that
    /// serves redirects, and swapped in at once.
    pub async fn reload(&self, store: &Store, metrics: &Metrics) -> StoreResult<usize> {
        let targets = store.live_link_targets().await?;
        let seen = targets.iter().map(|t| t.link_id.0).max().unwrap_or(0);
        let build = move || -> HashMap<String, Arc<CachedLink>> {
            targets
                .into_iter()
                .filter_map(|t| {
                    cached(t.link_id, &t.code, &t.ticket_url, t.checkout, t.voucher_live).map(|c| (t.code, Arc::new(c)))
                })
                .collect()
        };
        let map = match tokio::task::spawn_blocking(build).await {
            Ok(map) => map,
            // A panic while building (a bug) or the runtime shutting down: the table there
            // is keeps serving, and the refresher lives on to try again.
            Err(e) => {
                tracing::error!(error = %e, "building the link table failed; serving the previous one");
                return Ok(self.map.read().expect("link cache lock").len());
            }
        };
        let n = map.len();
        {
            let mut table = self.map.write().expect("link cache lock");
            *table = map;
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.seen.fetch_max(seen, Ordering::AcqRel);
        }
        self.misses.lock().expect("miss cache lock").clear();
        metrics.set_links_cached(n);
        Ok(n)
    }

    /// Applies announced changes: reads just the links they may have touched (and the
    /// links created since the last look) and puts each in or takes it out.
    pub async fn update(&self, store: &Store, metrics: &Metrics, changes: &[LinkChange]) -> StoreResult<usize> {
        let after = LinkId(self.seen.load(Ordering::Acquire));
        let mut states = Vec::new();
        let mut created_up_to = None;
        for &change in changes {
            let read = store.link_states(change, after).await?;
            if change == LinkChange::Created {
                created_up_to = read.iter().map(|s| s.target.link_id.0).max();
            }
            states.extend(read);
        }
        let n = states.len();
        let built = if n <= INLINE_PARSE {
            build(states)
        } else {
            match tokio::task::spawn_blocking(move || build(states)).await {
                Ok(built) => built,
                Err(e) => {
                    tracing::error!(error = %e, "building changed links failed; the next rebuild takes them");
                    return Ok(0);
                }
            }
        };
        let live: Vec<&str> = built.iter().filter(|b| b.2.is_some()).map(|b| b.0.as_str()).collect();
        if !live.is_empty() {
            let mut misses = self.misses.lock().expect("miss cache lock");
            for code in live {
                misses.remove(code);
            }
        }
        let size = {
            let mut table = self.map.write().expect("link cache lock");
            for (code, _, target) in built {
                match target {
                    Some(t) => table.insert(code, t),
                    None => table.remove(&code),
                };
            }
            self.generation.fetch_add(1, Ordering::AcqRel);
            if let Some(id) = created_up_to {
                self.seen.fetch_max(id, Ordering::AcqRel);
            }
            table.len()
        };
        metrics.set_links_cached(size);
        Ok(n)
    }

    /// The target of a code; a code the table does not hold asks the database once
    /// (links created elsewhere), within [`LOOKUPS_PER_SECOND`].
    pub async fn get(&self, code: &str, store: &Store, metrics: &Metrics) -> StoreResult<Option<Arc<CachedLink>>> {
        if let Some(hit) = self.map.read().expect("link cache lock").get(code) {
            return Ok(Some(hit.clone()));
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
        let Some(c) = cached(t.link_id, &t.code, &t.ticket_url, t.checkout, t.voucher_live).map(Arc::new) else {
            return Ok(None);
        };
        let mut table = self.map.write().expect("link cache lock");
        // An update since the read knows better (the link may be revoked by now).
        if self.generation.load(Ordering::Acquire) == generation {
            table.insert(t.code, c.clone());
        }
        Ok(Some(c))
    }
}

/// Applies the store's link changes as they are committed, and rebuilds the whole
/// table every `every` (for changes made by another process: the console).
pub(super) async fn refresher(
    cache: Arc<LinkCache>,
    events: Arc<crate::ingest::EventCache>,
    store: Store,
    metrics: Arc<Metrics>,
    every: Duration,
    after: Arc<Notify>,
) {
    let changes = store.link_changes().clone();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let pending = tokio::select! {
            _ = tick.tick() => None,
            p = changes.next() => Some(p),
        };
        // Event names and shops may have changed too: the webhook resolves them again.
        events.clear();
        let done = match &pending {
            Some(p) if !p.everything => cache.update(&store, &metrics, &p.scopes).await.map(|_| ()),
            _ => cache.reload(&store, &metrics).await.map(|_| ()),
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "reading tracking links failed; serving the previous table");
        }
        if pending.is_some() {
            after.notify_one(); // the shops' vouchers follow a change of the links
        }
    }
}
