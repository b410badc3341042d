//! WooCommerce: `order.created` and `order.updated` carry the REST order (refunds
//! arrive as updates, by amount). Signed with `X-WC-Webhook-Signature`, a base64
//! HMAC-SHA256 of the body; saving a webhook sends an unsigned ping first.

use super::sign::{base64_sig, decode_entities, matches_any};
use super::{
    Delivery, Headers, ShopLine, ShopOrder, ShopSignatureError, ShopStatus, currency_decimals, minor_units, ref_of_url,
    shop_time,
};
use crate::domain::Shop;
use crate::ingest::OrderError;
use serde::Deserialize;
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-wc-webhook-signature";

/// Checks `X-WC-Webhook-Signature` with each secret as saved and as WooCommerce
/// decodes it (HTML entities) before signing.
pub fn verify(headers: &(dyn Headers + Sync), body: &[u8], secrets: &[String]) -> Result<(), ShopSignatureError> {
    let h = "X-WC-Webhook-Signature";
    let sig = headers.header(SIGNATURE_HEADER).ok_or(ShopSignatureError::Missing(h))?;
    let sig = base64_sig(sig, h)?;
    let decoded: Vec<String> = secrets
        .iter()
        .map(|s| decode_entities(s))
        .filter(|d| !secrets.contains(d))
        .collect();
    if matches_any(secrets, &[body], &sig) || matches_any(&decoded, &[body], &sig) {
        Ok(())
    } else {
        Err(ShopSignatureError::Mismatch)
    }
}

/// The ping WooCommerce sends, unsigned, when a webhook is saved: `webhook_id=<n>`.
pub fn is_ping(headers: &(dyn Headers + Sync), body: &[u8]) -> bool {
    headers.header(SIGNATURE_HEADER).is_none()
        && body.len() < 64
        && body.starts_with(b"webhook_id=")
        && body[11..].iter().all(u8::is_ascii_digit)
}

#[derive(Debug, Deserialize)]
struct Order {
    id: Value,
    status: String,
    currency: String,
    date_created_gmt: String,
    #[serde(default)]
    date_modified_gmt: Option<String>,
    #[serde(default)]
    date_paid_gmt: Option<String>,
    #[serde(default)]
    billing: Option<super::Contact>,
    #[serde(default)]
    line_items: Vec<LineItem>,
    #[serde(default)]
    coupon_lines: Vec<Coupon>,
    #[serde(default)]
    refunds: Vec<Refund>,
    #[serde(default)]
    meta_data: Vec<Meta>,
}

#[derive(Debug, Deserialize)]
struct LineItem {
    name: String,
    product_id: Value,
    quantity: i64,
    total: String,
    #[serde(default)]
    total_tax: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Coupon {
    code: String,
}

#[derive(Debug, Deserialize)]
struct Refund {
    total: String,
}

#[derive(Debug, Deserialize)]
struct Meta {
    key: String,
    #[serde(default)]
    value: Value,
}

/// Reads a delivery (`X-WC-Webhook-Topic`: `order.created`, `order.updated`…).
pub fn read(headers: &(dyn Headers + Sync), body: &[u8]) -> Result<Delivery, OrderError> {
    let topic = headers.header("x-wc-webhook-topic").unwrap_or("");
    if !matches!(topic, "order.created" | "order.updated" | "order.restored") {
        let shown: String = topic.chars().take(60).collect();
        return Ok(Delivery::Ignored(format!("topic `{shown}` is not about orders")));
    }
    let o: Order = super::json(Shop::WooCommerce, body)?;
    // No delivery id: WooCommerce's (a hash of the webhook and the second) is the same
    // for every delivery of one second. The order's modification time orders its states.
    Ok(Delivery::Orders {
        id: None,
        orders: vec![order_of(o)?],
    })
}

/// The line items as counted, after discounts, taxes included.
fn lines_of(o: &Order, dec: u32) -> Result<Vec<ShopLine>, OrderError> {
    let mut lines = Vec::with_capacity(o.line_items.len());
    for l in &o.line_items {
        let tax = l.total_tax.as_deref().map_or(Ok(0), |t| minor_units(t, dec))?;
        lines.push(ShopLine {
            event_key: match &l.product_id {
                Value::Number(n) if n.is_u64() => Some(n.to_string()),
                _ => None,
            },
            ticket_type: l.name.clone(),
            quantity: l.quantity,
            refunded_quantity: 0,
            total_minor: minor_units(&l.total, dec)? + tax,
        });
    }
    Ok(lines)
}

/// The order as promoterd counts it: refunds are by amount.
fn order_of(o: Order) -> Result<ShopOrder, OrderError> {
    let dec = currency_decimals(&o.currency);
    let id = match &o.id {
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return Err(OrderError::Malformed("id is not a WooCommerce order id".into())),
    };
    let lines = lines_of(&o, dec)?;
    let mut refunded = 0;
    for r in &o.refunds {
        refunded += minor_units(&r.total, dec)?.abs();
    }
    let meta = |key: &str| {
        o.meta_data
            .iter()
            .find(|m| m.key == key)
            .and_then(|m| m.value.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let ref_code = meta("ref")
        .or(meta("_promoterd_ref"))
        .map(String::from)
        .or_else(|| meta("_wc_order_attribution_session_entry").and_then(ref_of_url));
    let status = match o.status.as_str() {
        "processing" | "completed" => ShopStatus::Paid,
        "refunded" => ShopStatus::Refunded,
        // Cancelled after payment; one never paid was never a sale (nor kept).
        "cancelled" | "trash" if o.date_paid_gmt.as_deref().is_some_and(|d| !d.is_empty()) => ShopStatus::Cancelled,
        _ => ShopStatus::Unpaid, // pending, on-hold, failed, checkout-draft, cancelled unpaid
    };
    let ordered_at = shop_time(&o.date_created_gmt)?;
    let billing = o.billing.unwrap_or_default();
    let name = super::full_name(billing.first_name.as_deref(), billing.last_name.as_deref());
    Ok(ShopOrder {
        id,
        event_key: None,
        status,
        ordered_at,
        updated_at: match &o.date_modified_gmt {
            Some(m) => shop_time(m)?.max(ordered_at),
            None => ordered_at,
        },
        ref_code,
        promo_codes: o.coupon_lines.iter().map(|c| c.code.clone()).collect(),
        buyer_name: name,
        buyer_email: billing.email.filter(|e| !e.is_empty()),
        buyer_phone: billing.phone.filter(|p| !p.is_empty()),
        currency: o.currency.to_ascii_uppercase(),
        lines,
        refunded_minor: refunded,
    })
}
