//! A local stand-in for a ticket shop's REST API (Stripe, pretix, Eventbrite, Shopify):
//! an axum app on loopback that answers each path (with its query) with the JSON a
//! test set, the shop's documented resources, and records every call with its
//! authorization header. It can also rate-limit a path (429, with or without
//! `Retry-After`) a given number of times.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// The `Authorization` (or `X-Shopify-Access-Token`) header.
    pub auth: Option<String>,
    pub body: Value,
    /// When it arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Shared {
    /// `"<METHOD> <path>[?query]"` → (status, JSON answer).
    routes: Mutex<HashMap<String, (u16, Value)>>,
    calls: Mutex<Vec<Call>>,
    /// `"<METHOD> <path>[?query]"` → (429s still to answer, their `Retry-After`).
    limits: Mutex<HashMap<String, (usize, Option<String>)>>,
}

/// The fake API; dropped with the test.
#[derive(Clone)]
pub struct FakeShop {
    pub url: String,
    shared: Arc<Shared>,
}

impl FakeShop {
    pub async fn start() -> FakeShop {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeShop { url, shared }
    }

    /// Answers `GET <target>` with `body`.
    pub fn get(&self, target: &str, body: Value) {
        self.answer("GET", target, 200, body);
    }

    /// Answers `<method> <target>` with `status` and `body`.
    pub fn answer(&self, method: &str, target: &str, status: u16, body: Value) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(format!("{method} {target}"), (status, body));
    }

    /// Answers `<method> <target>` with 429 Too Many Requests the next `times` times,
    /// naming `retry_after` when given, before its usual answer.
    pub fn rate_limit(&self, method: &str, target: &str, times: usize, retry_after: Option<&str>) {
        self.shared
            .limits
            .lock()
            .unwrap()
            .insert(format!("{method} {target}"), (times, retry_after.map(String::from)));
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }
}

async fn answer(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let auth = req
        .headers()
        .get("authorization")
        .or_else(|| req.headers().get("x-shopify-access-token"))
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    shared.calls.lock().unwrap().push(Call {
        method: method.clone(),
        target: target.clone(),
        auth,
        body,
        at: std::time::Instant::now(),
    });
    if let Some((left, retry_after)) = shared
        .limits
        .lock()
        .unwrap()
        .get_mut(&format!("{method} {target}"))
        .filter(|(left, _)| *left > 0)
    {
        *left -= 1;
        // Stripe's documented rate-limit error.
        let body = serde_json::json!({"error": {"type": "invalid_request_error", "code": "rate_limit",
            "message": "Too many requests hit the API too quickly."}});
        let mut res = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        if let Some(v) = retry_after {
            res.headers_mut().insert("retry-after", v.parse().unwrap());
        }
        return res;
    }
    let routes = shared.routes.lock().unwrap();
    let path = target.split('?').next().unwrap_or("");
    match routes
        .get(&format!("{method} {target}"))
        .or_else(|| routes.get(&format!("{method} {path}")))
    {
        Some((status, body)) => (StatusCode::from_u16(*status).unwrap(), axum::Json(body.clone())).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "not found"})),
        )
            .into_response(),
    }
}
