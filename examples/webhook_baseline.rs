//! Load-test baseline for the order webhook: the CPU a signed delivery needs before any
//! database work — read the body, check the HMAC with promoterd's own code, parse the
//! JSON and check the order's rules — then a 200. `scripts/load.py` judges the real
//! webhook against it (issue 22). Usage: `webhook_baseline <listen address> <secret>`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use promoterd::domain::EventId;
use promoterd::ingest::{WebhookPayload, check};
use std::sync::Arc;

async fn orders(State(secret): State<Arc<Vec<String>>>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let sig = headers.get("promoterd-signature").and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = promoterd::http::verify_signature(sig, &body, &secret, now, 300) {
        return (StatusCode::UNAUTHORIZED, e.to_string());
    }
    let payload: WebhookPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()),
    };
    let raw = match payload.into_raw() {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()),
    };
    let currency = raw.lines.first().map(|l| l.currency.clone()).unwrap_or_default();
    match check("checkout", &raw, EventId(1), &currency) {
        Ok(o) => (
            StatusCode::OK,
            format!("{{\"status\":\"created\",\"order\":\"{}\"}}", o.external_id),
        ),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18082".into());
    let secret = std::env::args().nth(2).expect("the signing secret");
    let app = Router::new()
        .route("/webhooks/orders", post(orders))
        .with_state(Arc::new(vec![secret]));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
