//! Load-test baseline: the least an HTTP server can do for promoterd's hot paths — a
//! 302 from an in-memory map, and a 200 for a POST — on the same axum and tokio.
//! Usage: `redirect_baseline <listen address>`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::sync::Arc;

async fn redirect(
    State(map): State<Arc<HashMap<String, String>>>,
    Path(code): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    match map.get(&code) {
        Some(target) => {
            let location = match q {
                Some(q) if !q.is_empty() => format!("{target}?{q}&ref={code}"),
                _ => format!("{target}?ref={code}"),
            };
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    let code = std::env::args().nth(2).unwrap_or_else(|| "baseline".into());
    let map = Arc::new(HashMap::from([(code, "https://tickets.example.com/event".to_string())]));
    let app = Router::new()
        .route("/t/{code}", get(redirect))
        .route(
            "/webhooks/orders",
            post(|| async { (StatusCode::OK, "{\"status\":\"created\"}") }),
        )
        .with_state(map);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
