//! A local stand-in for a ticket shop's REST API (Stripe, pretix, Eventbrite, Shopify):
//! an axum app on loopback that answers each path (with its query) with the JSON a
//! test set, the shop's documented resources, and records every call with its
//! authorization header.

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
}

#[derive(Default)]
struct Shared {
    /// `"<METHOD> <path>[?query]"` → (status, JSON answer).
    routes: Mutex<HashMap<String, (u16, Value)>>,
    calls: Mutex<Vec<Call>>,
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
    });
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
