//! `POST /webhooks/orders`: HMAC-signed order deliveries from the checkout, checked on
//! the raw bytes before parsing, applied exactly once, answered after the commit.

use super::HttpState;
use crate::config::Config;
use crate::domain::OrgId;
use crate::ingest::{ApplyError, DeliveryOutcome, OrderError, WebhookPayload};
use crate::store::IngestOutcome;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;

/// The header carrying `t=<unix>,v1=<hex>[,v1=<hex>…]`.
pub const SIGNATURE_HEADER: &str = "promoterd-signature";

#[derive(Debug, Clone)]
pub(super) struct WebhookSettings {
    /// Who may sign: the operator-wide `[webhook]` secrets first, then each
    /// organization's `[[checkout]]` connection of kind `webhook`.
    signers: Vec<Signer>,
    tolerance: i64,
    max_body: usize,
}

/// Secrets that sign deliveries, and where those deliveries may go.
#[derive(Debug, Clone)]
struct Signer {
    /// The organization's short name; `None`: every organization (the operator's).
    org: Option<String>,
    secrets: Vec<String>,
    source: String,
    /// The organization's id once looked up (a short name never changes).
    org_id: std::sync::OnceLock<OrgId>,
}

impl WebhookSettings {
    pub(super) fn from_config(c: &Config) -> Self {
        let mut signers = Vec::new();
        let global = c.webhook_secrets();
        if !global.is_empty() {
            signers.push(Signer {
                org: None,
                secrets: global,
                source: c.webhook.source.clone(),
                org_id: Default::default(),
            });
        }
        signers.extend(c.checkout.iter().filter(|k| k.kind == "webhook").map(|k| Signer {
            org: Some(k.organization.clone()),
            secrets: k.resolved_secrets(),
            source: k.source(),
            org_id: Default::default(),
        }));
        WebhookSettings {
            signers,
            tolerance: c.webhook.tolerance_seconds as i64,
            max_body: c.webhook.max_body_bytes,
        }
    }
}

/// The signer whose secret signed `body`; a header problem (missing, malformed, stale)
/// is the same for every signer and answered at once.
fn signer_of<'a>(
    signers: impl Iterator<Item = &'a Signer>,
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<&'a Signer, SignatureError> {
    for s in signers {
        match verify_signature(header, body, &s.secrets, now, tolerance) {
            Ok(()) => return Ok(s),
            Err(SignatureError::Mismatch) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(SignatureError::Mismatch)
}

/// Why a signature was refused; `Display` is the answer to the checkout developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Promoterd-Signature header")]
    Missing,
    #[error("malformed Promoterd-Signature header: expected t=<unix seconds>,v1=<hex HMAC-SHA256>")]
    Malformed,
    /// (our clock minus the timestamp, the tolerance), in seconds.
    #[error("signature timestamp is {skew}, too far away from our clock (at most {tol} s allowed); check the sender's clock", skew = skew_words(*.0), tol = .1)]
    Stale(i64, i64),
    #[error("no v1 signature matches the body with a configured secret")]
    Mismatch,
}

/// `600 s in the past` / `600 s in the future`, for a skew of our clock minus the timestamp.
fn skew_words(skew: i64) -> String {
    if skew >= 0 {
        format!("{skew} s in the past")
    } else {
        format!("{} s in the future", skew.unsigned_abs())
    }
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` with `secret`: what the checkout puts in `v1`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a signature header against the raw body, any of `secrets`, and `now`.
pub fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t: Option<i64> = None;
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.trim().parse().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", v)) => sigs.push(hex::decode(v.trim()).map_err(|_| SignatureError::Malformed)?),
            Some(_) => {} // other schemes are ignored, as with Stripe-style headers
            None => return Err(SignatureError::Malformed),
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() || sigs.len() > 8 {
        return Err(SignatureError::Malformed);
    }
    let skew = now.saturating_sub(t);
    if skew.abs() > tolerance {
        return Err(SignatureError::Stale(skew, tolerance));
    }
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        for sig in &sigs {
            // `verify_slice` compares in constant time.
            if mac.clone().verify_slice(sig).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

pub(super) fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

pub(super) fn reject(st: &HttpState, status: StatusCode, reason: &'static str, message: &str) -> Response {
    st.core.metrics.order_rejected(reason);
    answer(status, json!({ "error": reason, "message": message }))
}

pub(super) async fn orders(State(st): State<Arc<HttpState>>, headers: HeaderMap, body: Body) -> Response {
    super::timed(&st, "webhook", receive(&st, None, headers, body)).await
}

/// `POST /webhooks/orders/<organization>`: only that organization's connection signs,
/// so a forged delivery costs one connection's HMACs, whatever the number of
/// connections.
pub(super) async fn orders_of(
    State(st): State<Arc<HttpState>>,
    axum::extract::Path(org): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    super::timed(&st, "webhook", receive(&st, Some(&org), headers, body)).await
}

async fn receive(st: &HttpState, only: Option<&str>, headers: HeaderMap, body: Body) -> Response {
    let cfg = &st.webhook;
    if !cfg.signers.iter().any(|s| signs_here(s, only)) {
        return no_signer(st, only);
    }
    let raw = match read_body(st, &headers, body).await {
        Ok(raw) => raw,
        Err(response) => return response,
    };
    let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let signers = cfg.signers.iter().filter(|s| signs_here(s, only));
    let signer = match signer_of(signers, sig, &raw, st.core.clock.now().timestamp(), cfg.tolerance) {
        Ok(s) => s,
        Err(e) => return reject(st, StatusCode::UNAUTHORIZED, "signature", &e.to_string()),
    };
    let org = match org_of(st, signer).await {
        Ok(org) => org,
        Err(response) => return response,
    };
    let payload: WebhookPayload = match serde_json::from_slice(&raw) {
        Ok(p) => p,
        Err(e) => {
            return reject(
                st,
                StatusCode::BAD_REQUEST,
                "malformed",
                &format!("the body is not a valid order: {e}"),
            );
        }
    };
    let delivery_id = payload.id.clone().filter(|s| !s.trim().is_empty());
    if delivery_id.as_ref().is_some_and(|d| d.len() > 200) {
        return reject(
            st,
            StatusCode::BAD_REQUEST,
            "malformed",
            "id is longer than 200 characters",
        );
    }
    let promo = payload.order.promo_code.clone();
    let raw_order = match payload.into_raw() {
        Ok(r) => r,
        Err(e) => return order_error(st, &e),
    };
    let mut order = match st
        .events
        .validate(&st.core.store, &signer.source, &raw_order, org)
        .await
    {
        Ok(o) => o,
        Err(ApplyError::Order(e)) => return order_error(st, &e),
        Err(e @ (ApplyError::Store(_) | ApplyError::Unavailable(_))) => return internal(st, &e),
    };
    if let Err(e) = promo_ref(st, &mut order, promo.as_deref()).await {
        return internal(st, &e);
    }
    let order_id = order.external_id.clone();
    match st.orders.apply(delivery_id, order).await {
        Ok(DeliveryOutcome::Duplicate) => {
            st.core.metrics.order("duplicate");
            answer(StatusCode::OK, json!({ "status": "duplicate", "order": order_id }))
        }
        Ok(DeliveryOutcome::Applied(outcome)) => {
            st.core.metrics.order(outcome.as_str());
            let code = if outcome == IngestOutcome::Pending {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            answer(code, json!({ "status": outcome.as_str(), "order": order_id }))
        }
        Err(ApplyError::Order(e)) => order_error(st, &e),
        Err(e @ (ApplyError::Store(_) | ApplyError::Unavailable(_))) => internal(st, &e),
    }
}

/// A promoter's promo code stands for their link; a link the buyer came through wins.
async fn promo_ref(
    st: &HttpState,
    order: &mut crate::ingest::OrderInput,
    promo: Option<&str>,
) -> Result<(), crate::store::StoreError> {
    let Some(code) = promo.filter(|c| !c.trim().is_empty()) else {
        return Ok(());
    };
    let linked = match &order.ref_code {
        Some(r) => st.core.store.is_link_of_event(order.event_id, r).await?,
        None => false,
    };
    if !linked && let Some(link) = st.core.store.link_code_for_promo(order.event_id, code).await? {
        order.ref_code = Some(link);
    }
    Ok(())
}

/// Whether `signer` may sign a delivery at this address: at `/webhooks/orders` every
/// signer, at `/webhooks/orders/<organization>` that organization's connection only.
fn signs_here(signer: &Signer, only: Option<&str>) -> bool {
    only.is_none_or(|org| signer.org.as_deref() == Some(org))
}

/// The answer where nobody may sign: an address without a connection, or no secret at all.
fn no_signer(st: &HttpState, only: Option<&str>) -> Response {
    match only {
        Some(_) => reject(
            st,
            StatusCode::NOT_FOUND,
            "unknown_connection",
            "no [[checkout]] connection of that organization on this server",
        ),
        None => reject(
            st,
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "the order webhook has no secret configured ([webhook] secrets or a [[checkout]] connection)",
        ),
    }
}

/// The raw body, refused as too large from its declared length or while reading.
pub(super) async fn read_body(st: &HttpState, headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Response> {
    let cfg = &st.webhook;
    let too_large = || format!("the body is larger than {} bytes", cfg.max_body);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cfg.max_body) {
        return Err(reject(st, StatusCode::PAYLOAD_TOO_LARGE, "too_large", &too_large()));
    }
    let Ok(raw) = to_bytes(body, cfg.max_body).await else {
        return Err(reject(st, StatusCode::PAYLOAD_TOO_LARGE, "too_large", &too_large()));
    };
    Ok(raw)
}

/// The organization a signer's deliveries are bound to (`None`: any), or the answer
/// when its connection names an organization that does not exist (yet): 503, so the
/// shop retries while the operator fixes the configuration.
async fn org_of(st: &HttpState, signer: &Signer) -> Result<Option<OrgId>, Response> {
    match &signer.org {
        None => Ok(None),
        Some(slug) => org_id(st, slug, &signer.org_id).await.map(Some),
    }
}

/// The id of a connection's organization, looked up once; 503 while it does not exist.
pub(super) async fn org_id(st: &HttpState, slug: &str, once: &std::sync::OnceLock<OrgId>) -> Result<OrgId, Response> {
    if let Some(id) = once.get() {
        return Ok(*id);
    }
    match st.core.store.org_by_slug(slug).await {
        Ok(Some(org)) => Ok(*once.get_or_init(|| org.id)),
        Ok(None) => {
            tracing::error!(organization = %slug, "a [[checkout]] connection names an organization that does not exist");
            Err(reject(
                st,
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                "this connection's organization does not exist on this server; the operator must fix [[checkout]]",
            ))
        }
        Err(e) => Err(internal(st, &e)),
    }
}

pub(super) fn order_error(st: &HttpState, e: &OrderError) -> Response {
    match e {
        OrderError::Malformed(_) => reject(st, StatusCode::BAD_REQUEST, "malformed", &e.to_string()),
        OrderError::UnknownEvent(_) => reject(st, StatusCode::UNPROCESSABLE_ENTITY, "unknown_event", &e.to_string()),
        OrderError::AmbiguousEvent(_) => {
            reject(st, StatusCode::UNPROCESSABLE_ENTITY, "ambiguous_event", &e.to_string())
        }
        OrderError::Conflict(_) => reject(st, StatusCode::CONFLICT, "conflict", &e.to_string()),
    }
}

pub(super) fn internal(st: &HttpState, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "storing an order failed");
    reject(
        st,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "temporarily unable to store the order; retry later",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn secrets() -> Vec<String> {
        vec!["old-secret-0123456789".into(), "new-secret-0123456789".into()]
    }

    #[test]
    fn valid_signatures_pass_with_any_configured_secret() {
        let body = br#"{"x":1}"#;
        let h = format!("t={NOW},v1={}", sign("new-secret-0123456789", NOW, body));
        assert_eq!(verify_signature(Some(&h), body, &secrets(), NOW + 10, 300), Ok(()));
        let h = format!("t={NOW},v1=00,v1={}", sign("old-secret-0123456789", NOW, body));
        assert_eq!(verify_signature(Some(&h), body, &secrets(), NOW, 300), Ok(()));
    }

    #[test]
    fn tampering_staleness_and_garbage_are_refused() {
        let body = br#"{"x":1}"#;
        let good = sign("new-secret-0123456789", NOW, body);
        let h = format!("t={NOW},v1={good}");
        assert_eq!(
            verify_signature(Some(&h), br#"{"x":2}"#, &secrets(), NOW, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(Some(&h), body, &secrets(), NOW + 301, 300),
            Err(SignatureError::Stale(301, 300))
        );
        // Issue 15.8: a timestamp from the future is said to be ahead, not "-600 s away".
        let future = verify_signature(Some(&h), body, &secrets(), NOW - 600, 300).unwrap_err();
        assert_eq!(
            future.to_string(),
            "signature timestamp is 600 s in the future, too far away from our clock (at most 300 s allowed); \
             check the sender's clock"
        );
        assert!(
            SignatureError::Stale(301, 300)
                .to_string()
                .starts_with("signature timestamp is 301 s in the past,")
        );
        assert_eq!(
            verify_signature(Some(&h), body, &["other-secret-012345".into()], NOW, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(None, body, &secrets(), NOW, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(Some("v1=zz"), body, &secrets(), NOW, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(Some(&format!("v1={good}")), body, &secrets(), NOW, 300),
            Err(SignatureError::Malformed)
        );
        // The timestamp is part of what is signed.
        let h = format!("t={},v1={good}", NOW + 1);
        assert_eq!(
            verify_signature(Some(&h), body, &secrets(), NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }
}
