//! Order ingestion: one validation and apply path for the order webhook and CSV import.

mod csv_import;
mod group_commit;
mod rules;
mod webhook;

pub use csv_import::{CheckedImport, FileOrder, FileProblem, IMPORT_COLUMNS, ImportError, ImportFile, read_import_csv};
pub use group_commit::GroupCommit;
use rules::check_id;
pub use rules::{MAX_QUANTITY, MAX_UNIT_PRICE, Problem, check, check_all};
pub use webhook::{WebhookBuyer, WebhookLine, WebhookOrder, WebhookPayload};

use crate::clock::Clock;
use crate::domain::{EventId, OrgId, Shop};
pub use crate::domain::{LineInput, OrderInput, OrderStatus};
use crate::store::{IngestOutcome, ShopEvent, Store, StoreError};

/// An order as the checkout describes it, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOrder {
    pub order_id: String,
    /// Event slug, or numeric id.
    pub event: String,
    pub status: String,
    pub ordered_at: String,
    /// When the checkout last changed the order; defaults to `ordered_at`.
    pub updated_at: Option<String>,
    pub ref_code: Option<String>,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    pub lines: Vec<RawLine>,
}

/// One ticket-type line of a [`RawOrder`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawLine {
    pub ticket_type: String,
    pub quantity: i64,
    pub refunded_quantity: i64,
    pub unit_price_minor: i64,
    /// Money refunded beyond the refunded tickets (a refund by amount), minor units.
    pub refunded_minor: i64,
    pub currency: String,
}

/// Why an order was refused; `Display` is the message for the checkout developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("malformed order: {0}")]
    Malformed(String),
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
    /// Several organizations have an event of that short name.
    #[error(
        "event `{0}` is ambiguous: several organizations have an event of that short name; send its numeric id or `<organization>/<event>`"
    )]
    AmbiguousEvent(String),
    #[error("conflicting data: {0}")]
    Conflict(String),
}

/// Checks a raw order against the rules and the event it names, among the events of
/// `org` when the delivery came through an organization's connection.
pub async fn validate(
    store: &Store,
    source: &str,
    raw: &RawOrder,
    org: Option<OrgId>,
) -> Result<OrderInput, ApplyError> {
    check_id(raw)?;
    let (id, currency) = find_event(store, &raw.event, org).await?;
    Ok(check(source, raw, id, &currency)?)
}

/// The event an order names (short name, `<organization>/<short name>` or numeric id):
/// its id and currency. With `org`, another organization's event is unknown (whether
/// it exists is not told).
pub async fn find_event(store: &Store, name: &str, org: Option<OrgId>) -> Result<(EventId, String), ApplyError> {
    let name = name.trim();
    let ours = |e: &crate::store::EventRow| org.is_none_or(|o| e.org_id == o);
    let event = match name.parse::<EventId>() {
        Ok(n) => store.event(n).await?.filter(ours),
        Err(_) => {
            let mut named = store.events_named(name).await?;
            named.retain(ours);
            if named.len() > 1 {
                return Err(OrderError::AmbiguousEvent(name.chars().take(100).collect()).into());
            }
            named.pop()
        }
    };
    match event {
        Some(e) => Ok((e.id, e.currency)),
        None => Err(OrderError::UnknownEvent(name.chars().take(100).collect()).into()),
    }
}

/// Events as the checkout names them (slug, `org/slug` or id) → id and currency. An
/// event's id, slug and currency never change; a bare short name can become ambiguous
/// when another organization creates an event of that name, so the HTTP server's link
/// refresher clears the cache on every pass and at once after `newevent`.
#[derive(Debug, Default)]
pub struct EventCache {
    /// Per connection's organization (`None`: any), name → id and currency.
    map: std::sync::RwLock<std::collections::HashMap<Option<OrgId>, EventsByName>>,
    /// A shop's ids for events (an organization's, at a shop) → the event, or none.
    shops: std::sync::RwLock<std::collections::HashMap<(OrgId, Shop, String), Option<ShopEvent>>>,
}

/// Event names of one scope → id and currency.
type EventsByName = std::collections::HashMap<String, (EventId, String)>;

/// Most event names remembered; past it the cache starts over.
const MAX_CACHED_EVENTS: usize = 10_000;

impl EventCache {
    /// Forgets every entry (names are looked up again on their next order).
    pub fn clear(&self) {
        self.map.write().expect("event cache lock").clear();
        self.shops.write().expect("event cache lock").clear();
    }

    /// The organization's event that `key` names at `shop`, asking the database only
    /// for a key not seen since the last [`EventCache::clear`] (which `editevent`
    /// causes at once, through the link refresher).
    pub async fn shop_event(
        &self,
        store: &Store,
        org: OrgId,
        shop: Shop,
        key: &str,
    ) -> Result<Option<ShopEvent>, StoreError> {
        let k = (org, shop, key.to_string());
        if let Some(hit) = self.shops.read().expect("event cache lock").get(&k) {
            return Ok(hit.clone());
        }
        let found = store.event_for_shop(org, shop, key).await?;
        let mut shops = self.shops.write().expect("event cache lock");
        if shops.len() >= MAX_CACHED_EVENTS {
            shops.clear();
        }
        shops.insert(k, found.clone());
        Ok(found)
    }

    /// [`validate`], asking the database only for an event not seen before.
    pub async fn validate(
        &self,
        store: &Store,
        source: &str,
        raw: &RawOrder,
        org: Option<OrgId>,
    ) -> Result<OrderInput, ApplyError> {
        let name = raw.event.trim();
        let hit = self
            .map
            .read()
            .expect("event cache lock")
            .get(&org)
            .and_then(|m| m.get(name))
            .cloned();
        if let Some((id, currency)) = hit {
            return Ok(check(source, raw, id, &currency)?);
        }
        let order = validate(store, source, raw, org).await?;
        let mut map = self.map.write().expect("event cache lock");
        if map.values().map(|m| m.len()).sum::<usize>() >= MAX_CACHED_EVENTS {
            map.clear();
        }
        map.entry(org)
            .or_default()
            .insert(name.to_string(), (order.event_id, order.currency.clone()));
        Ok(order)
    }
}

/// Why validated orders could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The orders contradict stored data; nothing was changed.
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The shared order writer could not take the order (it stopped, or its batch
    /// failed and was rolled back): nothing was stored; the checkout should retry.
    #[error("the order writer is unavailable: {0}")]
    Unavailable(String),
}

/// Applies validated orders in one write transaction: all of them, or none.
pub async fn apply(store: &Store, clock: &Clock, orders: &[OrderInput]) -> Result<Vec<IngestOutcome>, ApplyError> {
    let now = clock.now();
    let mut tx = store.write().await?;
    let mut out = Vec::with_capacity(orders.len());
    for o in orders {
        match store.apply_order(&mut tx, o, now).await? {
            IngestOutcome::Conflict(msg) => return Err(OrderError::Conflict(msg).into()),
            outcome => out.push(outcome),
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// What one webhook delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// This delivery id was processed before; nothing changed.
    Duplicate,
    /// Applied (or found unchanged).
    Applied(IngestOutcome),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawOrder {
        RawOrder {
            order_id: "A1".into(),
            event: "fest".into(),
            status: "paid".into(),
            ordered_at: "2026-11-20T10:00:00Z".into(),
            lines: vec![RawLine {
                ticket_type: "GA".into(),
                quantity: 2,
                refunded_quantity: 0,
                unit_price_minor: 2500,
                refunded_minor: 0,
                currency: "EUR".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn refunded_quantities_set_the_status() {
        let mut r = raw();
        r.lines[0].refunded_quantity = 1;
        assert_eq!(
            check("c", &r, EventId(1), "EUR").unwrap().status,
            OrderStatus::PartiallyRefunded
        );
        r.lines[0].refunded_quantity = 2;
        assert_eq!(check("c", &r, EventId(1), "EUR").unwrap().status, OrderStatus::Refunded);
    }

    #[test]
    fn an_order_needs_an_id_whatever_path_checks_it() {
        // Found by `cargo fuzz` (target csv_import): `check` alone took an empty id.
        for id in ["", "   ", "a\u{0}b"] {
            let mut r = raw();
            r.order_id = id.into();
            assert!(
                matches!(check("c", &r, EventId(1), "EUR"), Err(OrderError::Malformed(m)) if m.contains("order id"))
            );
        }
    }

    #[test]
    fn check_all_lists_every_problem_and_check_reports_the_first() {
        let mut r = raw();
        r.status = "lost".into();
        r.lines[0].quantity = 0;
        r.lines[0].currency = "USD".into();
        r.ordered_at = "yesterday".into();
        let problems = check_all("c", &r, EventId(1), "EUR").unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| (p.line, p.field)).collect();
        assert_eq!(
            fields,
            [
                (None, "status"),
                (Some(0), "quantity"),
                (Some(0), "currency"),
                (None, "ordered_at")
            ]
        );
        assert!(
            matches!(check("c", &r, EventId(1), "EUR"), Err(OrderError::Malformed(m)) if m.starts_with("status `lost`"))
        );
        r.status = "paid".into();
        assert!(
            matches!(check("c", &r, EventId(1), "EUR"), Err(OrderError::Malformed(m)) if m == "line 1: quantity 0 is not between 1 and 10000")
        );
    }

    #[test]
    fn absurd_values_are_refused() {
        let mut r = raw();
        r.lines[0].quantity = -3;
        assert!(matches!(check("c", &r, EventId(1), "EUR"), Err(OrderError::Malformed(m)) if m.contains("quantity")));
        let mut r = raw();
        r.lines[0].unit_price_minor = MAX_UNIT_PRICE + 1;
        assert!(check("c", &r, EventId(1), "EUR").is_err());
        let mut r = raw();
        r.lines[0].currency = "USD".into();
        assert!(matches!(
            check("c", &r, EventId(1), "EUR"),
            Err(OrderError::Conflict(_))
        ));
        let mut r = raw();
        r.ordered_at = "yesterday".into();
        assert!(check("c", &r, EventId(1), "EUR").is_err());
    }
}
