//! A shop order's way in: tied to the organization's events at that shop, its promo
//! codes read as refs, and checked by the rules every order meets; shared by the
//! webhook routes and `promoterd sync`.

use super::{ShopOrder, ShopStatus};
use crate::domain::{OrgId, Shop};
use crate::ingest::{EventCache, OrderError, OrderInput};
use crate::store::{ShopEvent, Store, StoreError};
use std::collections::HashMap;

/// One event's share of a shop order, ready for the store.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The shop's id the share counts under.
    pub key: String,
    pub event: ShopEvent,
    pub input: OrderInput,
}

/// What became of a shop order.
#[derive(Debug, Clone)]
pub enum Intake {
    /// One share per event of ours (one, mostly).
    Ready(Vec<Prepared>),
    /// Nothing to store, and why (not paid yet, not one of our events).
    Skipped(String),
}

/// Why a shop order could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Prepares `order` from `org`'s connection to `shop`, stored under `source`; the
/// shop's ids are looked up through `cache` when one is given (the daemon's).
pub async fn prepare(
    store: &Store,
    cache: Option<&EventCache>,
    org: OrgId,
    shop: Shop,
    source: &str,
    order: &ShopOrder,
) -> Result<Intake, IntakeError> {
    if order.status == ShopStatus::Unpaid {
        return Ok(Intake::Skipped(format!("order {} is not paid yet", order.id)));
    }
    let mut events: HashMap<String, ShopEvent> = HashMap::new();
    for key in order.event_keys() {
        let found = match cache {
            Some(c) => c.shop_event(store, org, shop, &key).await?,
            None => store.event_for_shop(org, shop, &key).await?,
        };
        if let Some(e) = found {
            events.insert(key, e);
        }
    }
    let shares = order.shares(|k| events.get(k).map(|e| e.id.0.to_string()))?;
    if shares.is_empty() {
        return Ok(Intake::Skipped(format!(
            "order {} is for no event of this organization sold at {} (set it with `editevent <event> checkout {shop} <id>`)",
            order.id,
            shop.label()
        )));
    }
    // The shop's order id stays with the event it was first stored for (or the first
    // share); another event's share of the same order is `<id>:<event id>`, so adding
    // or removing a product of ours never renames a stored order.
    // An order all of whose lines are one event's (nearly every order) is that event's
    // `<id>`, and no lookup is needed.
    let whole: usize = shares.iter().map(|s| s.lines).sum();
    // (The daemon takes the shortcut and, should `<id>` belong to another event,
    // stores the share again as `<id>:<event id>`: see `renamed`.)
    let keeper = if cache.is_some() && shares.len() == 1 && whole == order.lines.len() {
        Some(0)
    } else {
        let stored = store.order_event(source, &order.id).await?;
        shares
            .iter()
            .position(|s| Some(events[&s.key].id) == stored)
            .or(stored.is_none().then_some(0))
    };
    let mut ready = Vec::with_capacity(shares.len());
    for (i, share) in shares.into_iter().enumerate() {
        let event = events[&share.key].clone();
        let mut raw = share.raw;
        if keeper != Some(i) {
            raw.order_id = format!("{}:{}", order.id, event.id.0);
        }
        // A link the buyer came through wins; a ref that is no link of the event leaves
        // the order to its promo codes.
        let linked = match &raw.ref_code {
            _ if order.promo_codes.is_empty() => true, // nothing to look at
            Some(r) => store.is_link_of_event(event.id, r).await?,
            None => false,
        };
        if !linked && let Some(code) = promo_ref(store, &event, &order.promo_codes).await? {
            raw.ref_code = Some(code);
        }
        let input = crate::ingest::check(source, &raw, event.id, &event.currency)?;
        ready.push(Prepared {
            key: share.key,
            event,
            input,
        });
    }
    Ok(Intake::Ready(ready))
}

/// The link code a promo code of the order stands for, first match first (a link
/// the buyer came through wins over any code: this is called only without one).
async fn promo_ref(store: &Store, event: &ShopEvent, codes: &[String]) -> Result<Option<String>, StoreError> {
    for code in codes.iter().take(10) {
        if let Some(link) = store.link_code_for_promo(event.id, code).await? {
            return Ok(Some(link));
        }
    }
    Ok(None)
}

/// The id a share takes when its shop order's plain id was stored for another event
/// (the daemon's shortcut met an order whose other lines are gone): `<id>:<event id>`,
/// or `None` when the plain id is free or this event's.
pub async fn renamed(
    store: &Store,
    source: &str,
    shop_id: &str,
    event: &ShopEvent,
) -> Result<Option<String>, StoreError> {
    Ok(match store.order_event(source, shop_id).await? {
        Some(e) if e != event.id => Some(format!("{shop_id}:{}", event.id.0)),
        _ => None,
    })
}
