//! Stripe Payment Links and Checkout Sessions: `checkout.session.completed` with its
//! line items read from the API, refunds from `charge.refunded` and
//! `charge.refund.updated` matched by the payment intent.

use super::api::{ApiError, ShopApi};
use super::{ConnectorError, Delivery, Headers, ShopLine, ShopOrder, ShopSignatureError, ShopStatus, unix_time};
use crate::domain::Shop;
use crate::ingest::OrderError;
use serde::Deserialize;

/// The header Stripe signs with: `t=<unix>,v1=<hex>[,v1=<hex>…]`.
pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// The SDKs' default tolerance for the signature's timestamp.
pub const TOLERANCE: i64 = 300;
/// Most line items read for one session.
const MAX_ITEMS: usize = 500;

/// Checks `Stripe-Signature` (HMAC-SHA256 of `"<t>.<body>"`, any `v1`, 300 s).
pub fn verify(
    headers: &(dyn Headers + Sync),
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), ShopSignatureError> {
    use crate::http::SignatureError as E;
    crate::http::verify_signature(headers.header(SIGNATURE_HEADER), body, secrets, now, TOLERANCE).map_err(
        |e| match e {
            E::Missing => ShopSignatureError::Missing("Stripe-Signature"),
            E::Malformed => ShopSignatureError::Malformed("Stripe-Signature"),
            E::Stale(skew, tol) => ShopSignatureError::Stale(skew, tol),
            E::Mismatch => ShopSignatureError::Mismatch,
        },
    )
}

/// An event's type, read first (the object's shape depends on it).
#[derive(Debug, Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct Event<T> {
    id: String,
    created: i64,
    data: EventData<T>,
}

#[derive(Debug, Deserialize)]
struct EventData<T> {
    object: T,
}

/// A Checkout Session, as far as promoterd reads it.
#[derive(Debug, Deserialize)]
pub struct Session {
    pub id: String,
    pub created: i64,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<std::collections::HashMap<String, String>>,
    #[serde(default)]
    pub payment_intent: Option<serde_json::Value>,
    #[serde(default)]
    pub payment_link: Option<serde_json::Value>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub customer_details: Option<CustomerDetails>,
}

#[derive(Debug, Deserialize)]
pub struct CustomerDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A Stripe list (`{"object":"list","data":[…],"has_more":…}`).
#[derive(Debug, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// A Checkout line item (`object: "item"`).
#[derive(Debug, Deserialize)]
pub struct Item {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub quantity: Option<i64>,
    pub amount_total: i64,
    #[serde(default)]
    pub price: Option<Price>,
}

#[derive(Debug, Deserialize)]
pub struct Price {
    #[serde(default)]
    pub product: Option<serde_json::Value>,
    #[serde(default)]
    pub nickname: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Charge {
    amount: i64,
    amount_refunded: i64,
    #[serde(default)]
    payment_intent: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Refund {
    #[serde(default)]
    charge: Option<serde_json::Value>,
}

/// An id that Stripe sends as a string or, when expanded, as an object with `id`.
fn id_of(v: &Option<serde_json::Value>) -> Option<String> {
    match v.as_ref()? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("id")?.as_str().map(String::from),
        _ => None,
    }
}

/// The event with its `data.object` read as `T`.
fn event<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<Event<T>, OrderError> {
    serde_json::from_slice(body).map_err(|e| OrderError::Malformed(format!("not a Stripe event with a {what}: {e}")))
}

fn api(api: Option<&ShopApi>) -> Result<&ShopApi, ConnectorError> {
    api.ok_or_else(|| {
        ConnectorError::Api(ApiError::Unexpected {
            shop: "Stripe",
            detail: "the connection has no API key (api_token)".into(),
        })
    })
}

/// Reads an event; the sessions it is about come from the API with their line items.
pub async fn read(shop_api: Option<&ShopApi>, body: &[u8]) -> Result<Delivery, ConnectorError> {
    let kind: Kind = super::json(Shop::Stripe, body)?;
    // A completed session has no refund yet: one sent late is older than any refund
    // stored since, and its state is ignored as stale.
    let (id, created, session, refunds) = match kind.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let e: Event<Session> = event(body, "Checkout Session")?;
            if e.data.object.payment_status.as_deref() == Some("unpaid") {
                return Ok(Delivery::Ignored("the session is not paid yet".into()));
            }
            (e.id, e.created, e.data.object, Refunds::None)
        }
        "charge.refunded" | "charge.refund.updated" => {
            let (id, created, c): (String, i64, Charge) = if kind.kind == "charge.refunded" {
                let e: Event<Charge> = event(body, "Charge")?;
                (e.id, e.created, e.data.object)
            } else {
                let e: Event<Refund> = event(body, "Refund")?;
                let Some(charge) = id_of(&e.data.object.charge) else {
                    return Ok(Delivery::Ignored("a refund without a charge".into()));
                };
                let api = api(shop_api)?;
                (
                    e.id,
                    e.created,
                    api.get(api.url(&format!("v1/charges/{}", path_id(&charge)?))?).await?,
                )
            };
            let Some(intent) = id_of(&c.payment_intent) else {
                return Ok(Delivery::Ignored("a charge without a payment intent".into()));
            };
            match session_of_intent(api(shop_api)?, &intent).await? {
                Some(s) => (
                    id,
                    created,
                    s,
                    Refunds::Known(c.amount_refunded.max(0), Some(c.amount.max(0))),
                ),
                None => return Ok(Delivery::Ignored("no Checkout Session made this payment".into())),
            }
        }
        other => {
            return Ok(Delivery::Ignored(format!(
                "event type {} is not about orders",
                short(other)
            )));
        }
    };
    let order = order_of(api(shop_api)?, session, created, refunds).await?;
    Ok(Delivery::Orders {
        id: Some(id),
        orders: vec![order],
    })
}

/// A Stripe id safe in a path (`cs_…`, `ch_…`, `pi_…`).
fn path_id(id: &str) -> Result<&str, OrderError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(OrderError::Malformed(
            "a Stripe id has letters, digits and _ only".into(),
        ))
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The Checkout Session of a payment intent.
async fn session_of_intent(api: &ShopApi, intent: &str) -> Result<Option<Session>, ConnectorError> {
    let url = api.url(&format!(
        "v1/checkout/sessions?payment_intent={}&limit=1",
        path_id(intent)?
    ))?;
    let list: List<Session> = api.get(url).await?;
    Ok(list.data.into_iter().next())
}

/// What is known of a session's refunds.
#[derive(Debug, Clone, Copy)]
pub enum Refunds {
    /// None yet (a session just completed).
    None,
    /// Refunded so far and the amount paid, from the charge.
    Known(i64, Option<i64>),
    /// Ask the API (backfill).
    Fetch,
}

/// The session's order: line items from the API, refunds as given. `at` is when
/// Stripe reported it (the event's `created`).
pub async fn order_of(api: &ShopApi, session: Session, at: i64, refunds: Refunds) -> Result<ShopOrder, ConnectorError> {
    let items = line_items(api, &session.id).await?;
    let (refunded, paid, at) = match (refunds, id_of(&session.payment_intent)) {
        (Refunds::Known(r, p), _) => (r, p, at),
        (Refunds::Fetch, Some(pi)) => {
            let (r, last) = refunds_of(api, &pi).await?;
            (r, None, last.unwrap_or(session.created))
        }
        (Refunds::None | Refunds::Fetch, _) => (0, None, at),
    };
    let currency = session.currency.clone().unwrap_or_default().to_ascii_uppercase();
    let (refunded, paid) = (
        stripe_minor(refunded, &currency),
        paid.map(|p| stripe_minor(p, &currency)),
    );
    let lines: Vec<ShopLine> = items
        .into_iter()
        .map(|i| ShopLine {
            event_key: i.price.as_ref().and_then(|p| id_of(&p.product)),
            ticket_type: i
                .description
                .or_else(|| i.price.and_then(|p| p.nickname))
                .unwrap_or_else(|| i.id.clone()),
            quantity: i.quantity.unwrap_or(1),
            refunded_quantity: 0,
            total_minor: stripe_minor(i.amount_total, &currency),
        })
        .collect();
    let total: i64 = lines.iter().map(|l| l.total_minor).sum();
    let fully = paid.is_some_and(|amount| amount > 0 && refunded >= amount) || (total > 0 && refunded >= total);
    let meta = |k: &str| session.metadata.as_ref().and_then(|m| m.get(k)).cloned();
    let contact = session.customer_details.unwrap_or(CustomerDetails {
        name: None,
        email: None,
        phone: None,
    });
    Ok(ShopOrder {
        id: session.id,
        event_key: id_of(&session.payment_link),
        status: if fully { ShopStatus::Refunded } else { ShopStatus::Paid },
        ordered_at: unix_time(session.created)?,
        updated_at: unix_time(at.max(session.created))?,
        ref_code: session.client_reference_id.or_else(|| meta("ref")),
        promo_codes: meta("promo_code").into_iter().collect(),
        buyer_name: contact.name,
        buyer_email: contact.email,
        buyer_phone: contact.phone,
        currency,
        lines,
        refunded_minor: if fully { 0 } else { refunded },
    })
}

/// A Stripe amount in the currency's ISO 4217 minor units. Stripe's own are the same
/// but for two currencies: ISK, which its API keeps at two decimals although the króna
/// has none (an ISK amount of 100 is 1 króna, and Stripe takes only whole krónur):
/// divided by 100, a fraction rounded half up; and MGA, which Stripe counts in whole
/// ariary (zero-decimal) where ISO 4217 gives it two decimals: times 100.
pub fn stripe_minor(amount: i64, currency: &str) -> i64 {
    if currency.eq_ignore_ascii_case("ISK") {
        amount.saturating_add(50).div_euclid(100)
    } else if currency.eq_ignore_ascii_case("MGA") {
        amount.saturating_mul(100)
    } else {
        amount
    }
}

/// A session's line items, every page.
async fn line_items(api: &ShopApi, session: &str) -> Result<Vec<Item>, ConnectorError> {
    let mut items: Vec<Item> = Vec::new();
    loop {
        let after = items
            .last()
            .map(|i| format!("&starting_after={}", i.id))
            .unwrap_or_default();
        let url = api.url(&format!(
            "v1/checkout/sessions/{}/line_items?limit=100{after}",
            path_id(session)?
        ))?;
        let page: List<Item> = api.get(url).await?;
        let more = page.has_more && !page.data.is_empty();
        items.extend(page.data);
        if !more || items.len() >= MAX_ITEMS {
            return Ok(items);
        }
        if let Some(last) = items.last() {
            path_id(&last.id)?;
        }
    }
}

#[derive(Debug, Deserialize)]
struct RefundRow {
    amount: i64,
    created: i64,
    #[serde(default)]
    status: Option<String>,
}

/// Refunded so far (refunds that succeeded or are on their way) and when the last
/// one was made, so a backfill states the order as of that time.
async fn refunds_of(api: &ShopApi, intent: &str) -> Result<(i64, Option<i64>), ConnectorError> {
    let url = api.url(&format!("v1/refunds?payment_intent={}&limit=100", path_id(intent)?))?;
    let list: List<RefundRow> = api.get(url).await?;
    let counted = list.data.iter().filter(|r| {
        matches!(
            r.status.as_deref(),
            None | Some("succeeded" | "pending" | "requires_action")
        )
    });
    let refunded = counted.clone().map(|r| r.amount.max(0)).sum();
    Ok((refunded, counted.map(|r| r.created).max()))
}

/// Every completed session of a Payment Link, with its refunds (for `sync`).
pub async fn list(api: &ShopApi, payment_link: &str) -> Result<Vec<ShopOrder>, ConnectorError> {
    let mut orders = Vec::new();
    let mut after: Option<String> = None;
    for _page in 0..super::MAX_PAGES {
        let from = after
            .as_deref()
            .map(|a| format!("&starting_after={a}"))
            .unwrap_or_default();
        let url = api.url(&format!(
            "v1/checkout/sessions?payment_link={}&status=complete&limit=100{from}",
            path_id(payment_link)?
        ))?;
        let page: List<Session> = api.get(url).await?;
        let more = page.has_more && !page.data.is_empty();
        for s in page.data {
            after = Some(path_id(&s.id)?.to_string());
            if s.payment_status.as_deref() == Some("unpaid") {
                continue;
            }
            let created = s.created;
            orders.push(order_of(api, s, created, Refunds::Fetch).await?);
        }
        if !more {
            break;
        }
    }
    Ok(orders)
}
