//! The link table's layout: codes held inline, each link pointing at a target shared
//! by its event's links (17 bytes a link for promoterd's own codes).

use crate::domain::{EventId, LinkId, RefStyle, Shop};
use crate::http::redirect::target_url_with;
use crate::store::LinkTarget;
use axum::http::HeaderValue;
use std::collections::HashMap;
use std::sync::Arc;
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
pub(in crate::http) fn target(ticket_url: &str, shop: Shop, voucher_live: bool) -> Option<Target> {
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

/// A code of up to 8 letters and digits packed in a word (promoterd makes codes of 8).
/// Codes are letters and digits, so the zero padding cannot be part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Word(u64);

impl Word {
    fn of(code: &str) -> Option<Word> {
        if code.len() > 8 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let mut key = [0; 8];
        key[..code.len()].copy_from_slice(code.as_bytes());
        Some(Word(u64::from_le_bytes(key)))
    }
}

/// A code of up to 16 bytes held inline: no allocation per link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Short([u8; 16]);

impl Short {
    fn of(code: &str) -> Option<Short> {
        if !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let mut key = [0; 16];
        key.get_mut(..code.len())?.copy_from_slice(code.as_bytes());
        Some(Short(key))
    }
}

/// A link in the word-keyed map: its id, when it fits 32 bits, and its target.
#[derive(Debug, Clone, Copy)]
struct Small {
    link_id: u32,
    target: u32,
}

/// A link in the other maps: its id and which shared target it leads to.
#[derive(Debug, Clone, Copy)]
struct Entry {
    link_id: LinkId,
    target: u32,
}

/// The table: codes, and the targets their links share (a handful per event). A code
/// is in at most one of the maps: `small` when it has at most 8 bytes and its link's id
/// fits 32 bits (every link promoterd makes, for the first 4 billion), 17 bytes a link
/// with the map's control byte (100k links: 2.2 MB); else `short` (33 bytes) or `long`.
#[derive(Debug, Default)]
pub(super) struct Table {
    small: HashMap<Word, Small>,
    short: HashMap<Short, Entry>,
    /// Codes longer than 16 bytes (none that promoterd makes).
    long: HashMap<Box<str>, Entry>,
    pub(super) targets: Vec<Arc<Target>>,
    /// Targets by event and voucher state (`None`: the page is not a valid address).
    pages: HashMap<(EventId, bool), Option<u32>>,
}

impl Table {
    pub(super) fn with_capacity(links: usize) -> Table {
        Table {
            small: HashMap::with_capacity(links),
            ..Table::default()
        }
    }

    pub(super) fn len(&self) -> usize {
        self.small.len() + self.short.len() + self.long.len()
    }

    fn entry(&self, code: &str) -> Option<Entry> {
        if let Some(w) = Word::of(code)
            && let Some(s) = self.small.get(&w)
        {
            return Some(Entry {
                link_id: LinkId(i64::from(s.link_id)),
                target: s.target,
            });
        }
        match Short::of(code) {
            Some(k) if !self.short.is_empty() => self.short.get(&k).copied(),
            Some(_) => None,
            None => self.long.get(code).copied(),
        }
    }

    pub(super) fn get(&self, code: &str) -> Option<CachedLink> {
        let e = self.entry(code)?;
        Some(CachedLink {
            link_id: e.link_id,
            target: self.targets[e.target as usize].clone(),
        })
    }

    pub(super) fn remove(&mut self, code: &str) {
        if let Some(w) = Word::of(code) {
            self.small.remove(&w);
        }
        match Short::of(code) {
            Some(k) => self.short.remove(&k),
            None => self.long.remove(code),
        };
    }

    /// The shared target of an event's links, made on first use from its page.
    pub(super) fn target(
        &mut self,
        event: EventId,
        voucher_live: bool,
        page: impl FnOnce() -> Option<Target>,
    ) -> Option<u32> {
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
    pub(super) fn forget_event(&mut self, event: EventId) {
        self.pages.remove(&(event, false));
        self.pages.remove(&(event, true));
    }

    /// Puts a live link in; `None` when it cannot redirect (its page is not a valid
    /// address, or its code is not one the redirect ever asks for).
    pub(super) fn put(&mut self, t: &LinkTarget) -> Option<CachedLink> {
        let page = || target(&t.ticket_url, t.checkout, t.voucher_live);
        self.put_with(t.link_id, &t.code, t.event_id, t.voucher_live, page)
    }

    pub(super) fn put_with(
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
        // In one map only: the one it goes to now, not the one it may have been in.
        match (Word::of(code), u32::try_from(link_id.0)) {
            (Some(w), Ok(id)) => {
                self.small.insert(w, Small { link_id: id, target });
                if !self.short.is_empty()
                    && let Some(k) = Short::of(code)
                {
                    self.short.remove(&k);
                }
            }
            (word, _) => {
                if let Some(w) = word {
                    self.small.remove(&w);
                }
                let e = Entry { link_id, target };
                match Short::of(code) {
                    Some(k) => self.short.insert(k, e),
                    None => self.long.insert(code.into(), e),
                };
            }
        }
        self.get(code)
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
        // A code with other than letters and digits never shares a key with one without.
        assert!(Short::of("abc\0").is_none());
        assert!(table.put(&row(7, "bbb\0", 1, page)).is_none());
        assert_eq!(table.get("bbb").unwrap().link_id, LinkId(2));
        // A code of 8 bytes or fewer whose link id does not fit 32 bits, and one of 9 to
        // 16 bytes, live in the inline map; a link moving between maps is in one only.
        let huge = i64::from(u32::MAX) + 1;
        assert_eq!(table.put(&row(huge, "eee", 4, page)).unwrap().link_id, LinkId(huge));
        assert_eq!(table.put(&row(8, "abcdefghij", 4, page)).unwrap().link_id, LinkId(8));
        assert_eq!(table.put(&row(9, "eee", 4, page)).unwrap().link_id, LinkId(9));
        assert_eq!((table.small.len(), table.short.len()), (2, 1));
        assert_eq!(table.put(&row(huge, "eee", 4, page)).unwrap().link_id, LinkId(huge));
        assert_eq!((table.small.len(), table.short.len()), (1, 2));
        assert!(table.get("abcdefgh").is_none() && table.get("ee").is_none());
        table.remove("eee");
        table.remove("abcdefghij");
        assert!(table.get("eee").is_none());
        assert_eq!(table.len(), 1);
        // Codes past 16 bytes live in their own map.
        let long = "L".repeat(40);
        table.put(&row(6, &long, 3, page)).unwrap();
        assert_eq!(table.get(&long).unwrap().link_id, LinkId(6));
        assert!(table.get(&long[..16]).is_none());
        table.remove(&long);
        assert_eq!(table.len(), 1);
    }
}
