//! `POST /webhooks/<shop>` (and `/webhooks/<shop>/<secret>` for shops that do not
//! sign): a shop's delivery, authenticated as one organization's connection, read by
//! its connector, and stored through the order webhook's validation and group commit.

use super::HttpState;
use super::webhook::{answer, internal, order_error, read_body, reject};
use crate::checkout::intake::{self, Intake, IntakeError};
use crate::checkout::{self, Connection, ConnectorError, Delivery, Headers, ShopOrder, ShopSignatureError};
use crate::domain::{OrgId, Shop};
use crate::ingest::{ApplyError, DeliveryOutcome};
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

pub(super) async fn with_secret(
    State(st): State<Arc<HttpState>>,
    Path((shop, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    super::timed(&st, "shop", receive(&st, &shop, Some(&secret), headers, body)).await
}

fn unknown(st: &HttpState) -> Response {
    reject(
        st,
        StatusCode::NOT_FOUND,
        "unknown_connection",
        "no [[checkout]] connection of this shop at this address",
    )
}

async fn receive(st: &HttpState, word: &str, secret: Option<&str>, headers: HeaderMap, body: Body) -> Response {
    let Some(shop) = Shop::from_stored(word).ok().filter(|s| *s != Shop::Webhook) else {
        return unknown(st);
    };
    if st.shops.of(shop).next().is_none() || checkout::signs_in_path(shop) != secret.is_some() {
        return unknown(st);
    }
    let raw = match read_body(st, &headers, body).await {
        Ok(raw) => raw,
        Err(response) => return response,
    };
    if shop == Shop::WooCommerce && checkout::woocommerce::is_ping(&headers, &raw) {
        return answer(StatusCode::OK, json!({ "status": "ping" }));
    }
    let conn = match authenticate(st, shop, secret, &headers, &raw) {
        Ok(c) => c,
        Err(e) => return reject(st, StatusCode::UNAUTHORIZED, "signature", &e.to_string()),
    };
    let org = match super::webhook::org_id(st, &conn.org, &conn.org_id).await {
        Ok(org) => org,
        Err(response) => return response,
    };
    // pretix names the event in the notification: another event's order is not fetched.
    if let Some(key) = checkout::pretix::event_key(&raw).filter(|_| shop == Shop::Pretix) {
        match st.core.store.event_for_shop(org, shop, &key).await {
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
    let delivery = match checkout::read(shop, conn.api.as_ref(), &headers, &raw).await {
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
    for c in st.shops.of(shop) {
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
        let shares = match intake::prepare(&st.core.store, org, conn.shop, &conn.source, &order).await {
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
            let id = delivery.as_ref().map(|d| {
                if several {
                    format!("{d}:{}", share.key)
                } else {
                    d.clone()
                }
            });
            let order_id = share.input.external_id.clone();
            match st.orders.apply(id, share.input).await {
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
