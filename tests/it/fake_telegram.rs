//! A local stand-in for the Telegram Bot API: an axum app on loopback that speaks the
//! documented JSON (`{"ok":true,"result":…}`), serves queued updates to `getUpdates`,
//! records every call the bot makes, and can answer 429 with `retry_after`.

use super::support::wait_until;
use axum::Router;
use axum::extract::{Multipart, Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One recorded API call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Lowercase method name, e.g. `sendmessage`.
    pub method: String,
    /// JSON body, or the text fields of a multipart body.
    pub params: Value,
    /// Uploaded files: (field, file name, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    updates: Mutex<VecDeque<Value>>,
    calls: Mutex<Vec<Call>>,
    new_update: Notify,
    new_call: Notify,
    rate_limit: Mutex<u32>,
}

/// The fake server; dropped with the test.
#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    shared: Arc<Shared>,
}

pub const TOKEN: &str = "123456:TEST-token";
pub const BOT_ID: u64 = 777;

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn message_result(params: &Value, extra: Value) -> Value {
    let chat_id = params["chat_id"]
        .as_i64()
        .or_else(|| params["chat_id"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    let mut m = json!({
        "message_id": 1000 + chat_id.rem_euclid(1000),
        "date": 1_800_000_000,
        "chat": {"id": chat_id, "type": "private", "first_name": "User"},
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "Promo", "username": "promo_bot"},
    });
    if let Some(t) = params["text"].as_str() {
        m["text"] = json!(t);
    }
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

async fn api(State(s): State<Arc<Shared>>, Path((_bot, method)): Path<(String, String)>, req: Request) -> Response {
    let method = method.to_ascii_lowercase();
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let (params, files) = if is_multipart {
        let mut mp = match Multipart::from_request(req, &()).await {
            Ok(m) => m,
            Err(e) => return e.into_response(),
        };
        let (mut params, mut files) = (serde_json::Map::new(), Vec::new());
        while let Ok(Some(field)) = mp.next_field().await {
            let name = field.name().unwrap_or_default().to_string();
            match field.file_name().map(str::to_string) {
                Some(file) => files.push((name, file, field.bytes().await.unwrap().to_vec())),
                None => {
                    let text = field.text().await.unwrap();
                    let v = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
                    params.insert(name, v);
                }
            }
        }
        (Value::Object(params), files)
    } else {
        let bytes = axum::body::to_bytes(req.into_body(), 10 << 20).await.unwrap();
        (serde_json::from_slice(&bytes).unwrap_or(json!({})), Vec::new())
    };
    if method != "getupdates" {
        s.calls.lock().unwrap().push(Call {
            method: method.clone(),
            params: params.clone(),
            files,
            at: Instant::now(),
        });
        s.new_call.notify_waiters();
    }
    match method.as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Promo", "username": "promo_bot",
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "has_main_web_app": false
        })),
        "getupdates" => {
            let offset = params["offset"].as_i64().unwrap_or(0);
            for _ in 0..2 {
                let ready: Vec<Value> = {
                    let mut q = s.updates.lock().unwrap();
                    q.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    q.iter().cloned().collect()
                };
                if !ready.is_empty() {
                    return ok(Value::Array(ready));
                }
                let _ = tokio::time::timeout(Duration::from_millis(300), s.new_update.notified()).await;
            }
            ok(json!([]))
        }
        "sendmessage" => {
            {
                let mut limit = s.rate_limit.lock().unwrap();
                if *limit > 0 {
                    *limit -= 1;
                    return (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        axum::Json(json!({"ok": false, "error_code": 429,
                            "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})),
                    )
                        .into_response();
                }
            }
            ok(message_result(&params, json!({})))
        }
        "senddocument" => ok(message_result(
            &params,
            json!({"document": {"file_id": "doc1", "file_unique_id": "udoc1", "file_size": 10}}),
        )),
        "sendphoto" => ok(message_result(
            &params,
            json!({"photo": [{"file_id": "ph1", "file_unique_id": "uph1", "width": 10, "height": 10}]}),
        )),
        "setmycommands" | "deletewebhook" | "setwebhook" => ok(json!(true)),
        "getwebhookinfo" => ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0})),
        other => (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error_code": 404, "description": format!("Not Found: method {other}")})),
        )
            .into_response(),
    }
}

use axum::extract::FromRequest;

impl FakeTelegram {
    /// Starts the fake on a free loopback port.
    pub async fn start() -> FakeTelegram {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/{bot}/{method}", axum::routing::post(api))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeTelegram { url, shared }
    }

    /// Queues a text message from a user in topic `thread` of a forum supergroup
    /// (`is_topic_message`, as the Bot API documents a topic's messages).
    pub fn push_topic_text(&self, update_id: i64, user: u64, text: &str, forum: i64, thread: i64) -> Value {
        let mut update = self.text_update(update_id, user, text, Some(forum));
        let msg = &mut update["message"];
        msg["chat"] = json!({"id": forum, "type": "supergroup", "title": "Promo team", "is_forum": true});
        msg["message_thread_id"] = thread.into();
        msg["is_topic_message"] = true.into();
        self.queue(update)
    }

    /// Queues a text message from a user (private chat unless `group` is given).
    pub fn push_text(&self, update_id: i64, user: u64, text: &str, group: Option<i64>) -> Value {
        let update = self.text_update(update_id, user, text, group);
        self.queue(update)
    }

    fn queue(&self, update: Value) -> Value {
        self.shared.updates.lock().unwrap().push_back(update.clone());
        self.shared.new_update.notify_waiters();
        update
    }

    fn text_update(&self, update_id: i64, user: u64, text: &str, group: Option<i64>) -> Value {
        let chat = match group {
            Some(g) => json!({"id": g, "type": "group", "title": "Promo team"}),
            None => json!({"id": user, "type": "private", "first_name": "Ana <&>"}),
        };
        let mut msg = json!({
            "message_id": update_id, "date": 1_800_000_000, "chat": chat,
            "from": {"id": user, "is_bot": false, "first_name": "Ana <&>", "username": format!("user{user}")},
            "text": text,
        });
        if text.starts_with('/') {
            let len = text.split_whitespace().next().unwrap().chars().count();
            msg["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        json!({"update_id": update_id, "message": msg})
    }

    /// Every call recorded so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Answers the next `n` sendMessage calls with 429, retry after 1 s.
    pub fn rate_limit_next(&self, n: u32) {
        *self.shared.rate_limit.lock().unwrap() = n;
    }

    /// Waits (bounded) for the `n`-th call (1-based) to `chat` with one of `methods`.
    pub async fn wait_for(&self, chat: i64, methods: &[&str], n: usize) -> Vec<Call> {
        let what = format!("{methods:?} #{n} to chat {chat}");
        wait_until(&what, Duration::from_secs(10), || async {
            let got: Vec<Call> = self
                .calls()
                .into_iter()
                .filter(|c| methods.contains(&c.method.as_str()))
                .filter(|c| {
                    c.params["chat_id"].as_i64() == Some(chat)
                        || c.params["chat_id"].as_str() == Some(&chat.to_string())
                })
                .collect();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}
