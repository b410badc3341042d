//! A local stand-in for Discord's REST API (what serenity's `Http` calls through its
//! proxy setting): records every request, answers with the documented JSON (the gateway's
//! URL included), and can answer 429 with `retry_after`.

use super::support::wait_until;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    /// The JSON body, or the `payload_json` part of a multipart body.
    pub json: Value,
    /// Files of a multipart body: (file name, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Call>>,
    new_call: Notify,
    rate_limit: Mutex<u32>,
    dms_closed: Mutex<bool>,
    gateway_url: Mutex<Option<String>>,
}

/// The fake server.
#[derive(Clone)]
pub struct FakeDiscord {
    pub url: String,
    shared: Arc<Shared>,
}

pub const APP_ID: u64 = 4242;

fn message_json(channel: &str) -> Value {
    json!({
        "id": "900000000000000001", "channel_id": channel, "content": "",
        "author": {"id": APP_ID.to_string(), "username": "promo", "discriminator": "0", "avatar": null, "bot": true},
        "timestamp": "2026-11-23T22:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "flags": 0
    })
}

async fn record(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let (mut json, mut files) = (Value::Null, Vec::new());
    if multipart {
        let mut mp = match <axum::extract::Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await {
            Ok(m) => m,
            Err(e) => return e.into_response(),
        };
        while let Ok(Some(field)) = mp.next_field().await {
            let name = field.name().unwrap_or_default().to_string();
            let file = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.unwrap().to_vec();
            match file {
                Some(f) => files.push((f, bytes)),
                None if name == "payload_json" => json = serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                None => {}
            }
        }
    } else {
        let bytes = axum::body::to_bytes(req.into_body(), 10 << 20).await.unwrap();
        json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    }
    let limited = {
        let mut l = s.rate_limit.lock().unwrap();
        let hit = *l > 0 && path.contains("/webhooks/");
        if hit {
            *l -= 1;
        }
        hit
    };
    let dms_closed =
        *s.dms_closed.lock().unwrap() && path.starts_with("/api/v10/channels/") && path.ends_with("/messages");
    let (status, body) = if dms_closed {
        (
            403,
            json!({"message": "Cannot send messages to this user", "code": 50007}),
        )
    } else if limited {
        (
            429,
            json!({"message": "You are being rate limited.", "retry_after": 1.0, "global": false, "code": 0}),
        )
    } else if let Some(url) = s
        .gateway_url
        .lock()
        .unwrap()
        .clone()
        .filter(|_| path.starts_with("/api/v10/gateway"))
    {
        // Get Gateway (`GET /gateway`, what serenity asks) and Get Gateway Bot
        // (`GET /gateway/bot`), as documented in discord-api-docs `topics/Gateway.md`.
        let mut body = json!({ "url": url });
        if path.ends_with("/bot") {
            body["shards"] = json!(1);
            body["session_start_limit"] =
                json!({"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1});
        }
        (200, body)
    } else if path.ends_with("/callback") {
        // Create Interaction Response: 204 No Content (without `with_response`).
        (204, Value::Null)
    } else if path.ends_with("/commands") {
        // Discord answers with the stored commands: ids, version and type added.
        let stored: Vec<Value> = json
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                c["id"] = json!((1_000 + i).to_string());
                c["application_id"] = json!(APP_ID.to_string());
                c["version"] = json!("1");
                c["type"] = c.get("type").cloned().unwrap_or(json!(1));
                c["default_member_permissions"] = Value::Null;
                c
            })
            .collect();
        (200, Value::Array(stored))
    } else if path.contains("/webhooks/") || path.contains("/messages") {
        (200, message_json("555"))
    } else if path.ends_with("/users/@me/channels") {
        (
            200,
            json!({"id": "777000", "type": 1, "last_message_id": null, "recipients": [{"id": "9100", "username": "ben", "discriminator": "0", "avatar": null}]}),
        )
    } else {
        (404, json!({"message": "Unknown route", "code": 0}))
    };
    s.calls.lock().unwrap().push(Call {
        method,
        path,
        json,
        files,
        status,
        at: Instant::now(),
    });
    s.new_call.notify_waiters();
    let mut res = match status {
        204 => StatusCode::NO_CONTENT.into_response(),
        _ => (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response(),
    };
    if limited {
        res.headers_mut().insert("retry-after", "1".parse().unwrap());
        res.headers_mut()
            .insert("x-ratelimit-reset-after", "1.0".parse().unwrap());
    }
    res
}

impl FakeDiscord {
    /// Starts the fake on a free loopback port.
    pub async fn start() -> FakeDiscord {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeDiscord { url, shared }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Answers the next `n` webhook (follow-up) calls with 429.
    pub fn rate_limit_next(&self, n: u32) {
        *self.shared.rate_limit.lock().unwrap() = n;
    }

    /// Answers `GET /gateway` and `GET /gateway/bot` with this websocket URL.
    pub fn set_gateway(&self, url: &str) {
        *self.shared.gateway_url.lock().unwrap() = Some(url.to_string());
    }

    /// Makes every DM fail as a user with closed DMs would (403, code 50007).
    pub fn close_dms(&self) {
        *self.shared.dms_closed.lock().unwrap() = true;
    }

    /// Waits (bounded) until `n` calls matched `pred`.
    pub async fn wait_for(&self, n: usize, pred: impl Fn(&Call) -> bool) -> Vec<Call> {
        wait_until(
            &format!("{n} matching calls reach the fake Discord"),
            Duration::from_secs(10),
            || async {
                let got: Vec<Call> = self.calls().into_iter().filter(|c| pred(c)).collect();
                (got.len() >= n).then_some(got)
            },
        )
        .await
    }
}
