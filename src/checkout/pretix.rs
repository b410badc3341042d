//! pretix: an unsigned notification (`{notification_id, organizer, event, code,
//! action}`) behind a secret address; the order is fetched from pretix's REST API and
//! attributed by the voucher of its positions, one voucher per promoter link.

use super::api::ShopApi;
use super::{ConnectorError, Delivery, ShopLine, ShopOrder, ShopStatus, currency_decimals, minor_units, shop_time};
use crate::domain::Shop;
use crate::ingest::OrderError;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Notification {
    notification_id: Value,
    organizer: String,
    /// Absent from the organizer's own notifications (customer accounts, …).
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    code: Option<String>,
    action: String,
}

/// A pretix order (`GET …/orders/<code>/?include_canceled_positions=true&include_canceled_fees=true`).
#[derive(Debug, Deserialize)]
pub struct Order {
    code: String,
    status: String,
    datetime: String,
    #[serde(default)]
    last_modified: Option<String>,
    /// Placed while the event was in test mode: the organizer trying the shop, never a
    /// sale (pretix deletes such orders, and only such orders).
    #[serde(default)]
    testmode: bool,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    invoice_address: Option<InvoiceAddress>,
    #[serde(default)]
    positions: Vec<Position>,
    #[serde(default)]
    refunds: Vec<Refund>,
    #[serde(default)]
    payments: Vec<Payment>,
    #[serde(default)]
    fees: Vec<Fee>,
}

/// A fee of the order (service, payment, shipping…): not a ticket, so neither counted
/// nor, once cancelled and refunded, taken off the tickets' revenue.
#[derive(Debug, Deserialize)]
struct Fee {
    value: String,
    #[serde(default)]
    canceled: bool,
}

#[derive(Debug, Deserialize)]
struct InvoiceAddress {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Position {
    item: i64,
    price: String,
    #[serde(default)]
    voucher: Option<i64>,
    #[serde(default)]
    canceled: bool,
    #[serde(default)]
    addon_to: Option<i64>,
    #[serde(default)]
    attendee_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Refund {
    state: String,
    amount: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    execution_date: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Payment {
    state: String,
}

#[derive(Debug, Deserialize)]
struct Item {
    name: Value,
}

#[derive(Debug, Deserialize)]
struct Voucher {
    code: String,
    #[serde(default)]
    tag: Option<String>,
}

/// The event's settings promoterd needs: its currency.
#[derive(Debug, Deserialize)]
struct Event {
    currency: String,
}

/// A pretix short name or order code, checked before it goes into an API path.
fn slug(s: &str) -> Result<&str, OrderError> {
    if crate::domain::pretix_short_name(s) {
        Ok(s)
    } else {
        Err(OrderError::Malformed(
            "organizer, event and code are pretix short names".into(),
        ))
    }
}

/// The `<organizer>/<event>` a notification names, if it is one.
pub fn event_key(body: &[u8]) -> Option<String> {
    let n: Notification = serde_json::from_slice(body).ok()?;
    Some(format!("{}/{}", n.organizer, n.event?))
}

/// Reads a notification and fetches the order it names.
pub async fn read(api: Option<&ShopApi>, body: &[u8]) -> Result<Delivery, ConnectorError> {
    let n: Notification = super::json(Shop::Pretix, body)?;
    let order_action = n.action.starts_with("pretix.event.order.")
        && !n.action.contains("checkin")
        && !n.action.ends_with(".email.sent");
    let (Some(code), Some(event)) = (n.code.as_deref().filter(|_| order_action), n.event.as_deref()) else {
        let shown: String = n.action.chars().take(60).collect();
        return Ok(Delivery::Ignored(format!("action `{shown}` is not about orders")));
    };
    let api = api.ok_or_else(|| OrderError::Malformed("the pretix connection has no API token".into()))?;
    let base = format!("organizers/{}/events/{}/", slug(&n.organizer)?, slug(event)?);
    let order: Order = match api
        .get(api.url(&format!(
            "{base}orders/{}/?include_canceled_positions=true&include_canceled_fees=true",
            slug(code)?
        ))?)
        .await
    {
        Ok(o) => o,
        Err(e) if e.is_not_found() => return Ok(Delivery::Ignored("pretix no longer has this order".into())),
        Err(e) => return Err(e.into()),
    };
    if order.testmode {
        return Ok(Delivery::Ignored("a test-mode order is not a sale".into()));
    }
    let order = order_of(api, &base, &format!("{}/{event}", n.organizer), order).await?;
    Ok(Delivery::Orders {
        id: Some(format!("{}", n.notification_id).chars().take(200).collect()),
        orders: vec![order],
    })
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    next: Option<String>,
    results: Vec<Order>,
}

/// Every order of a pretix event, `<organizer>/<event>` (for `sync`).
pub async fn list(api: &ShopApi, key: &str) -> Result<Vec<ShopOrder>, ConnectorError> {
    let Some((organizer, event)) = key.split_once('/') else {
        return Err(OrderError::Malformed(format!("`{key}` is not <organizer>/<event>")).into());
    };
    let base = format!("organizers/{}/events/{}/", slug(organizer)?, slug(event)?);
    let mut url = api.url(&format!(
        "{base}orders/?include_canceled_positions=true&include_canceled_fees=true"
    ))?;
    let mut orders = Vec::new();
    for _page in 0..super::MAX_PAGES {
        let page: Page = api.get(url).await?;
        for o in page.results.into_iter().filter(|o| !o.testmode) {
            orders.push(order_of(api, &base, key, o).await?);
        }
        match page.next {
            Some(next) => url = api.within(&next)?,
            None => break,
        }
    }
    Ok(orders)
}

/// The order as promoterd counts it: positions grouped by product, cancelled ones as
/// refunded tickets, the voucher's tag (or code) as the ref.
pub async fn order_of(api: &ShopApi, base: &str, event_key: &str, o: Order) -> Result<ShopOrder, ConnectorError> {
    let currency = match api.remembered(base) {
        Some(c) => c,
        None => {
            let event: Event = api.get(api.url(base)?).await?;
            api.remember(base, &event.currency);
            event.currency
        }
    };
    let dec = currency_decimals(&currency);
    let (mut lines, voucher, mut back) = lines_of(&o, dec)?;
    // Add-ons and fees are not tickets: what of them was cancelled is refunded money that
    // never counted as ticket revenue.
    for p in o.positions.iter().filter(|p| p.addon_to.is_some() && p.canceled) {
        back += minor_units(&p.price, dec)?;
    }
    for f in o.fees.iter().filter(|f| f.canceled) {
        back += minor_units(&f.value, dec)?;
    }
    for ((item, _), line) in &mut lines {
        line.ticket_type = item_name(api, base, *item).await?;
    }
    let (ref_code, promo_codes) = match voucher {
        Some(id) => voucher_ref(api, base, id).await?,
        None => (None, Vec::new()),
    };
    let mut refunded = 0;
    // A refund changes only the refund's own record: its time counts as the order's.
    let mut changed = vec![o.last_modified.clone()];
    for r in o.refunds.iter().filter(|r| r.state == "done") {
        refunded += minor_units(&r.amount, dec)?;
        changed.push(r.execution_date.clone().or(r.created.clone()));
    }
    let paid = o
        .payments
        .iter()
        .any(|p| matches!(p.state.as_str(), "confirmed" | "refunded"));
    let status = match o.status.as_str() {
        "p" => ShopStatus::Paid,
        "c" if paid => ShopStatus::Cancelled,
        _ => ShopStatus::Unpaid, // n: pending, e: expired, c: cancelled before payment
    };
    let ordered_at = shop_time(&o.datetime)?;
    let mut updated_at = ordered_at;
    for t in changed.iter().flatten() {
        updated_at = updated_at.max(shop_time(t)?);
    }
    let name = buyer_name(&o);
    Ok(ShopOrder {
        id: o.code,
        event_key: Some(event_key.to_string()),
        status,
        ordered_at,
        updated_at,
        ref_code,
        promo_codes,
        buyer_name: name,
        buyer_email: o.email,
        buyer_phone: o.phone,
        currency: currency.to_ascii_uppercase(),
        lines: lines.into_iter().map(|(_, l)| l).collect(),
        refunded_minor: (refunded - back).max(0),
    })
}

/// The positions (add-ons aside) as lines, one per product and price (a voucher may
/// lower one ticket's price), without their names yet; the first voucher; the value of
/// the cancelled positions.
#[allow(clippy::type_complexity)]
fn lines_of(o: &Order, dec: u32) -> Result<(Vec<((i64, i64), ShopLine)>, Option<i64>, i64), OrderError> {
    let mut lines: Vec<((i64, i64), ShopLine)> = Vec::new();
    let mut at: std::collections::HashMap<(i64, i64), usize> = Default::default();
    let (mut voucher, mut tickets_back) = (None, 0);
    for p in o.positions.iter().filter(|p| p.addon_to.is_none()) {
        let price = minor_units(&p.price, dec)?;
        voucher = voucher.or(p.voucher);
        if p.canceled {
            tickets_back += price;
        }
        let i = *at.entry((p.item, price)).or_insert_with(|| {
            lines.push((
                (p.item, price),
                ShopLine {
                    event_key: None,
                    ticket_type: String::new(),
                    quantity: 0,
                    refunded_quantity: 0,
                    total_minor: 0,
                },
            ));
            lines.len() - 1
        });
        let l = &mut lines[i].1;
        l.quantity += 1;
        l.refunded_quantity += i64::from(p.canceled);
        l.total_minor += price;
    }
    Ok((lines, voucher, tickets_back))
}

/// A voucher as a ref (its tag: a promoterd link's code) and as a promo code (its
/// code: an organizer's own voucher counts for the promoter whose promo code it is).
async fn voucher_ref(api: &ShopApi, base: &str, id: i64) -> Result<(Option<String>, Vec<String>), ConnectorError> {
    let key = format!("{base}vouchers/{id}/");
    let (code, tag) = match api.remembered(&key) {
        Some(both) => {
            let (c, t) = both.split_once('\n').unwrap_or((both.as_str(), ""));
            (c.to_string(), t.to_string())
        }
        None => {
            let v: Voucher = api.get(api.url(&key)?).await?;
            let tag = v.tag.unwrap_or_default();
            api.remember(&key, &format!("{}\n{tag}", v.code));
            (v.code, tag)
        }
    };
    let tag = tag.trim();
    Ok(((!tag.is_empty()).then(|| tag.to_string()), vec![code]))
}

/// The invoice name, else the first attendee's.
fn buyer_name(o: &Order) -> Option<String> {
    o.invoice_address
        .as_ref()
        .and_then(|a| a.name.clone())
        .filter(|n| !n.trim().is_empty())
        .or_else(|| o.positions.iter().find_map(|p| p.attendee_name.clone()))
}

/// A product's name in English, else in the first language pretix gives.
async fn item_name(api: &ShopApi, base: &str, item: i64) -> Result<String, ConnectorError> {
    let key = format!("{base}items/{item}/");
    if let Some(name) = api.remembered(&key) {
        return Ok(name);
    }
    let i: Item = api.get(api.url(&key)?).await?;
    let name = match &i.name {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .get("en")
            .or_else(|| m.values().next())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    let name = if name.trim().is_empty() {
        format!("item {item}")
    } else {
        name
    };
    api.remember(&key, &name);
    Ok(name)
}
