//! `POST /webhooks/<shop>` (and `/webhooks/<shop>/<secret>` for shops that do not
//! sign): a shop's delivery, authenticated as one organization's connection, read by
//! its connector, and stored through the order webhook's validation and group commit.

use super::HttpState;
use super::webhook::{answer, internal, order_error, read_body, reject};
use crate::checkout::intake::{self, Intake, IntakeError};
use crate::checkout::{self, Connection, ConnectorError, Delivery, Headers, ShopOrder, ShopSignatureError};
use crate::domain::{OrgId, Shop};
use crate::ingest::{ApplyError, DeliveryOutcome, OrderError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::sync::Arc;

impl Headers for HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(super) async fn signed(
    State(st): State<Arc<HttpState>>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    super::timed(&st, "shop", receive(&st, &shop, None, headers, body)).await
}

pub(super) async fn with_segment(
    State(st): State<Arc<HttpState>>,
    Path((shop, segment)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    super::timed(&st, "shop", receive(&st, &shop, Some(&segment), headers, body)).await
}

fn unknown(st: &HttpState) -> Response {
    reject(
        st,
        StatusCode::NOT_FOUND,
        "unknown_connection",
        "no [[checkout]] connection of this shop at this address",
    )
}

/// `segment` is the secret in the address of a shop that does not sign, and for one
/// that does the organization whose connection alone is tried (`/webhooks/<shop>/<org>`:
/// a forged delivery then costs one connection's HMACs, however many there are).
async fn receive(st: &HttpState, word: &str, segment: Option<&str>, headers: HeaderMap, body: Body) -> Response {
    let Some(shop) = Shop::from_stored(word).ok().filter(|s| *s != Shop::Webhook) else {
        return unknown(st);
    };
    let in_path = checkout::signs_in_path(shop);
    let only = segment.filter(|_| !in_path);
    let here = |c: &&Connection| only.is_none_or(|org| c.org == org);
    if st.shops.of(shop).find(here).is_none() || (in_path && segment.is_none()) {
        return unknown(st);
    }
    let secret = segment.filter(|_| in_path);
    let raw = match read_body(st, &headers, body).await {
        Ok(raw) => raw,
        Err(response) => return response,
    };
    if shop == Shop::WooCommerce && checkout::woocommerce::is_ping(&headers, &raw) {
        return answer(StatusCode::OK, json!({ "status": "ping" }));
    }
    let conn = match authenticate(st, shop, secret, only, &headers, &raw) {
        Ok(c) => c,
        Err(e) => return reject(st, StatusCode::UNAUTHORIZED, "signature", &e.to_string()),
    };
    let response = handle(st, shop, conn, &headers, &raw).await;
    if shop == Shop::WooCommerce && response.status().is_client_error() {
        return refused_kindly(response).await;
    }
    response
}

/// WooCommerce disables a webhook after 5 failed deliveries in a row, every order
/// after it lost: a signed delivery promoterd refuses (its reason logged and counted)
/// is answered 200 with the refusal in the body.
async fn refused_kindly(response: Response) -> Response {
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let mut refusal: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    tracing::warn!(status = status.as_u16(), answer = %refusal, "a WooCommerce delivery was refused; answered 200 so WooCommerce keeps the webhook");
    refusal["status"] = json!("refused");
    answer(StatusCode::OK, refusal)
}

/// An authenticated delivery: read, completed from the shop's API, stored.
async fn handle(st: &HttpState, shop: Shop, conn: &Connection, headers: &HeaderMap, raw: &[u8]) -> Response {
    let org = match super::webhook::org_id(st, &conn.org, &conn.org_id).await {
        Ok(org) => org,
        Err(response) => return response,
    };
    // pretix names the event in the notification: another event's order is not fetched.
    if let Some(key) = checkout::pretix::event_key(raw).filter(|_| shop == Shop::Pretix) {
        match st.events.shop_event(&st.core.store, org, shop, &key).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return ignored(
                    st,
                    &format!("pretix event {key} is not one of this organization's events"),
                );
            }
            Err(e) => return internal(st, &e),
        }
    }
    let delivery = match checkout::read(shop, conn.api.as_ref(), headers, raw).await {
        Ok(d) => d,
        Err(ConnectorError::Order(e)) => return order_error(st, &e),
        Err(ConnectorError::Api(e @ checkout::api::ApiError::Foreign(_))) => {
            return reject(st, StatusCode::BAD_REQUEST, "malformed", &e.to_string());
        }
        Err(ConnectorError::Api(e)) => {
            tracing::warn!(shop = shop.label(), error = %e, "completing a shop delivery from its API failed");
            return reject(
                st,
                StatusCode::SERVICE_UNAVAILABLE,
                "shop_unavailable",
                "the shop's API could not be read; retry later",
            );
        }
    };
    match delivery {
        Delivery::Ignored(why) => ignored(st, &why),
        Delivery::Orders { id, orders } => store_orders(st, conn, org, id, orders).await,
    }
}

/// The connection whose secret signed the delivery (or is in its address).
fn authenticate<'a>(
    st: &'a HttpState,
    shop: Shop,
    secret: Option<&str>,
    only: Option<&str>,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<&'a Connection, ShopSignatureError> {
    if let Some(given) = secret {
        return st
            .shops
            .of(shop)
            .find(|c| checkout::secret_matches(&c.secrets, given))
            .ok_or(ShopSignatureError::UnknownConnection);
    }
    let now = st.core.clock.now().timestamp();
    let mut first_error = None;
    for c in st.shops.of(shop).filter(|c| only.is_none_or(|org| c.org == org)) {
        match checkout::verify(shop, headers, raw, &c.secrets, now) {
            Ok(()) => return Ok(c),
            Err(ShopSignatureError::Mismatch) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(ShopSignatureError::Mismatch))
}

fn ignored(st: &HttpState, why: &str) -> Response {
    st.core.metrics.order("ignored");
    answer(StatusCode::OK, json!({ "status": "ignored", "reason": why }))
}

/// Stores each order's share of the organization's events sold at this shop.
async fn store_orders(
    st: &HttpState,
    conn: &Connection,
    org: OrgId,
    delivery: Option<String>,
    orders: Vec<ShopOrder>,
) -> Response {
    let mut stored = Vec::new();
    let mut reasons = Vec::new();
    for order in orders {
        let shares = match intake::prepare(&st.core.store, Some(&st.events), org, conn.shop, &conn.source, &order).await
        {
            Ok(Intake::Ready(shares)) => shares,
            Ok(Intake::Skipped(why)) => {
                reasons.push(why);
                continue;
            }
            Err(IntakeError::Order(e)) => return order_error(st, &e),
            Err(IntakeError::Store(e)) => return internal(st, &e),
        };
        let several = shares.len() > 1;
        for share in shares {
            let order_id = share.input.external_id.clone();
            let id = delivery
                .as_ref()
                .map(|d| if several { format!("{d}:{order_id}") } else { d.clone() });
            let event = share.event.clone();
            let retry = (!several).then(|| share.input.clone());
            let mut result = st.orders.apply(id.clone(), share.input).await;
            // The plain id was stored for another event (its lines are gone from the
            // order): this event's share is `<id>:<event id>`, as `intake` names it.
            if let (Err(ApplyError::Order(OrderError::Conflict(_))), Some(mut input)) = (&result, retry) {
                match intake::renamed(&st.core.store, &conn.source, &order.id, &event).await {
                    Ok(Some(name)) => {
                        input.external_id = name;
                        result = st.orders.apply(id, input).await;
                    }
                    Ok(None) => {}
                    Err(e) => return internal(st, &e),
                }
            }
            match result {
                Ok(DeliveryOutcome::Duplicate) => {
                    st.core.metrics.order("duplicate");
                    stored.push(json!({ "order": order_id, "status": "duplicate" }));
                }
                Ok(DeliveryOutcome::Applied(outcome)) => {
                    st.core.metrics.order(outcome.as_str());
                    stored.push(json!({ "order": order_id, "status": outcome.as_str(), "event": share.event.slug }));
                }
                Err(ApplyError::Order(e)) => return order_error(st, &e),
                Err(e @ (ApplyError::Store(_) | ApplyError::Unavailable(_))) => return internal(st, &e),
            }
        }
    }
    if stored.is_empty() {
        return ignored(st, &reasons.join("; "));
    }
    answer(
        StatusCode::OK,
        json!({ "status": "stored", "orders": stored, "ignored": reasons }),
    )
}
