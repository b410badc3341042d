//! Hi.Events: `order.created`, `order.updated`, `order.refunded`, `order.cancelled`
//! carry the order. Signed with `Signature`: the hex HMAC-SHA256 of the body. Its
//! payload holds no affiliate: attribution comes from the order's promo code.

use super::sign::{hex_sig, matches_any};
use super::{
    Delivery, Headers, ShopLine, ShopOrder, ShopSignatureError, ShopStatus, currency_decimals, minor_units, shop_time,
};
use crate::domain::Shop;
use crate::ingest::OrderError;
use serde::Deserialize;
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "signature";

/// Checks `Signature` (hex HMAC-SHA256 of the raw body, spatie/laravel-webhook-server).
pub fn verify(headers: &(dyn Headers + Sync), body: &[u8], secrets: &[String]) -> Result<(), ShopSignatureError> {
    let sig = headers
        .header(SIGNATURE_HEADER)
        .ok_or(ShopSignatureError::Missing("Signature"))?;
    let sig = hex_sig(sig, "Signature")?;
    if matches_any(secrets, &[body], &sig) {
        Ok(())
    } else {
        Err(ShopSignatureError::Mismatch)
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    event_type: String,
    #[serde(default)]
    event_sent_at: Option<String>,
    payload: Value,
}

#[derive(Debug, Deserialize)]
struct Order {
    id: Value,
    status: String,
    currency: String,
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    event_id: Value,
    #[serde(default)]
    total_refunded: Option<Value>,
    #[serde(default)]
    total_gross: Option<Value>,
    #[serde(default)]
    is_fully_refunded: bool,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    promo_code: Option<String>,
    /// Not sent by Hi.Events today; read should a later version add it.
    #[serde(default)]
    affiliate_code: Option<String>,
    #[serde(default)]
    order_items: Vec<Item>,
    #[serde(default)]
    attendees: Vec<Attendee>,
}

#[derive(Debug, Deserialize)]
struct Item {
    #[serde(default)]
    product_id: Value,
    /// The price tier, where the payload gives it.
    #[serde(default)]
    product_price_id: Value,
    item_name: String,
    quantity: i64,
    total_before_additions: Value,
}

#[derive(Debug, Deserialize)]
struct Attendee {
    #[serde(default)]
    product_id: Value,
    #[serde(default)]
    product_price_id: Value,
    status: String,
}

fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// The order items as lines, cancelled attendees as refunded tickets; and the value
/// of those tickets.
fn lines_of(o: &Order, dec: u32) -> Result<(Vec<ShopLine>, i64), OrderError> {
    let amount = |v: &Value| number_text(v).map_or(Ok(0), |t| minor_units(&t, dec));
    // Cancelled attendees by price tier and by product: an item that names its tier
    // takes them from its tier, one that does not from its product.
    let mut cancelled: std::collections::HashMap<String, i64> = Default::default();
    for a in o.attendees.iter().filter(|a| a.status == "CANCELLED") {
        if let Some(p) = number_text(&a.product_id) {
            *cancelled.entry(format!("product {p}")).or_default() += 1;
        }
        if let Some(p) = number_text(&a.product_price_id) {
            *cancelled.entry(format!("price {p}")).or_default() += 1;
        }
    }
    let mut lines = Vec::with_capacity(o.order_items.len());
    let mut tickets_back = 0;
    for i in &o.order_items {
        let total = amount(&i.total_before_additions)?;
        // A product has one item per price tier: an item takes the cancelled attendees
        // of its tier where the payload names it, else of its product, each once.
        let key = match number_text(&i.product_price_id) {
            Some(p) => Some(format!("price {p}")),
            None => number_text(&i.product_id).map(|p| format!("product {p}")),
        };
        let back = match key.and_then(|k| cancelled.get_mut(&k)) {
            Some(left) => {
                let back = (*left).min(i.quantity.max(0));
                *left -= back;
                back
            }
            None => 0,
        };
        tickets_back += super::tickets_value(total, i.quantity, back);
        lines.push(ShopLine {
            event_key: None,
            ticket_type: i.item_name.clone(),
            quantity: i.quantity,
            refunded_quantity: back,
            total_minor: total,
        });
    }
    Ok((lines, tickets_back))
}

/// Reads a delivery.
pub fn read(body: &[u8]) -> Result<Delivery, OrderError> {
    let env: Envelope = super::json(Shop::HiEvents, body)?;
    if !matches!(
        env.event_type.as_str(),
        "order.created" | "order.updated" | "order.marked_as_paid" | "order.refunded" | "order.cancelled"
    ) {
        let shown: String = env.event_type.chars().take(60).collect();
        return Ok(Delivery::Ignored(format!("event `{shown}` is not about orders")));
    }
    let o: Order = serde_json::from_value(env.payload)
        .map_err(|e| OrderError::Malformed(format!("payload is not a Hi.Events order: {e}")))?;
    let dec = currency_decimals(&o.currency);
    let amount = |v: &Value| number_text(v).map_or(Ok(0), |t| minor_units(&t, dec));
    let ordered_at = shop_time(&o.created_at)?;
    let times = [o.updated_at.as_deref(), env.event_sent_at.as_deref()];
    let mut updated_at = ordered_at;
    for t in times.into_iter().flatten() {
        updated_at = updated_at.max(shop_time(t)?);
    }
    let (lines, tickets_back) = lines_of(&o, dec)?;
    let status = match o.status.as_str() {
        "CANCELLED" => ShopStatus::Cancelled,
        "COMPLETED" if o.is_fully_refunded => ShopStatus::Refunded,
        "COMPLETED" => ShopStatus::Paid,
        _ => ShopStatus::Unpaid,
    };
    // Refunds are of the gross total (taxes and fees included); the lines are counted
    // before additions: the refund is taken on the lines' share of the total.
    let refunded = o.total_refunded.as_ref().map_or(Ok(0), amount)?;
    let gross = o.total_gross.as_ref().map_or(Ok(0), amount)?;
    let lines_total: i64 = lines.iter().map(|l| l.total_minor).sum();
    let refunded = if gross > lines_total && gross > 0 {
        i64::try_from(i128::from(refunded) * i128::from(lines_total) / i128::from(gross)).unwrap_or(refunded)
    } else {
        refunded
    };
    let name = super::full_name(o.first_name.as_deref(), o.last_name.as_deref());
    let id = number_text(&o.id).ok_or_else(|| OrderError::Malformed("payload.id is missing".into()))?;
    Ok(Delivery::Orders {
        id: None,
        orders: vec![ShopOrder {
            id,
            event_key: number_text(&o.event_id),
            status,
            ordered_at,
            updated_at,
            ref_code: o.affiliate_code.filter(|c| !c.trim().is_empty()),
            promo_codes: o.promo_code.into_iter().filter(|c| !c.trim().is_empty()).collect(),
            buyer_name: name,
            buyer_email: o.email,
            buyer_phone: None,
            currency: o.currency.to_ascii_uppercase(),
            lines,
            refunded_minor: (refunded - tickets_back).max(0),
        }],
    })
}
