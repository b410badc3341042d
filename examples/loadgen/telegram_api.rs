//! `loadgen telegram-api <address>`: a stand-in for the Telegram Bot API in webhook mode,
//! answering the calls the daemon makes (getMe, setWebhook, sendMessage, sendPhoto,
//! sendDocument) in the documented `{"ok":true,"result":…}` shape, and counting them.

use axum::extract::Path;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const BOT_ID: u64 = 777;

/// Calls answered, by kind; printed on `GET /counts` for the benchmark.
#[derive(Default)]
struct Counts {
    messages: AtomicU64,
    files: AtomicU64,
    other: AtomicU64,
}

fn ok(result: Value) -> axum::response::Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

/// A sent message as the Bot API returns it; `chat_id` is read from a JSON body (the
/// file uploads are multipart and are answered for chat 0: the daemon reads no field).
fn message(body: &[u8], extra: Value) -> Value {
    let chat = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["chat_id"].as_i64().or_else(|| v["chat_id"].as_str()?.parse().ok()))
        .unwrap_or(0);
    let mut m = json!({
        "message_id": 1, "date": 1_800_000_000,
        "chat": {"id": chat, "type": "private", "first_name": "User"},
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "Promo", "username": "promo_bot"},
        "text": "ok"
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        m[k] = v.clone();
    }
    m
}

async fn api(counts: Arc<Counts>, method: String, body: axum::body::Bytes) -> axum::response::Response {
    match method.to_ascii_lowercase().as_str() {
        "getme" => {
            counts.other.fetch_add(1, Ordering::Relaxed);
            ok(json!({
                "id": BOT_ID, "is_bot": true, "first_name": "Promo", "username": "promo_bot",
                "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
                "has_main_web_app": false
            }))
        }
        "sendmessage" => {
            counts.messages.fetch_add(1, Ordering::Relaxed);
            ok(message(&body, json!({})))
        }
        "sendphoto" => {
            counts.files.fetch_add(1, Ordering::Relaxed);
            ok(message(
                &body,
                json!({"photo": [{"file_id": "ph1", "file_unique_id": "uph1", "width": 10, "height": 10}]}),
            ))
        }
        "senddocument" => {
            counts.files.fetch_add(1, Ordering::Relaxed);
            ok(message(
                &body,
                json!({"document": {"file_id": "doc1", "file_unique_id": "udoc1", "file_size": 10}}),
            ))
        }
        "setmycommands" | "deletewebhook" | "setwebhook" => {
            counts.other.fetch_add(1, Ordering::Relaxed);
            ok(json!(true))
        }
        "getwebhookinfo" => ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0})),
        other => (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error_code": 404, "description": format!("Not Found: method {other}")})),
        )
            .into_response(),
    }
}

/// Serves until killed.
pub async fn serve(addr: &str) {
    use axum::routing::{get, post};
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    let app = axum::Router::new()
        .route(
            "/{bot}/{method}",
            post(
                move |Path((_bot, method)): Path<(String, String)>, body: axum::body::Bytes| {
                    api(c.clone(), method, body)
                },
            ),
        )
        .route(
            "/counts",
            get(move || {
                let c = counts.clone();
                async move {
                    format!(
                        "messages={} files={} other={}\n",
                        c.messages.load(Ordering::Relaxed),
                        c.files.load(Ordering::Relaxed),
                        c.other.load(Ordering::Relaxed)
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await.expect("listen");
    axum::serve(listener, app).await.expect("serve");
}
