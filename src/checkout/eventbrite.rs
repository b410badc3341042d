//! Eventbrite: an unsigned notification `{api_url, config: {action}}` behind a secret
//! address; fetching `api_url` (only on the connection's API, with its token) is the
//! authentication. The ref is the attendees' `affiliate`.

use super::api::ShopApi;
use super::{ConnectorError, Delivery, ShopLine, ShopOrder, ShopStatus, shop_time};
use crate::domain::Shop;
use crate::ingest::OrderError;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Notification {
    api_url: String,
    config: Config,
}

#[derive(Debug, Deserialize)]
struct Config {
    action: String,
}

/// An Eventbrite order with `expand=attendees`.
#[derive(Debug, Deserialize)]
pub struct Order {
    id: String,
    created: String,
    #[serde(default)]
    changed: Option<String>,
    #[serde(default)]
    status: Option<String>,
    event_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    attendees: Vec<Attendee>,
}

#[derive(Debug, Deserialize)]
struct Attendee {
    ticket_class_name: String,
    #[serde(default)]
    quantity: Option<i64>,
    costs: Costs,
    #[serde(default)]
    affiliate: Option<String>,
    #[serde(default)]
    refunded: bool,
    #[serde(default)]
    cancelled: bool,
}

#[derive(Debug, Deserialize)]
struct Costs {
    base_price: Money,
    #[serde(default)]
    tax: Option<Money>,
}

#[derive(Debug, Deserialize)]
struct Money {
    currency: String,
    value: i64,
}

/// Reads a notification and fetches the order it names.
pub async fn read(api: Option<&ShopApi>, body: &[u8]) -> Result<Delivery, ConnectorError> {
    let n: Notification = super::json(Shop::Eventbrite, body)?;
    let action = n.config.action.as_str();
    if !action.starts_with("order.") && action != "attendee.updated" {
        let shown: String = action.chars().take(60).collect();
        return Ok(Delivery::Ignored(format!("action `{shown}` is not about orders")));
    }
    let api = api.ok_or_else(|| OrderError::Malformed("the Eventbrite connection has no API token".into()))?;
    let mut url = if action == "attendee.updated" {
        // One attendee refunded or cancelled on its own: its whole order is read again.
        #[derive(Deserialize)]
        struct AttendeeOf {
            order_id: String,
        }
        let a: AttendeeOf = match api.get(api.within(&n.api_url)?).await {
            Ok(a) => a,
            Err(e) if e.is_not_found() => {
                return Ok(Delivery::Ignored("Eventbrite no longer has this attendee".into()));
            }
            Err(e) => return Err(e.into()),
        };
        if a.order_id.is_empty() || !a.order_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OrderError::Malformed("the attendee's order_id is not an Eventbrite id".into()).into());
        }
        api.url(&format!("orders/{}/", a.order_id))?
    } else {
        api.within(&n.api_url)?
    };
    url.query_pairs_mut().clear().append_pair("expand", "attendees");
    let order: Order = match api.get(url).await {
        Ok(o) => o,
        Err(e) if e.is_not_found() => return Ok(Delivery::Ignored("Eventbrite no longer has this order".into())),
        Err(e) => return Err(e.into()),
    };
    Ok(Delivery::Orders {
        id: None,
        orders: vec![order_of(order)?],
    })
}

#[derive(Debug, Deserialize)]
struct Page {
    pagination: Pagination,
    orders: Vec<Order>,
}

#[derive(Debug, Deserialize)]
struct Pagination {
    #[serde(default)]
    has_more_items: bool,
    #[serde(default)]
    continuation: Option<String>,
}

/// Every order of an Eventbrite event (for `sync`).
pub async fn list(api: &ShopApi, event_id: &str) -> Result<Vec<ShopOrder>, ConnectorError> {
    if !event_id.bytes().all(|b| b.is_ascii_digit()) || event_id.is_empty() {
        return Err(OrderError::Malformed(format!("`{event_id}` is not an Eventbrite event id")).into());
    }
    let mut orders = Vec::new();
    let mut continuation: Option<String> = None;
    for _page in 0..super::MAX_PAGES {
        let mut url = api.url(&format!("events/{event_id}/orders/"))?;
        // Every order but deleted ones: refunded and cancelled ones too.
        url.query_pairs_mut()
            .append_pair("status", "all_not_deleted")
            .append_pair("expand", "attendees");
        if let Some(c) = &continuation {
            url.query_pairs_mut().append_pair("continuation", c);
        }
        let page: Page = api.get(url).await?;
        for o in page.orders {
            orders.push(order_of(o)?);
        }
        match page.pagination.continuation.filter(|_| page.pagination.has_more_items) {
            Some(c) => continuation = Some(c),
            None => break,
        }
    }
    Ok(orders)
}

/// The order as promoterd counts it: attendees grouped by ticket class, refunded or
/// cancelled attendees as refunded tickets.
pub fn order_of(o: Order) -> Result<ShopOrder, OrderError> {
    // One line per ticket class and price.
    let mut lines: Vec<ShopLine> = Vec::new();
    let mut at: std::collections::HashMap<(&str, i64), usize> = Default::default();
    let mut currency = String::new();
    for a in &o.attendees {
        let q = a.quantity.unwrap_or(1).max(1);
        let price = a.costs.base_price.value + a.costs.tax.as_ref().map_or(0, |t| t.value);
        currency.clone_from(&a.costs.base_price.currency);
        let back = if a.refunded || a.cancelled { q } else { 0 };
        let i = *at.entry((a.ticket_class_name.as_str(), price)).or_insert_with(|| {
            lines.push(ShopLine {
                event_key: None,
                ticket_type: a.ticket_class_name.clone(),
                quantity: 0,
                refunded_quantity: 0,
                total_minor: 0,
            });
            lines.len() - 1
        });
        lines[i].quantity += q;
        lines[i].refunded_quantity += back;
        lines[i].total_minor += price;
    }
    let status = match o.status.as_deref() {
        Some("refunded") => ShopStatus::Refunded,
        Some("deleted" | "cancelled") => ShopStatus::Cancelled,
        Some("started" | "pending" | "abandoned") => ShopStatus::Unpaid,
        _ => ShopStatus::Paid,
    };
    let ordered_at = shop_time(&o.created)?;
    Ok(ShopOrder {
        id: o.id,
        event_key: Some(o.event_id),
        status,
        ordered_at,
        updated_at: match &o.changed {
            Some(c) => shop_time(c)?.max(ordered_at),
            None => ordered_at,
        },
        ref_code: o
            .attendees
            .iter()
            .find_map(|a| a.affiliate.clone().filter(|x| !x.trim().is_empty())),
        promo_codes: Vec::new(),
        buyer_name: o.name,
        buyer_email: o.email,
        buyer_phone: None,
        currency: currency.to_ascii_uppercase(),
        lines,
        refunded_minor: 0,
    })
}
