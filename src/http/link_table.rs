//! The tracking links in memory: rebuilt in full now and then off to the side and
//! swapped in, and updated link by link from the changes the store announces.

use super::redirect::target_url_with;
use crate::domain::{EventId, LinkId, RefStyle, Shop};
use crate::metrics::Metrics;
use crate::store::{EventPage, LinkChange, LinkTarget, LiveLink, Store, StoreResult};
use axum::http::HeaderValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use url::Url;

/// Where an event's links lead: one per ticket page and shop, shared by its links.
#[derive(Debug)]
pub struct Target {
    /// The event's ticket page without any `ref` parameter.
    pub base: Url,
    /// The query parameter that carries the code to the event's shop.
    pub param: &'static str,
    /// The redirect target without a visitor's query, up to the code; `None` when the
    /// code does not go last (a ticket page with a `#fragment`).
    prefix: Option<String>,
}

impl Target {
    /// The redirect target of `code` (letters and digits) when the visitor sent no query.
    pub fn plain(&self, code: &str) -> Option<HeaderValue> {
        let url = match &self.prefix {
            Some(prefix) => {
                let mut s = String::with_capacity(prefix.len() + code.len());
                s.push_str(prefix);
                s.push_str(code);
                s
            }
            None => target_url_with(&self.base, None, code, self.param),
        };
        HeaderValue::from_maybe_shared(axum::body::Bytes::from(url)).ok()
    }
}

/// A live link as the redirect needs it: 16 bytes next to its code in the table.
#[derive(Debug, Clone)]
pub struct CachedLink {
    pub link_id: LinkId,
    pub target: Arc<Target>,
}

/// Where links to `ticket_url` at `shop` lead; `None` when the page is not a valid address.
pub(super) fn target(ticket_url: &str, shop: Shop, voucher_live: bool) -> Option<Target> {
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
    // Every code's target is the same text up to the code, which goes last.
    const MARK: &str = "0promoterdcode0";
    let sample = target_url_with(&base, None, MARK, param);
    HeaderValue::try_from(sample.as_str()).ok()?;
    let prefix = sample
        .strip_suffix(MARK)
        .filter(|p| p.ends_with('='))
        .map(str::to_string);
    Some(Target { base, param, prefix })
}

/// A code of up to 16 bytes held inline (link codes have 8): no allocation per link.
/// Codes are letters and digits, so the zero padding cannot be part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Short([u8; 16]);

impl Short {
    fn of(code: &str) -> Option<Short> {
        let mut key = [0; 16];
        key.get_mut(..code.len())?.copy_from_slice(code.as_bytes());
        Some(Short(key))
    }
}

/// A link in the table: its id and which shared target it leads to.
#[derive(Debug, Clone, Copy)]
struct Entry {
    link_id: LinkId,
    target: u32,
}

/// The table: codes, and the targets their links share (a handful per event).
/// About 33 bytes a link (100k links: 4 MB).
#[derive(Debug, Default)]
struct Table {
    short: HashMap<Short, Entry>,
    /// Codes longer than 16 bytes (none that promoterd makes).
    long: HashMap<Box<str>, Entry>,
    targets: Vec<Arc<Target>>,
    /// Targets by event and voucher state (`None`: the page is not a valid address).
    pages: HashMap<(EventId, bool), Option<u32>>,
}

impl Table {
    fn with_capacity(links: usize) -> Table {
        Table {
            short: HashMap::with_capacity(links),
            ..Table::default()
        }
    }

    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    fn get(&self, code: &str) -> Option<CachedLink> {
        let e = match Short::of(code) {
            Some(k) => self.short.get(&k),
            None => self.long.get(code),
        }?;
        Some(CachedLink {
            link_id: e.link_id,
            target: self.targets[e.target as usize].clone(),
        })
    }

    fn remove(&mut self, code: &str) {
        match Short::of(code) {
            Some(k) => self.short.remove(&k),
            None => self.long.remove(code),
        };
    }

    /// The shared target of an event's links, made on first use from its page.
    fn target(&mut self, event: EventId, voucher_live: bool, page: impl FnOnce() -> Option<Target>) -> Option<u32> {
        if let Some(known) = self.pages.get(&(event, voucher_live)) {
            return *known;
        }
        let made = page().and_then(|t| {
            let i = u32::try_from(self.targets.len()).ok()?;
            self.targets.push(Arc::new(t));
            Some(i)
        });
        self.pages.insert((event, voucher_live), made);
        made
    }

    /// Forgets where an event's links lead (its page or shop changed).
    fn forget_event(&mut self, event: EventId) {
        self.pages.remove(&(event, false));
        self.pages.remove(&(event, true));
    }

    /// Puts a live link in; `None` when it cannot redirect (its page is not a valid
    /// address, or its code is not one the redirect ever asks for).
    fn put(&mut self, t: &LinkTarget) -> Option<CachedLink> {
        let page = || target(&t.ticket_url, t.checkout, t.voucher_live);
        self.put_with(t.link_id, &t.code, t.event_id, t.voucher_live, page)
    }

    fn put_with(
        &mut self,
        link_id: LinkId,
        code: &str,
        event: EventId,
        voucher_live: bool,
        page: impl FnOnce() -> Option<Target>,
    ) -> Option<CachedLink> {
        let target = if !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            self.target(event, voucher_live, page)
        } else {
            None
        };
        let Some(target) = target else {
            self.remove(code);
            return None;
        };
        let e = Entry { link_id, target };
        match Short::of(code) {
            Some(k) => self.short.insert(k, e),
            None => self.long.insert(code.into(), e),
        };
        self.get(code)
    }
}

/// Live codes → targets.
#[derive(Debug, Default)]
pub struct LinkCache {
    table: RwLock<Table>,
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

impl LinkCache {
    /// Replaces the table with every live link of the database. The new table is
    /// built beside the one serving, from the rows as they come, and swapped in at
    /// once; the old one is dropped on a blocking thread.
    pub async fn reload(&self, store: &Store, metrics: &Metrics) -> StoreResult<usize> {
        let mut fresh = Table::with_capacity(self.table.read().expect("link table lock").len());
        let pages: HashMap<EventId, EventPage> = store
            .event_pages()
            .await?
            .into_iter()
            .map(|p| (p.event_id, p))
            .collect();
        let vouchers: std::collections::HashSet<LinkId> = store.live_vouchers().await?.into_iter().collect();
        let mut seen = 0;
        store
            .each_live_link(|l: LiveLink| {
                seen = seen.max(l.link_id.0);
                let voucher_live = vouchers.contains(&l.link_id);
                let page = || {
                    let p = pages.get(&l.event_id)?;
                    target(&p.ticket_url, p.checkout, voucher_live)
                };
                fresh.put_with(l.link_id, &l.code, l.event_id, voucher_live, page);
            })
            .await?;
        let n = fresh.len();
        let old = {
            let mut table = self.table.write().expect("link table lock");
            let old = std::mem::replace(&mut *table, fresh);
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.seen.fetch_max(seen, Ordering::AcqRel);
            old
        };
        self.misses.lock().expect("miss cache lock").clear();
        metrics.set_links_cached(n);
        // Freeing 100k codes takes milliseconds: not on a thread that serves redirects.
        if old.len() > 1024 {
            drop(tokio::task::spawn_blocking(move || drop(old)));
        }
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
            if let Some(id) = created_up_to {
                self.seen.fetch_max(id, Ordering::AcqRel);
            }
            table.len()
        };
        metrics.set_links_cached(size);
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
        // An update since the read knows better (the link may be revoked by now).
        if self.generation.load(Ordering::Acquire) == generation {
            Ok(table.put(&t))
        } else {
            let target = table.target(t.event_id, t.voucher_live, || {
                target(&t.ticket_url, t.checkout, t.voucher_live)
            });
            Ok(target.map(|i| CachedLink {
                link_id: t.link_id,
                target: table.targets[i as usize].clone(),
            }))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_prefix_gives_the_same_target_as_building_it() {
        let pages = [
            ("https://t.example.com/x", Shop::Webhook, false),
            ("https://t.example.com/x?lang=en&ref=old", Shop::Webhook, false),
            ("https://t.example.com/x?a=1#seats", Shop::Shopify, false),
            ("https://buy.stripe.com/test_123", Shop::Stripe, false),
            ("https://pretix.example/org/ev/", Shop::Pretix, true),
            ("https://pretix.example/org/ev/", Shop::Pretix, false),
            ("https://www.eventbrite.com/e/123?aff=old", Shop::Eventbrite, false),
        ];
        for (page, shop, voucher) in pages {
            let t = target(page, shop, voucher).unwrap();
            assert_eq!(t.prefix.is_none(), page.contains('#'), "{page}");
            for code in ["abc", "Q7x9ZZ0"] {
                let built = target_url_with(&t.base, None, code, t.param);
                assert_eq!(t.plain(code).unwrap().to_str().unwrap(), built, "{page}");
            }
        }
        assert!(target("not a url", Shop::Webhook, false).is_none());
    }

    #[test]
    fn links_of_one_event_share_one_target_and_odd_codes_stay_out() {
        let mut table = Table::default();
        let row = |id, code: &str, event, url: &str| LinkTarget {
            link_id: LinkId(id),
            code: code.into(),
            event_id: EventId(event),
            ticket_url: url.into(),
            checkout: Shop::Webhook,
            voucher_live: false,
        };
        let page = "https://t.example.com/x";
        let a = table.put(&row(1, "aaa", 1, page)).unwrap();
        let b = table.put(&row(2, "bbb", 1, page)).unwrap();
        assert!(Arc::ptr_eq(&a.target, &b.target));
        assert!(table.put(&row(3, "c-c", 1, page)).is_none());
        assert!(table.put(&row(4, "ddd", 2, "no page")).is_none());
        // Until the event is forgotten, its links keep the page they had.
        let c = table.put(&row(5, "ccc", 1, "https://elsewhere.example/")).unwrap();
        assert!(Arc::ptr_eq(&a.target, &c.target));
        // Its page became invalid: its links leave the table as they are put again.
        table.forget_event(EventId(1));
        for (id, code) in [(1, "aaa"), (5, "ccc")] {
            assert!(table.put(&row(id, code, 1, "still no page")).is_none());
        }
        assert_eq!(table.len(), 1);
        assert_eq!(table.get("bbb").unwrap().link_id, LinkId(2));
        // Codes past 16 bytes live in their own map.
        let long = "L".repeat(40);
        table.put(&row(6, &long, 3, page)).unwrap();
        assert_eq!(table.get(&long).unwrap().link_id, LinkId(6));
        assert!(table.get(&long[..16]).is_none());
        table.remove(&long);
        assert_eq!(table.len(), 1);
    }
}
