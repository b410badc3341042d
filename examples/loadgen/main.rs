//! A small closed-loop load generator for promoterd: GET redirects or signed order
//! webhooks, from N concurrent connections for a fixed time or request count; prints
//! requests/s and latency percentiles as one line of `key=value` pairs.
//!
//! `loadgen redirect <url> <concurrency> <seconds>`
//! `loadgen orders <base url> <concurrency> <count> <secret> <event> <ref>`
//! `loadgen commands <config> <count> <line> <email>…`: runs a command line through
//! the core as each person in turn (the console front-end's path), timing each answer.
//! `loadgen commits <database file> <count> <full|normal>`: the raw SQLite rate of
//! single-row transactions (WAL), the baseline for durable order ingestion.
//! `loadgen stripe <base url> <concurrency> <count> <secret> <ref> <payment link>`:
//! Stripe `checkout.session.completed` events signed with `Stripe-Signature`.
//! `loadgen stripe-api <address>`: a stand-in for Stripe's line-items endpoint,
//! answering every session with the documented list shape.
//! `loadgen rush <plan.json>`: redirects, signed orders and Telegram commands at fixed
//! rates, all at once (`rush.rs`).
//! `loadgen telegram-api <address>`: a stand-in for the Telegram Bot API (`telegram_api.rs`).
//!
//! With `ACK_LOG=<file>`, `orders` appends the id of every order answered 2xx to the
//! file and stops at the first refused connection (crash tests).

mod rush;
mod telegram_api;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn sign(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn report(name: &str, mut lat: Vec<Duration>, errors: usize, elapsed: Duration) {
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{name}: requests={} errors={errors} rps={:.0} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3}",
        lat.len(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.90).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
}

/// Joins the client tasks: every latency and the error count.
async fn collect(tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>) -> (Vec<Duration>, usize) {
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.expect("task");
        all.extend(l);
        errors += e;
    }
    (all, errors)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1024)
        .build()
        .expect("client");
    match args.get(1).map(String::as_str) {
        Some("redirect") => {
            let url = args[2].clone();
            let conc: usize = args[3].parse().expect("concurrency");
            let secs: u64 = args[4].parse().expect("seconds");
            let deadline = Instant::now() + Duration::from_secs(secs);
            let start = Instant::now();
            let tasks: Vec<_> = (0..conc)
                .map(|i| {
                    let client = client.clone();
                    let url = format!("{url}?utm_source=load&utm_content={i}");
                    tokio::spawn(async move {
                        let (mut lat, mut errors) = (Vec::new(), 0usize);
                        while Instant::now() < deadline {
                            let t = Instant::now();
                            match client
                                .get(&url)
                                .header("user-agent", "Mozilla/5.0 loadgen")
                                .send()
                                .await
                            {
                                Ok(r) if r.status().as_u16() == 302 => lat.push(t.elapsed()),
                                _ => errors += 1,
                            }
                        }
                        (lat, errors)
                    })
                })
                .collect();
            let (all, errors) = collect(tasks).await;
            report("redirect", all, errors, start.elapsed());
        }
        Some("orders") => {
            let base = args[2].clone();
            let conc: usize = args[3].parse().expect("concurrency");
            let count: usize = args[4].parse().expect("count");
            let (secret, event, r#ref) = (args[5].clone(), args[6].clone(), args[7].clone());
            let next = Arc::new(AtomicUsize::new(0));
            let run = std::env::var("RUN_ID").unwrap_or_else(|_| format!("{}", std::process::id()));
            let ack_log = std::env::var("ACK_LOG").ok().map(|p| {
                Arc::new(std::sync::Mutex::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(p)
                        .expect("ACK_LOG file"),
                ))
            });
            let start = Instant::now();
            let tasks: Vec<_> = (0..conc)
                .map(|_| {
                    let (client, base, secret, event, r#ref, next, run) =
                        (client.clone(), base.clone(), secret.clone(), event.clone(), r#ref.clone(), next.clone(), run.clone());
                    let ack_log = ack_log.clone();
                    tokio::spawn(async move {
                        let (mut lat, mut errors) = (Vec::new(), 0usize);
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            if n >= count {
                                break;
                            }
                            let body = serde_json::json!({
                                "id": format!("load-{run}-{n}"), "type": "order.created",
                                "order": {"id": format!("load-{run}-{n}"), "event": event, "ref": r#ref,
                                  "created_at": "2099-05-01T10:00:00Z",
                                  "buyer": {"name": "Load Buyer", "email": format!("buyer{n}@load.test")},
                                  "lines": [{"ticket_type": "General Admission", "quantity": 1 + (n % 3) as i64, "unit_price": 4900, "currency": "EUR"}]}
                            })
                            .to_string();
                            let sig = sign(&secret, chrono::Utc::now().timestamp(), &body);
                            let t = Instant::now();
                            match client
                                .post(format!("{base}/webhooks/orders"))
                                .header("content-type", "application/json")
                                .header("promoterd-signature", sig)
                                .body(body)
                                .send()
                                .await
                            {
                                Ok(r) if r.status().is_success() => {
                                    lat.push(t.elapsed());
                                    if let Some(log) = &ack_log {
                                        use std::io::Write;
                                        // One write per line: a loadgen stopped between
                                        // the pieces of a formatted line would tear it.
                                        let line = format!("load-{run}-{n}\n");
                                        let mut f = log.lock().expect("log lock");
                                        f.write_all(line.as_bytes()).expect("writing ACK_LOG");
                                    }
                                }
                                Err(_) if ack_log.is_some() => break,
                                _ => errors += 1,
                            }
                        }
                        (lat, errors)
                    })
                })
                .collect();
            let (all, errors) = collect(tasks).await;
            report("orders", all, errors, start.elapsed());
        }
        Some("commands") => {
            let config = promoterd::config::Config::load(std::path::Path::new(&args[2])).expect("config");
            let count: usize = args[3].parse().expect("count");
            let line = args[4].clone();
            let people = &args[5..];
            assert!(!people.is_empty(), "at least one email");
            // The configured database: the SQLite file, or PostgreSQL with `[database] url`.
            let store = promoterd::daemon::open_database(&config).await.expect("database");
            let core = promoterd::commands::Core::new(store, promoterd::clock::Clock::system(), config.core_settings());
            // Warm up: every pooled connection prepares its statements once.
            for i in 0..count.div_ceil(10) {
                let origin = promoterd::commands::Origin::Console {
                    email: people[i % people.len()].clone(),
                };
                core.execute(&origin, &line).await;
            }
            let (mut lat, mut errors) = (Vec::with_capacity(count), 0usize);
            let start = Instant::now();
            for i in 0..count {
                let origin = promoterd::commands::Origin::Console {
                    email: people[i % people.len()].clone(),
                };
                let t = Instant::now();
                let reply = core.execute(&origin, &line).await;
                let text = reply.to_plain();
                lat.push(t.elapsed());
                if reply.is_error {
                    errors += 1;
                    if errors == 1 {
                        eprintln!("{line}: {text}");
                    }
                }
            }
            report("commands", lat, errors, start.elapsed());
        }
        Some("stripe") => stripe_orders(client, &args).await,
        Some("stripe-api") => stripe_api(&args[2]).await,
        Some("rush") => rush::run(client, &args[2]).await,
        Some("telegram-api") => telegram_api::serve(&args[2]).await,
        Some("commits") => {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            use sqlx::{ConnectOptions, Connection};
            let count: usize = args[3].parse().expect("count");
            let sync = match args[4].as_str() {
                "full" => SqliteSynchronous::Full,
                _ => SqliteSynchronous::Normal,
            };
            let mut conn = SqliteConnectOptions::new()
                .filename(&args[2])
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(sync)
                .connect()
                .await
                .expect("database");
            sqlx::query("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
                .execute(&mut conn)
                .await
                .expect("table");
            let mut lat = Vec::with_capacity(count);
            let start = Instant::now();
            for n in 0..count {
                let t = Instant::now();
                sqlx::query("INSERT INTO t (body) VALUES (?)")
                    .bind(format!("order {n}"))
                    .execute(&mut conn)
                    .await
                    .expect("insert");
                lat.push(t.elapsed());
            }
            report("commits", lat, 0, start.elapsed());
            conn.close().await.expect("close");
        }
        _ => {
            eprintln!(
                "usage: loadgen redirect <url> <concurrency> <seconds>\n       loadgen orders <base> <concurrency> <count> <secret> <event> <ref>\n       \
                 loadgen commands <config> <count> <line> <email>...\n       loadgen commits <db> <count> <full|normal>\n       \
                 loadgen stripe <base> <concurrency> <count> <secret> <ref> <payment link>\n       loadgen stripe-api <address>\n       loadgen rush <plan.json>\n       loadgen telegram-api <address>"
            );
            std::process::exit(2);
        }
    }
}

/// Posts `count` signed `checkout.session.completed` events from `concurrency` clients.
async fn stripe_orders(client: reqwest::Client, args: &[String]) {
    let base = args[2].clone();
    let conc: usize = args[3].parse().expect("concurrency");
    let count: usize = args[4].parse().expect("count");
    let (secret, r#ref, link) = (args[5].clone(), args[6].clone(), args[7].clone());
    let run = std::env::var("RUN_ID").unwrap_or_else(|_| format!("{}", std::process::id()));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|_| {
            let (client, base, secret, r#ref, link, next, run) =
                (client.clone(), base.clone(), secret.clone(), r#ref.clone(), link.clone(), next.clone(), run.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (Vec::new(), 0usize);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        break;
                    }
                    // The fields promoterd reads, in the shape of Stripe's fixtures.
                    let body = serde_json::json!({
                        "id": format!("evt_load_{run}_{n}"), "object": "event", "type": "checkout.session.completed",
                        "api_version": "2022-08-01", "created": 4_070_000_000i64, "livemode": false,
                        "data": {"object": {
                            "id": format!("cs_load_{run}_{n}"), "object": "checkout.session", "created": 4_070_000_000i64,
                            "client_reference_id": r#ref, "payment_intent": format!("pi_load_{run}_{n}"),
                            "payment_link": link, "payment_status": "paid", "status": "complete", "currency": "eur",
                            "amount_total": 9800, "metadata": {},
                            "customer_details": {"name": "Load Buyer", "email": format!("buyer{n}@load.test"), "phone": null}
                        }}
                    })
                    .to_string();
                    let t = chrono::Utc::now().timestamp();
                    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
                    mac.update(format!("{t}.{body}").as_bytes());
                    let sig = format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()));
                    let sent = Instant::now();
                    match client
                        .post(format!("{base}/webhooks/stripe"))
                        .header("content-type", "application/json")
                        .header("stripe-signature", sig)
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => lat.push(sent.elapsed()),
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let (all, errors) = collect(tasks).await;
    report("stripe", all, errors, start.elapsed());
}

/// Answers `GET /v1/checkout/sessions/<id>/line_items` with two General Admission
/// tickets (the list shape of Stripe's fixtures), until killed.
async fn stripe_api(addr: &str) {
    use axum::routing::get;
    let items = serde_json::json!({
        "object": "list", "has_more": false, "url": "/v1/checkout/sessions/x/line_items",
        "data": [{"id": "li_load", "object": "item", "description": "General Admission", "quantity": 2,
                  "amount_subtotal": 9800, "amount_total": 9800, "amount_discount": 0, "amount_tax": 0,
                  "currency": "eur", "price": {"id": "price_load", "object": "price", "product": "prod_load",
                  "unit_amount": 4900, "currency": "eur", "type": "one_time"}}]
    })
    .to_string();
    let app = axum::Router::new().route(
        "/v1/checkout/sessions/{id}/line_items",
        get(move || {
            let items = items.clone();
            async move { ([("content-type", "application/json")], items) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.expect("listen");
    axum::serve(listener, app).await.expect("serve");
}
