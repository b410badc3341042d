//! Ticket Tailor: `ORDER.CREATED` and `ORDER.UPDATED` carry the order (a cancellation
//! is an update; voided tickets are refunded tickets). Signed with
//! `Tickettailor-Webhook-Signature: t=<unix>,v1=<hex>`, HMAC over timestamp + body.

use super::sign::{fresh, hex_sig, matches_any};
use super::{Delivery, Headers, ShopLine, ShopOrder, ShopSignatureError, ShopStatus, shop_time, unix_time};
use crate::domain::Shop;
use crate::ingest::OrderError;
use serde::Deserialize;

pub const SIGNATURE_HEADER: &str = "tickettailor-webhook-signature";
/// Ticket Tailor advises refusing signatures older than five minutes.
pub const TOLERANCE: i64 = 300;

/// Checks the signature: `hex(HMAC-SHA256(secret, <t> + <raw body>))`, no separator.
pub fn verify(
    headers: &(dyn Headers + Sync),
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), ShopSignatureError> {
    let h = "Tickettailor-Webhook-Signature";
    let value = headers.header(SIGNATURE_HEADER).ok_or(ShopSignatureError::Missing(h))?;
    let (mut t, mut sigs) = (None, Vec::new());
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.trim().to_string()),
            Some(("v1", v)) => sigs.push(hex_sig(v, h)?),
            _ => return Err(ShopSignatureError::Malformed(h)),
        }
    }
    let t = t.ok_or(ShopSignatureError::Malformed(h))?;
    let secs: i64 = t.parse().map_err(|_| ShopSignatureError::Malformed(h))?;
    if sigs.is_empty() || sigs.len() > 8 {
        return Err(ShopSignatureError::Malformed(h));
    }
    fresh(secs, now, TOLERANCE)?;
    if sigs.iter().any(|s| matches_any(secrets, &[t.as_bytes(), body], s)) {
        Ok(())
    } else {
        Err(ShopSignatureError::Mismatch)
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    id: String,
    #[serde(default)]
    created_at: Option<String>,
    event: String,
    payload: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Order {
    id: String,
    created_at: i64,
    status: String,
    #[serde(default)]
    referral_tag: Option<String>,
    currency: Currency,
    event_summary: EventSummary,
    #[serde(default)]
    buyer_details: Option<Buyer>,
    #[serde(default)]
    line_items: Vec<LineItem>,
    #[serde(default)]
    issued_tickets: Vec<IssuedTicket>,
    #[serde(default)]
    refund_amount: i64,
}

#[derive(Debug, Deserialize)]
struct Currency {
    code: String,
}

#[derive(Debug, Deserialize)]
struct EventSummary {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Buyer {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LineItem {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    item_id: Option<String>,
    description: String,
    quantity: i64,
    total: i64,
}

#[derive(Debug, Deserialize)]
struct IssuedTicket {
    #[serde(default)]
    ticket_type_id: Option<String>,
    status: String,
    #[serde(default)]
    updated_at: Option<i64>,
    #[serde(default)]
    voided_at: Option<i64>,
}

/// Reads a delivery.
pub fn read(body: &[u8]) -> Result<Delivery, OrderError> {
    let env: Envelope = super::json(Shop::TicketTailor, body)?;
    if !matches!(env.event.as_str(), "ORDER.CREATED" | "ORDER.UPDATED") {
        let shown: String = env.event.chars().take(60).collect();
        return Ok(Delivery::Ignored(format!("event `{shown}` is not about orders")));
    }
    let o: Order = serde_json::from_value(env.payload)
        .map_err(|e| OrderError::Malformed(format!("payload is not a Ticket Tailor order: {e}")))?;
    let ordered_at = unix_time(o.created_at)?;
    // The delivery's time orders the states of an order; tickets' times where later.
    let sent = env.created_at.as_deref().map(shop_time).transpose()?;
    let ticket_times = o
        .issued_tickets
        .iter()
        .flat_map(|t| [t.updated_at, t.voided_at])
        .flatten()
        .max();
    let updated_at = [Some(ordered_at), sent, ticket_times.map(unix_time).transpose()?]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(ordered_at);
    let mut voided: std::collections::HashMap<&str, i64> = Default::default();
    for t in o.issued_tickets.iter().filter(|t| t.status == "voided") {
        if let Some(tt) = t.ticket_type_id.as_deref() {
            *voided.entry(tt).or_default() += 1;
        }
    }
    let voided = |item: &Option<String>| item.as_deref().and_then(|i| voided.get(i)).copied().unwrap_or(0);
    let lines: Vec<ShopLine> = o
        .line_items
        .iter()
        .filter(|l| l.kind == "ticket")
        .map(|l| ShopLine {
            event_key: None,
            ticket_type: l.description.clone(),
            quantity: l.quantity,
            refunded_quantity: voided(&l.item_id).min(l.quantity),
            total_minor: l.total,
        })
        .collect();
    let voided_value: i64 = lines
        .iter()
        .map(|l| super::tickets_value(l.total_minor, l.quantity, l.refunded_quantity))
        .sum();
    let status = match o.status.as_str() {
        "cancelled" => ShopStatus::Cancelled,
        "completed" => ShopStatus::Paid,
        _ => ShopStatus::Unpaid,
    };
    let buyer = o.buyer_details.unwrap_or(Buyer {
        name: None,
        email: None,
        phone: None,
    });
    Ok(Delivery::Orders {
        id: Some(env.id.chars().take(200).collect()),
        orders: vec![ShopOrder {
            id: o.id,
            event_key: Some(o.event_summary.id),
            status,
            ordered_at,
            updated_at,
            ref_code: o.referral_tag.filter(|r| !r.trim().is_empty()),
            promo_codes: Vec::new(),
            buyer_name: buyer.name,
            buyer_email: buyer.email,
            buyer_phone: buyer.phone,
            currency: o.currency.code.to_ascii_uppercase(),
            lines,
            refunded_minor: (o.refund_amount - voided_value).max(0),
        }],
    })
}
