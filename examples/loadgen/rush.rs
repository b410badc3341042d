//! `loadgen rush <plan.json>`: an on-sale rush. Each stream of the plan (redirects, signed
//! orders, Telegram commands) is sent at a fixed rate, open loop, for the same seconds.
//!
//! The plan: `{"base": url, "secs": n, "run": id, "redirect": {"rate", "code"},
//! "orders": {"rate", "secret", "event", "ref"}, "telegram": {"secret", "streams":
//! [{"name", "rate", "line", "users": [ids]}]}}`; a stream left out is not sent. One
//! report line per stream, as `report` prints it.

use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// When each request of a stream is due: `rate` a second for `secs`, request `n` at
/// `start + n / rate`, handed out to `workers` connections in turn (worker `i` sends
/// `i`, `i + workers`, …). A worker that falls behind sends at once, and the time it
/// was behind counts in that request's latency (see [`SLACK`]).
#[derive(Clone, Copy)]
struct Schedule {
    start: Instant,
    period: Duration,
    total: u64,
    workers: u64,
}

impl Schedule {
    fn new(rate: f64, secs: f64, workers: u64) -> Schedule {
        Schedule {
            start: Instant::now(),
            period: Duration::from_secs_f64(1.0 / rate),
            total: (rate * secs) as u64,
            workers,
        }
    }

    /// Worker `i`'s next request once it is due: its number, and when its latency
    /// starts (see [`SLACK`]).
    async fn next(&self, n: &mut Option<u64>, i: u64) -> Option<(u64, Instant)> {
        let k = n.map_or(i, |k| k + self.workers);
        if k >= self.total {
            return None;
        }
        *n = Some(k);
        let due = self.start + self.period.mul_f64(k as f64);
        tokio::time::sleep_until(due.into()).await;
        Some((k, Instant::now().min(due + SLACK)))
    }
}

/// The timer wakes a worker up to a millisecond after a request is due: a request sent
/// within that is timed from its send, a later one from its due time plus this (the
/// wait of a worker that fell behind, so a daemon that cannot keep up shows in the
/// latencies and not only in the achieved rate).
const SLACK: Duration = Duration::from_millis(1);

type Outcome = (Vec<Duration>, usize, Duration);

/// Runs `workers` tasks of one stream; each `send(n)` is timed to its answer (`true`:
/// a good one).
async fn paced<F, Fut>(rate: f64, secs: f64, workers: u64, send: F) -> Outcome
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let s = Schedule::new(rate, secs, workers);
    let tasks: Vec<_> = (0..workers)
        .map(|i| {
            let send = send.clone();
            tokio::spawn(async move {
                let (mut lat, mut errors, mut n) = (Vec::new(), 0, None);
                while let Some((k, t)) = s.next(&mut n, i).await {
                    if send(k).await {
                        lat.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let (lat, errors) = super::collect(tasks).await;
    (lat, errors, s.start.elapsed())
}

/// One `GET` on a kept connection, read to the end of its answer: `true` for a 302. A
/// few lines of HTTP/1.1 instead of a client library, so that one core can send the
/// redirects at half of what wrk achieves (a 302 has no body, or one sized by
/// `Content-Length`).
async fn get_302(conn: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> std::io::Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut have = buf.len() - end - 4;
        while have < length {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            have += n;
        }
        return Ok(head.starts_with("http/1.1 302"));
    }
}

/// A Telegram text message update as the Bot API posts it to a webhook.
fn update(id: i64, user: i64, text: &str) -> String {
    let len = text.split_whitespace().next().unwrap_or_default().chars().count();
    json!({"update_id": id, "message": {
        "message_id": id, "date": chrono::Utc::now().timestamp(),
        "chat": {"id": user, "type": "private", "first_name": "Load"},
        "from": {"id": user, "is_bot": false, "first_name": "Load", "username": format!("load{user}")},
        "text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len}]
    }})
    .to_string()
}

type Stream = std::pin::Pin<Box<dyn Future<Output = (String, Outcome)> + Send>>;

/// Connections per stream, as wrk's `-c64`; Telegram's are 8.
const WORKERS: u64 = 64;

fn redirects(base: &str, secs: f64, p: &Value) -> Stream {
    let rate = p["rate"].as_f64().expect("redirect rate");
    let addr = base.trim_start_matches("http://").to_string();
    let request = format!(
        "GET /t/{}?utm_source=rush HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Mozilla/5.0 rush\r\n\r\n",
        p["code"].as_str().expect("redirect code")
    )
    .into_bytes();
    Box::pin(async move {
        let s = Schedule::new(rate, secs, WORKERS);
        let tasks: Vec<_> = (0..WORKERS)
            .map(|i| {
                let (addr, request) = (addr.clone(), request.clone());
                tokio::spawn(async move {
                    let (mut lat, mut errors, mut n) = (Vec::new(), 0, None);
                    let (mut conn, mut buf) = (None, Vec::with_capacity(1024));
                    while let Some((_, t)) = s.next(&mut n, i).await {
                        if conn.is_none() {
                            conn = TcpStream::connect(&addr).await.ok();
                            conn.as_ref().map(|c| c.set_nodelay(true));
                        }
                        let answer = match conn.as_mut() {
                            Some(c) => get_302(c, &request, &mut buf).await,
                            None => Err(std::io::ErrorKind::ConnectionRefused.into()),
                        };
                        match answer {
                            Ok(true) => lat.push(t.elapsed()),
                            Ok(false) => errors += 1,
                            Err(_) => {
                                errors += 1;
                                conn = None;
                            }
                        }
                    }
                    (lat, errors)
                })
            })
            .collect();
        let (lat, errors) = super::collect(tasks).await;
        ("redirect".to_string(), (lat, errors, s.start.elapsed()))
    })
}

fn orders(client: &reqwest::Client, base: &str, secs: f64, run: &str, p: &Value) -> Stream {
    let rate = p["rate"].as_f64().expect("orders rate");
    let (secret, event, r#ref) = (
        p["secret"].as_str().expect("secret").to_string(),
        p["event"].as_str().expect("event").to_string(),
        p["ref"].as_str().expect("ref").to_string(),
    );
    let (client, url, run) = (client.clone(), format!("{base}/webhooks/orders"), run.to_string());
    Box::pin(async move {
        let r = paced(rate, secs, WORKERS, move |n| {
            let id = format!("rush-{run}-{n}");
            let body = json!({
                "id": id, "type": "order.created",
                "order": {"id": id, "event": event, "ref": r#ref, "created_at": "2099-05-01T10:00:00Z",
                  "buyer": {"name": "Rush Buyer", "email": format!("rush{n}@load.test")},
                  "lines": [{"ticket_type": "General Admission", "quantity": 1 + (n % 3) as i64,
                             "unit_price": 4900, "currency": "EUR"}]}
            })
            .to_string();
            let sig = super::sign(&secret, chrono::Utc::now().timestamp(), &body);
            let req = client
                .post(&url)
                .header("content-type", "application/json")
                .header("promoterd-signature", sig)
                .body(body)
                .send();
            async move { matches!(req.await, Ok(r) if r.status().is_success()) }
        })
        .await;
        ("orders".to_string(), r)
    })
}

/// One stream of Telegram commands: each update goes to the daemon's webhook, which
/// answers once its reply is sent to the Bot API stand-in; a user in turn per update.
fn telegram(client: &reqwest::Client, base: &str, secs: f64, secret: &str, first_id: i64, s: &Value) -> Stream {
    let rate = s["rate"].as_f64().expect("telegram rate");
    let name = s["name"].as_str().expect("stream name").to_string();
    let line = s["line"].as_str().expect("line").to_string();
    let users: Arc<Vec<i64>> = Arc::new(
        s["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u.as_i64().expect("user id"))
            .collect(),
    );
    assert!(!users.is_empty(), "a Telegram stream needs users");
    let (client, url, secret) = (client.clone(), format!("{base}/telegram/webhook"), secret.to_string());
    Box::pin(async move {
        let r = paced(rate, secs, 8, move |n| {
            let user = users[n as usize % users.len()];
            let req = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-telegram-bot-api-secret-token", &secret)
                .body(update(first_id + n as i64, user, &line))
                .send();
            async move { matches!(req.await, Ok(r) if r.status().is_success()) }
        })
        .await;
        (name, r)
    })
}

pub async fn run(client: reqwest::Client, plan_file: &str) {
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(plan_file).expect("plan file")).expect("plan");
    let base = plan["base"].as_str().expect("base").trim_end_matches('/').to_string();
    let secs = plan["secs"].as_f64().expect("secs");
    let run = plan["run"].as_str().expect("run").to_string();
    let mut streams: Vec<Stream> = Vec::new();
    if plan["redirect"].is_object() {
        streams.push(redirects(&base, secs, &plan["redirect"]));
    }
    if plan["orders"].is_object() {
        streams.push(orders(&client, &base, secs, &run, &plan["orders"]));
    }
    if let Some(tg) = plan["telegram"].as_object() {
        let secret = tg["secret"].as_str().expect("telegram secret");
        // Update ids are unique per run and stream: the daemon applies each id once.
        let mut first_id = plan["first_update_id"].as_i64().expect("first_update_id");
        for s in tg["streams"].as_array().into_iter().flatten() {
            streams.push(telegram(&client, &base, secs, secret, first_id, s));
            first_id += 100_000;
        }
    }
    let handles: Vec<_> = streams.into_iter().map(tokio::spawn).collect();
    for h in handles {
        let (name, (lat, errors, elapsed)) = h.await.expect("stream");
        super::report(&name, lat, errors, elapsed);
    }
}
