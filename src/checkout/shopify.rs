//! Shopify: `orders/create`, `orders/updated`, `orders/paid`, `orders/cancelled` carry
//! the whole order (refunds included); `refunds/create` is completed from the Admin
//! API when the connection has a token. Signed with a base64 HMAC of the body.

use super::api::ShopApi;
use super::{
    ConnectorError, Delivery, Headers, ShopLine, ShopOrder, ShopSignatureError, ShopStatus, currency_decimals,
    minor_units, ref_of_url, shop_time,
};
use crate::domain::Shop;
use crate::ingest::OrderError;
use serde::Deserialize;
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-shopify-hmac-sha256";

/// Checks `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body).
pub fn verify(headers: &(dyn Headers + Sync), body: &[u8], secrets: &[String]) -> Result<(), ShopSignatureError> {
    let h = "X-Shopify-Hmac-Sha256";
    let sig = headers.header(SIGNATURE_HEADER).ok_or(ShopSignatureError::Missing(h))?;
    let sig = super::sign::base64_sig(sig, h)?;
    if super::sign::matches_any(secrets, &[body], &sig) {
        Ok(())
    } else {
        Err(ShopSignatureError::Mismatch)
    }
}

/// A Shopify order (REST Admin API shape, as webhooks send it).
#[derive(Debug, Deserialize)]
pub struct Order {
    id: Value,
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    cancelled_at: Option<String>,
    #[serde(default)]
    financial_status: Option<String>,
    currency: String,
    #[serde(default)]
    landing_site: Option<String>,
    #[serde(default)]
    landing_site_ref: Option<String>,
    #[serde(default)]
    taxes_included: bool,
    #[serde(default)]
    note_attributes: Vec<NoteAttribute>,
    #[serde(default)]
    discount_codes: Vec<DiscountCode>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    customer: Option<super::Contact>,
    #[serde(default)]
    billing_address: Option<Address>,
    #[serde(default)]
    line_items: Vec<LineItem>,
    #[serde(default)]
    refunds: Vec<Refund>,
}

#[derive(Debug, Deserialize)]
struct NoteAttribute {
    name: String,
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Deserialize)]
struct DiscountCode {
    code: String,
}

#[derive(Debug, Deserialize)]
struct Address {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LineItem {
    id: Value,
    #[serde(default)]
    product_id: Value,
    title: String,
    #[serde(default)]
    variant_title: Option<String>,
    quantity: i64,
    /// What is left of the line after refunds and removals by an order edit
    /// (`quantity` never changes after purchase).
    #[serde(default)]
    current_quantity: Option<i64>,
    price: String,
    #[serde(default)]
    total_discount: Option<String>,
    #[serde(default)]
    discount_allocations: Vec<Amount>,
    #[serde(default)]
    tax_lines: Vec<TaxLine>,
}

#[derive(Debug, Deserialize)]
struct TaxLine {
    price: Value,
}

#[derive(Debug, Deserialize)]
struct Amount {
    amount: String,
}

#[derive(Debug, Deserialize)]
struct Refund {
    #[serde(default)]
    refund_line_items: Vec<RefundLine>,
    #[serde(default)]
    transactions: Vec<Transaction>,
    #[serde(default)]
    order_adjustments: Vec<Adjustment>,
    /// Shipping refunded, from API version 2024-10 on (before it, an adjustment).
    #[serde(default)]
    refund_shipping_lines: Vec<RefundShippingLine>,
}

#[derive(Debug, Deserialize)]
struct RefundShippingLine {
    #[serde(default)]
    subtotal_amount_set: Option<MoneySet>,
}

/// An amount in the shop's and in the buyer's (presentment) currency.
#[derive(Debug, Deserialize)]
struct MoneySet {
    #[serde(default)]
    presentment_money: Option<MoneyAmount>,
    #[serde(default)]
    shop_money: Option<MoneyAmount>,
}

#[derive(Debug, Deserialize)]
struct MoneyAmount {
    amount: Value,
}

#[derive(Debug, Deserialize)]
struct RefundLine {
    line_item_id: Value,
    quantity: i64,
    #[serde(default)]
    subtotal: Option<Value>,
    #[serde(default)]
    total_tax: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Adjustment {
    #[serde(default)]
    amount: Option<Value>,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Transaction {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    status: Option<String>,
    amount: String,
}

#[derive(Debug, Deserialize)]
struct RefundNotice {
    order_id: Value,
}

#[derive(Debug, Deserialize)]
struct OrderPage {
    orders: Vec<Order>,
}

/// Every order of the shop with a line of `product` (for `sync`), newest first, a
/// page of 250 at a time by `since_id` (ids only grow).
pub async fn list(api: &ShopApi, product: &str) -> Result<Vec<ShopOrder>, ConnectorError> {
    let mut orders = Vec::new();
    let mut since = String::from("0");
    for _page in 0..super::MAX_PAGES {
        let url = api.url(&format!("orders.json?status=any&limit=250&since_id={since}"))?;
        let page: OrderPage = api.get(url).await?;
        let Some(last) = page
            .orders
            .iter()
            .filter_map(|o| id_text(&o.id))
            .max_by_key(|id| id.parse::<u64>().unwrap_or(0))
        else {
            break;
        };
        since = last;
        for o in page.orders {
            if o.line_items
                .iter()
                .any(|l| id_text(&l.product_id).as_deref() == Some(product))
            {
                orders.push(order_of(o)?);
            }
        }
    }
    Ok(orders)
}

/// A Shopify id (an integer that may pass 2^53, or a string) as text.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Some(s.clone()),
        _ => None,
    }
}

/// A decimal amount that Shopify sends as a string or a number.
fn money(v: &Value, decimals: u32) -> Result<i64, OrderError> {
    match v {
        Value::String(s) => minor_units(s, decimals),
        Value::Number(n) => minor_units(&n.to_string(), decimals),
        _ => Ok(0),
    }
}

/// Reads a delivery by its topic (`X-Shopify-Topic`).
pub async fn read(
    api: Option<&ShopApi>,
    headers: &(dyn Headers + Sync),
    body: &[u8],
) -> Result<Delivery, ConnectorError> {
    let topic = headers.header("x-shopify-topic").unwrap_or("");
    let id = headers
        .header("x-shopify-webhook-id")
        .map(|s| s.chars().take(200).collect());
    let order: Order = match topic {
        "orders/create" | "orders/updated" | "orders/paid" | "orders/cancelled" => super::json(Shop::Shopify, body)?,
        // Its body is the edit (`order_edit`), not the order; Shopify sends the edited
        // order as `orders/updated`.
        "orders/edited" => {
            return Ok(Delivery::Ignored("an order edit is counted from orders/updated".into()));
        }
        "refunds/create" => {
            let notice: RefundNotice = super::json(Shop::Shopify, body)?;
            let Some(api) = api else {
                // Shopify sends `orders/updated` with the refund in it as well.
                return Ok(Delivery::Ignored(
                    "refunds/create is counted from orders/updated".into(),
                ));
            };
            let Some(order_id) = id_text(&notice.order_id) else {
                return Err(OrderError::Malformed("order_id is not a Shopify id".into()).into());
            };
            #[derive(Deserialize)]
            struct Wrapped {
                order: Order,
            }
            let w: Wrapped = api.get(api.url(&format!("orders/{order_id}.json"))?).await?;
            w.order
        }
        other => {
            let shown: String = other.chars().take(60).collect();
            return Ok(Delivery::Ignored(format!("topic `{shown}` is not about orders")));
        }
    };
    Ok(Delivery::Orders {
        id,
        orders: vec![order_of(order)?],
    })
}

/// Tickets refunded per line item id, money refunded, and the refunded tickets' value.
type Refunds = (std::collections::HashMap<String, i64>, i64, i64);

fn refunds_of(o: &Order, dec: u32) -> Result<Refunds, OrderError> {
    let mut refunded_qty: std::collections::HashMap<String, i64> = Default::default();
    let (mut money_back, mut tickets_back) = (0_i64, 0_i64);
    for r in &o.refunds {
        for rl in &r.refund_line_items {
            if let Some(k) = id_text(&rl.line_item_id) {
                *refunded_qty.entry(k).or_default() += rl.quantity.max(0);
            }
            // The refunded tickets' value as paid, as their lines count it: the
            // subtotal, and its tax where prices exclude it (else it is in the subtotal).
            let tax = if o.taxes_included { &None } else { &rl.total_tax };
            for v in [&rl.subtotal, tax].into_iter().flatten() {
                tickets_back += money(v, dec)?;
            }
        }
        for t in &r.transactions {
            if t.kind.as_deref() == Some("refund") && t.status.as_deref().is_none_or(|s| s == "success") {
                money_back += minor_units(&t.amount, dec)?;
            }
        }
        // Shipping refunded is not the tickets' money: `refund_shipping_lines` from API
        // version 2024-10 on (in the currency the refund's transactions are in), an
        // adjustment before it (Shopify's adjustments are negative), never both.
        if r.refund_shipping_lines.is_empty() {
            for a in r
                .order_adjustments
                .iter()
                .filter(|a| a.kind.as_deref() == Some("shipping_refund"))
            {
                if let Some(v) = &a.amount {
                    money_back -= money(v, dec)?.abs();
                }
            }
        }
        for s in r
            .refund_shipping_lines
            .iter()
            .filter_map(|s| s.subtotal_amount_set.as_ref())
        {
            if let Some(m) = s.presentment_money.as_ref().or(s.shop_money.as_ref()) {
                money_back -= money(&m.amount, dec)?.abs();
            }
        }
    }
    Ok((refunded_qty, money_back, tickets_back))
}

/// The line items as counted: after their discounts, less their refunded or removed
/// tickets; and the value of the tickets an order edit removed without a refund line.
fn lines_of(
    o: &Order,
    dec: u32,
    refunded_qty: &std::collections::HashMap<String, i64>,
) -> Result<(Vec<ShopLine>, i64), OrderError> {
    let mut lines = Vec::with_capacity(o.line_items.len());
    let mut removed_value = 0;
    for l in &o.line_items {
        let discount = if l.discount_allocations.is_empty() {
            l.total_discount.as_deref().map_or(Ok(0), |d| minor_units(d, dec))?
        } else {
            l.discount_allocations
                .iter()
                .map(|a| minor_units(&a.amount, dec))
                .sum::<Result<i64, _>>()?
        };
        let unit = minor_units(&l.price, dec)?;
        // What the buyer paid: taxes added where prices exclude them.
        let tax = if o.taxes_included {
            0
        } else {
            l.tax_lines
                .iter()
                .map(|t| money(&t.price, dec))
                .sum::<Result<i64, _>>()?
        };
        let by_refund = id_text(&l.id).and_then(|k| refunded_qty.get(&k).copied()).unwrap_or(0);
        // Tickets refunded, or removed by an order edit (which `current_quantity` shows
        // and no refund may record): either way no longer the buyer's.
        let gone = by_refund
            .max(l.current_quantity.map_or(0, |c| l.quantity - c.max(0)))
            .clamp(0, l.quantity.max(0));
        let total = unit
            .saturating_mul(l.quantity)
            .saturating_sub(discount)
            .saturating_add(tax);
        removed_value += super::tickets_value(total, l.quantity, gone - by_refund.min(gone));
        lines.push(ShopLine {
            event_key: id_text(&l.product_id),
            ticket_type: l
                .variant_title
                .clone()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| l.title.clone()),
            quantity: l.quantity,
            refunded_quantity: gone,
            total_minor: total,
        });
    }
    Ok((lines, removed_value))
}

/// The order as promoterd counts it.
pub fn order_of(o: Order) -> Result<ShopOrder, OrderError> {
    let dec = currency_decimals(&o.currency);
    let id = id_text(&o.id).ok_or_else(|| OrderError::Malformed("id is not a Shopify id".into()))?;
    let (refunded_qty, money_back, mut tickets_back) = refunds_of(&o, dec)?;
    let (lines, removed_value) = lines_of(&o, dec, &refunded_qty)?;
    // Tickets an edit removed with no refund line: money refunded for them (a refund
    // with transactions only) is theirs, not a refund beyond the tickets.
    tickets_back += removed_value;
    // Never paid (voided: authorized, never captured), cancelled or not: no sale.
    let unpaid = matches!(
        o.financial_status.as_deref(),
        Some("pending" | "authorized" | "partially_paid" | "expired" | "voided")
    );
    let status = match (o.cancelled_at.as_deref(), o.financial_status.as_deref()) {
        _ if unpaid => ShopStatus::Unpaid,
        (Some(c), _) if !c.is_empty() => ShopStatus::Cancelled,
        (_, Some("refunded")) => ShopStatus::Refunded,
        _ => ShopStatus::Paid,
    };
    let note = |name: &str| {
        o.note_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .and_then(|a| {
                a.value
                    .as_str()
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(String::from)
            })
    };
    let ref_code = o
        .landing_site
        .as_deref()
        .and_then(ref_of_url)
        .or_else(|| note("ref"))
        // Shopify's own parse of `ref` (or `source`, `r`): only when the page is gone.
        .or_else(|| {
            o.landing_site_ref
                .clone()
                .filter(|r| !r.trim().is_empty() && o.landing_site.is_none())
        });
    let customer = o.customer.as_ref();
    let full_name = customer.and_then(|c| super::full_name(c.first_name.as_deref(), c.last_name.as_deref()));
    let ordered_at = shop_time(&o.created_at)?;
    Ok(ShopOrder {
        id,
        event_key: None,
        status,
        ordered_at,
        updated_at: match &o.updated_at {
            Some(u) => shop_time(u)?,
            None => ordered_at,
        },
        ref_code,
        promo_codes: o.discount_codes.iter().map(|d| d.code.clone()).collect(),
        buyer_name: full_name.or_else(|| o.billing_address.as_ref().and_then(|a| a.name.clone())),
        buyer_email: o
            .email
            .clone()
            .filter(|e| !e.is_empty())
            .or_else(|| customer.and_then(|c| c.email.clone())),
        buyer_phone: o
            .phone
            .clone()
            .or_else(|| customer.and_then(|c| c.phone.clone()))
            .or_else(|| o.billing_address.as_ref().and_then(|a| a.phone.clone())),
        currency: o.currency.to_ascii_uppercase(),
        lines,
        refunded_minor: (money_back - tickets_back).max(0),
    })
}
