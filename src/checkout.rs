//! Ticket shops: each connector reads its shop's deliveries into [`ShopOrder`]s, and
//! one mapping turns those into the raw orders every other path validates and stores.

pub mod api;
mod connection;
pub mod eventbrite;
pub mod hievents;
pub mod intake;
pub mod pretix;
pub mod shopify;
mod sign;
pub mod stripe;
pub mod tickettailor;
pub mod vouchers;
pub mod woocommerce;

pub use crate::money::currency_decimals;
pub use connection::{Connection, Connections};
pub use sign::{ShopSignatureError, decode_entities, hmac_base64, hmac_hex, secret_matches};

use crate::domain::Shop;
use crate::ingest::{OrderError, RawLine, RawOrder};
use chrono::{DateTime, Utc};

/// Most pages a backfill reads from a shop's API.
pub const MAX_PAGES: usize = 1000;

/// A delivery's headers, by lowercase name.
pub trait Headers {
    fn header(&self, name: &str) -> Option<&str>;
}

/// What a delivery asks of promoterd once read (and completed from the shop's API).
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Orders in their current state; `id` is the shop's id of the delivery, if any.
    Orders { id: Option<String>, orders: Vec<ShopOrder> },
    /// Nothing to store (a ping, an event type not about orders, an unpaid order);
    /// answered 200 so the shop neither retries nor gives up on the address.
    Ignored(String),
}

/// Why a delivery was not read.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The body is not what the shop sends: 400.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// The shop's API could not complete it: 502/503, the shop retries.
    #[error(transparent)]
    Api(#[from] api::ApiError),
}

/// Checks a delivery's signature with one connection's secrets (shops that sign).
pub fn verify(
    shop: Shop,
    headers: &(dyn Headers + Sync),
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), ShopSignatureError> {
    match shop {
        Shop::Stripe => stripe::verify(headers, body, secrets, now),
        Shop::Shopify => shopify::verify(headers, body, secrets),
        Shop::WooCommerce => woocommerce::verify(headers, body, secrets),
        Shop::TicketTailor => tickettailor::verify(headers, body, secrets, now),
        Shop::HiEvents => hievents::verify(headers, body, secrets),
        // No signature: the secret is in the address (`signs_in_path`).
        Shop::Pretix | Shop::Eventbrite | Shop::Webhook => Err(ShopSignatureError::UnknownConnection),
    }
}

/// Whether the shop's deliveries carry no signature, only the secret in the address.
pub fn signs_in_path(shop: Shop) -> bool {
    matches!(shop, Shop::Pretix | Shop::Eventbrite)
}

/// Reads an authenticated delivery, completing it from the shop's API where the
/// delivery is only a notification.
pub async fn read(
    shop: Shop,
    api: Option<&api::ShopApi>,
    headers: &(dyn Headers + Sync),
    body: &[u8],
) -> Result<Delivery, ConnectorError> {
    match shop {
        Shop::Stripe => stripe::read(api, body).await,
        Shop::Shopify => shopify::read(api, headers, body).await,
        Shop::WooCommerce => Ok(woocommerce::read(headers, body)?),
        Shop::Pretix => pretix::read(api, body).await,
        Shop::TicketTailor => Ok(tickettailor::read(body)?),
        Shop::Eventbrite => eventbrite::read(api, body).await,
        Shop::HiEvents => Ok(hievents::read(body)?),
        Shop::Webhook => Ok(Delivery::Ignored("not a shop".into())),
    }
}

/// The JSON body as `T`, or a malformed-order error naming the shop.
pub(crate) fn json<T: serde::de::DeserializeOwned>(shop: Shop, body: &[u8]) -> Result<T, OrderError> {
    serde_json::from_slice(body)
        .map_err(|e| OrderError::Malformed(format!("the body is not a {} delivery: {e}", shop.label())))
}

/// A buyer as several shops write one (Shopify's customer, WooCommerce's billing).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// First and last name, when either is given.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let n = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!n.is_empty()).then_some(n)
}

/// What an order is at the shop, as far as counting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopStatus {
    /// Paid (refunds, if any, are in the lines and `refunded_minor`).
    Paid,
    /// Every ticket refunded.
    Refunded,
    Cancelled,
    /// Not paid yet (pending, on hold, awaiting payment): not counted until it is.
    Unpaid,
}

/// One order as a shop reports it, before it is tied to an event.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopOrder {
    /// The shop's order id.
    pub id: String,
    /// The shop's id of the order's event, where the order names one.
    pub event_key: Option<String>,
    pub status: ShopStatus,
    pub ordered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The tracking link's code as the shop kept it.
    pub ref_code: Option<String>,
    /// Discount or voucher codes the buyer entered.
    pub promo_codes: Vec<String>,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    pub currency: String,
    pub lines: Vec<ShopLine>,
    /// Money refunded that no refunded ticket accounts for (a refund by amount).
    pub refunded_minor: i64,
}

/// One ticket line of a [`ShopOrder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopLine {
    /// The shop's id of the line's event (a product), where lines name one.
    pub event_key: Option<String>,
    pub ticket_type: String,
    pub quantity: i64,
    pub refunded_quantity: i64,
    /// What the buyer paid for all `quantity` tickets of the line, after discounts.
    pub total_minor: i64,
}

/// A shop order's share for one of our events.
#[derive(Debug, Clone, PartialEq)]
pub struct EventShare {
    /// The shop's id of the event.
    pub key: String,
    /// How many of the shop order's lines are in it.
    pub lines: usize,
    pub raw: RawOrder,
}

impl ShopOrder {
    /// Every shop id the order may be counted under: its lines' (products) and its own
    /// (a Payment Link, an event), first seen first.
    pub fn event_keys(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let all = self
            .lines
            .iter()
            .filter_map(|l| l.event_key.as_ref())
            .chain(self.event_key.as_ref());
        all.filter(|k| seen.insert(k.as_str())).cloned().collect()
    }

    /// The key a line counts under: its own when it names one of our events, else the
    /// order's.
    fn key_of<'a>(&'a self, l: &'a ShopLine, known: &impl Fn(&str) -> Option<String>) -> Option<&'a String> {
        [l.event_key.as_ref(), self.event_key.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| known(k).is_some())
    }

    /// The order's share for each event `event_of` knows (by the shop's key, as the
    /// event's short name or id), in the order the lines name them: lines of other
    /// products are left out, and a refund by amount is split between the shares by
    /// largest remainder. Each share's raw order carries the shop's order id; naming
    /// the shares of an order of several events is the caller's (see `intake`).
    pub fn shares(&self, event_of: impl Fn(&str) -> Option<String>) -> Result<Vec<EventShare>, OrderError> {
        // (first key, event, lines), one per event: several products can sell one event.
        let mut ours: Vec<(String, String, Vec<&ShopLine>)> = Vec::new();
        for l in &self.lines {
            let Some(k) = self.key_of(l, &event_of) else { continue };
            let Some(e) = event_of(k) else { continue };
            match ours.iter_mut().find(|(_, x, _)| *x == e) {
                Some((_, _, lines)) => lines.push(l),
                None => ours.push((k.clone(), e, vec![l])),
            }
        }
        if self.lines.is_empty()
            && let Some(k) = &self.event_key
            && let Some(e) = event_of(k)
        {
            ours.push((k.clone(), e, Vec::new())); // a cancellation may carry no lines
        }
        let exact: Vec<Vec<RawLine>> = ours
            .iter()
            .map(|(_, _, lines)| lines.iter().flat_map(|l| exact_lines(l, &self.currency)).collect())
            .collect();
        // The refund by amount is the whole order's: the lines of other products take
        // their part of it, in proportion to what each keeps.
        let others: i64 = self
            .lines
            .iter()
            .filter(|l| self.key_of(l, &event_of).is_none())
            .flat_map(|l| exact_lines(l, &self.currency))
            .map(|l| kept(&l))
            .sum();
        let mut weights: Vec<i64> = exact.iter().map(|ls| ls.iter().map(kept).sum()).collect();
        weights.push(others);
        let parts = allocate(self.refunded_minor, &weights);
        ours.into_iter()
            .zip(exact)
            .zip(parts)
            .map(|(((key, event, shop_lines), lines), refund)| {
                let raw = self.raw(event, lines, refund)?;
                Ok(EventShare {
                    key,
                    lines: shop_lines.len(),
                    raw,
                })
            })
            .collect()
    }

    /// The raw order of exact `lines` for `event`, with `refund` (money back beyond
    /// refunded tickets) spread over them.
    fn raw(&self, event: String, mut lines: Vec<RawLine>, refund: i64) -> Result<RawOrder, OrderError> {
        let kept_here: i64 = lines.iter().map(kept).sum();
        let whole_refund = kept_here > 0 && refund >= kept_here;
        if !whole_refund {
            let weights: Vec<i64> = lines.iter().map(kept).collect();
            for (l, part) in lines.iter_mut().zip(allocate(refund.min(kept_here), &weights)) {
                l.refunded_minor = part;
            }
        }
        let status = match self.status {
            ShopStatus::Refunded => "refunded",
            ShopStatus::Cancelled => "cancelled",
            ShopStatus::Paid if whole_refund => "refunded",
            ShopStatus::Paid => "paid",
            ShopStatus::Unpaid => {
                return Err(OrderError::Malformed("the order is not paid yet".into()));
            }
        };
        Ok(RawOrder {
            order_id: self.id.clone(),
            event,
            status: status.into(),
            ordered_at: self.ordered_at.to_rfc3339(),
            updated_at: Some(self.updated_at.to_rfc3339()),
            ref_code: self.ref_code.clone(),
            buyer_name: self.buyer_name.clone(),
            buyer_email: self.buyer_email.clone(),
            buyer_phone: self.buyer_phone.clone(),
            lines,
        })
    }
}

/// What the buyer keeps of a stored line: its tickets not refunded, at their price.
fn kept(l: &RawLine) -> i64 {
    (l.quantity - l.refunded_quantity).max(0) * l.unit_price_minor.max(0)
}

/// The value of `count` refunded tickets of a line of `quantity` tickets paid `total`
/// as [`exact_lines`] stores it (the dearer tickets first).
pub fn tickets_value(total: i64, quantity: i64, count: i64) -> i64 {
    if quantity <= 0 || total < 0 {
        return 0;
    }
    let count = count.clamp(0, quantity);
    let (unit, rest) = (total / quantity, total % quantity);
    count * unit + count.min(rest)
}

/// A line as stored lines with whole unit prices that add up to exactly what was paid:
/// `total = q × unit + r` becomes `q - r` tickets at `unit` and `r` at `unit + 1`.
/// Refunded tickets are taken from the dearer part first.
fn exact_lines(l: &ShopLine, currency: &str) -> Vec<RawLine> {
    let q = l.quantity;
    let line = |quantity: i64, refunded: i64, unit: i64| RawLine {
        ticket_type: l.ticket_type.clone(),
        quantity,
        refunded_quantity: refunded,
        unit_price_minor: unit,
        refunded_minor: 0,
        currency: currency.to_string(),
    };
    if q <= 0 || l.total_minor < 0 {
        // Refused by the rules with the shop's own figures.
        return vec![line(q, l.refunded_quantity, l.total_minor)];
    }
    let (unit, rest) = (l.total_minor / q, l.total_minor % q);
    if rest == 0 {
        return vec![line(q, l.refunded_quantity, unit)];
    }
    let refunded_dear = l.refunded_quantity.clamp(0, rest);
    let refunded_cheap = (l.refunded_quantity - refunded_dear).clamp(0, q - rest);
    vec![
        line(q - rest, refunded_cheap, unit),
        line(rest, refunded_dear, unit + 1),
    ]
}

/// Splits `amount` in proportion to `weights` by largest remainder (ties to the
/// earlier), never giving a part more than its weight; the parts add up to `amount`
/// capped at the weights' sum.
fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i64 = weights.iter().map(|w| (*w).max(0)).sum();
    if amount <= 0 || total <= 0 {
        return vec![0; weights.len()];
    }
    let amount = amount.min(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut rests: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let n = i128::from(amount) * i128::from((*w).max(0));
        parts.push(i64::try_from(n / i128::from(total)).unwrap_or(0));
        rests.push((n % i128::from(total), i));
    }
    let given: i64 = parts.iter().sum();
    rests.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rests.into_iter().take(usize::try_from(amount - given).unwrap_or(0)) {
        parts[i] += 1;
    }
    parts
}

/// A decimal amount as the shops write it (`"25.00"`, `25`, `"-10.5"`) in minor units
/// of a currency with `decimals` places; refused when it has more places or is absurd.
pub fn minor_units(text: &str, decimals: u32) -> Result<i64, OrderError> {
    let bad = || {
        OrderError::Malformed(format!(
            "amount `{}` is not a decimal number",
            text.chars().take(40).collect::<String>()
        ))
    };
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > decimals as usize {
        return Err(bad());
    }
    let scale = 10_i64.pow(decimals);
    let mut f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    f *= 10_i64.pow(decimals - frac.len() as u32);
    let v = whole.parse::<i64>().map_err(|_| bad())? * scale + f;
    Ok(if neg { -v } else { v })
}

/// The `ref` parameter of a URL or of a path with a query (`/?ref=CODE`).
pub fn ref_of_url(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or("");
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "ref")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A Unix time as the shops send it.
pub fn unix_time(secs: i64) -> Result<DateTime<Utc>, OrderError> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| OrderError::Malformed(format!("time {secs} is out of range")))
}

/// An RFC 3339 time, or one without an offset taken as UTC (WooCommerce's `*_gmt`).
pub fn shop_time(text: &str) -> Result<DateTime<Utc>, OrderError> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return Ok(d.and_utc());
        }
    }
    Err(OrderError::Malformed(format!(
        "time `{}` is not a date and time",
        t.chars().take(40).collect::<String>()
    )))
}

#[cfg(test)]
mod tests;
