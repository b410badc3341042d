//! The HTTP server on real loopback sockets: redirects, click counting, the signed
//! order webhook, health and metrics.

use super::support::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Sha256;

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

/// HMAC-SHA256 of "<t>.<body>", computed here independently of promoterd's code.
pub(super) fn signature(secret: &str, t: i64, body: impl AsRef<[u8]>) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body.as_ref());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(super) async fn post_order(
    base: &str,
    body: impl AsRef<[u8]>,
    sig: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let mut req = client()
        .post(format!("{base}/webhooks/orders"))
        .header("content-type", "application/json")
        .body(body.as_ref().to_vec());
    if let Some(s) = sig {
        req = req.header("Promoterd-Signature", s);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

fn order(id: &str, kind: &str, r#ref: &str, updated_at: &str, lines: serde_json::Value) -> String {
    json!({
        "id": format!("dlv-{id}-{kind}-{updated_at}"),
        "type": kind,
        "order": {
            "id": id, "event": "summer-fest", "ref": r#ref,
            "created_at": "2099-05-01T10:00:00Z", "updated_at": updated_at,
            "buyer": {"name": "Webhook Buyer", "email": "wb@buyer.test", "phone": "+1 555 0199"},
            "lines": lines,
        }
    })
    .to_string()
}

fn ga(quantity: i64) -> serde_json::Value {
    json!([{"ticket_type": "General Admission", "quantity": quantity, "unit_price": 4900, "currency": "EUR"}])
}

/// The standard world, Ben's tracking code, and a running server with its base URL.
async fn ben_and_server() -> (TestApp, String, promoterd::http::HttpServer, String) {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    (app, code, server, base)
}

async fn clicks_of(app: &TestApp, code: &str) -> (i64, i64) {
    let link = app.store.link_by_code(code).await.unwrap().unwrap();
    let event = app.store.event(link.event_id).await.unwrap().unwrap();
    let facts = app.store.click_facts(event.id, None).await.unwrap();
    facts
        .iter()
        .find(|f| f.link_id == link.id)
        .map(|f| (f.clicks, f.uniques))
        .unwrap_or((0, 0))
}

#[tokio::test]
async fn redirect_passes_query_on_and_sets_ref_once() {
    let (_app, code, server, base) = ben_and_server().await;
    let res = client()
        .get(format!(
            "{base}/t/{code}?utm_source=instagram&utm_medium=story&ref=someone-else"
        ))
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        res.headers()["location"],
        format!("https://tickets.acme.test/summer?lang=en&utm_source=instagram&utm_medium=story&ref={code}").as_str()
    );
    // Codes are case-insensitive.
    let res = client()
        .get(format!("{base}/t/{}", code.to_uppercase()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_and_revoked_codes_are_404_without_redirect() {
    let (app, code, server, base) = ben_and_server().await;
    for path in [
        "/t/nosuchcode",
        "/t/https%3A%2F%2Fevil.test",
        "/t/..%2F..%2Fetc",
        &format!("/t/{}", "a".repeat(500)),
    ] {
        let res = client()
            .get(format!("{base}{path}?next=https://evil.test"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(res.headers().get("location").is_none(), "{path}");
        assert!(res.text().await.unwrap().contains("This link does not exist"));
    }
    app.ok(OWNER, &format!("revoke {BEN} summer-fest")).await;
    // The revocation reloads the link table; wait for that condition, bounded.
    wait_until(
        "a revoked promoter's link stops redirecting",
        std::time::Duration::from_secs(10),
        || async { client().get(format!("{base}/t/{code}")).send().await.unwrap().status() == StatusCode::NOT_FOUND },
    )
    .await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn preview_bots_and_head_are_redirected_but_not_counted() {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    let server = app.serve().await;
    let url = format!("http://{}/t/{code}", server.addr);
    for ua in [
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "TelegramBot (like TwitterBot)",
        "WhatsApp/2.23.20.0",
        "facebookexternalhit/1.1",
    ] {
        let res = client().get(&url).header("user-agent", ua).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{ua}");
    }
    let res = client().head(&url).header("user-agent", BROWSER).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    for _ in 0..3 {
        client().get(&url).header("user-agent", BROWSER).send().await.unwrap();
    }
    let metrics = client()
        .get(format!("http://{}/metrics", server.metrics_addr.unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("promoterd_clicks_total{outcome=\"filtered\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("promoterd_clicks_total{outcome=\"counted\"} 3"),
        "{metrics}"
    );
    server.stop().await.unwrap();
    assert_eq!(clicks_of(&app, &code).await, (3, 1), "3 human clicks, one visitor");
}

#[tokio::test]
async fn visitors_are_told_apart_by_address_and_a_forwarded_for_header_only_behind_a_proxy() {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    let visit = |url: String, xff: &'static str| async move {
        let res = client()
            .get(&url)
            .header("user-agent", BROWSER)
            .header("x-forwarded-for", xff)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
    };
    // Without a proxy the header is the client's to write: one address, one visitor.
    let server = app.serve().await;
    let url = format!("http://{}/t/{code}", server.addr);
    for xff in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        visit(url.clone(), xff).await;
    }
    // The connection's own address is what tells visitors apart.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = other.get(&url).header("user-agent", BROWSER).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    server.stop().await.unwrap();
    assert_eq!(
        clicks_of(&app, &code).await,
        (4, 2),
        "the header is ignored; 127.0.0.1 and 127.0.0.2 are two visitors"
    );
    // Behind a proxy, the right-most entry (the proxy's) is the visitor.
    let mut config = app.config();
    config.http.trust_forwarded_for = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = promoterd::http::HttpServer::start(app.core.clone(), &config, listener)
        .await
        .unwrap();
    let url = format!("http://{}/t/{code}", server.addr);
    for xff in [
        "203.0.113.9, 198.51.100.1",
        "203.0.113.9, 198.51.100.2",
        "10.0.0.1, 198.51.100.2",
    ] {
        visit(url.clone(), xff).await;
    }
    server.stop().await.unwrap();
    assert_eq!(
        clicks_of(&app, &code).await,
        (7, 4),
        "two more visitors: 198.51.100.1 and .2 (the forged left entries change nothing)"
    );
}

#[tokio::test]
async fn buffered_clicks_survive_a_graceful_shutdown() {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    let server = app.serve().await;
    let url = format!("http://{}/t/{code}", server.addr);
    let c = client();
    let requests = (0..200).map(|i| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let ua = format!("{BROWSER} visitor/{}", i % 40);
            c.get(&url).header("user-agent", ua).send().await.unwrap().status()
        }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::FOUND));
    server.stop().await.unwrap();
    assert_eq!(
        clicks_of(&app, &code).await,
        (200, 40),
        "every click written on shutdown, 40 distinct visitors"
    );
    let raw = app.dump().await;
    assert!(!raw.contains("127.0.0.1"), "no address is stored");
}

#[tokio::test]
async fn a_full_click_buffer_still_redirects_and_counts_what_it_drops() {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    let text = std::fs::read_to_string(&app.config)
        .unwrap()
        .edit("click_buffer = 65536", "click_buffer = 1");
    std::fs::write(&app.config, text).unwrap();
    let server = app.serve().await;
    let url = format!("http://{}/t/{code}", server.addr);
    let c = client();
    let statuses = futures::future::join_all((0..300).map(|_| c.get(&url).header("user-agent", BROWSER).send())).await;
    assert!(
        statuses.into_iter().all(|r| r.unwrap().status() == StatusCode::FOUND),
        "every visitor is redirected"
    );
    let metrics = c
        .get(format!("http://{}/metrics", server.metrics_addr.unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server.stop().await.unwrap();
    let count = |outcome: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("promoterd_clicks_total{{outcome=\"{outcome}\"}} ")))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(count("counted") + count("dropped"), 300, "{metrics}");
    assert_eq!(
        clicks_of(&app, &code).await.0,
        count("counted"),
        "what was counted was written"
    );
}

#[tokio::test]
async fn a_signed_order_is_attributed_and_shows_in_mystats() {
    let (app, code, server, base) = ben_and_server().await;
    let body = order("W1", "order.created", &code, "2099-05-01T10:00:00Z", ga(2));
    let (status, answer) = post_order(&base, &body, Some(signature(NEW_SECRET, now(), &body))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "created");
    let stats = app.ok(BEN, "mystats").await;
    assert_eq!(field(&stats, "Tickets"), "2");
    assert_eq!(field(&stats, "Net revenue"), "98.00 EUR");
    // Secret rotation: the old secret still works, and a later update is applied.
    let body = order("W1", "order.updated", &code, "2099-05-01T11:00:00Z", ga(3));
    let (status, answer) = post_order(&base, &body, Some(signature(OLD_SECRET, now(), &body))).await;
    assert_eq!((status, answer["status"].as_str()), (StatusCode::OK, Some("updated")));
    assert_eq!(field(&app.ok(BEN, "mystats").await, "Tickets"), "3");
    // An older state arriving late never moves the order back.
    let body = order("W1", "order.updated", &code, "2099-05-01T10:30:00Z", ga(1));
    let (_, answer) = post_order(&base, &body, Some(signature(NEW_SECRET, now(), &body))).await;
    assert_eq!(answer["status"], "unchanged");
    assert_eq!(field(&app.ok(BEN, "mystats").await, "Tickets"), "3");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn forged_or_stale_deliveries_are_rejected_and_store_nothing() {
    let (app, code, server, base) = ben_and_server().await;
    let body = order("F1", "order.created", &code, "2099-05-01T10:00:00Z", ga(1));
    let tampered = body.replace("\"quantity\":1", "\"quantity\":9");
    assert_ne!(tampered, body);
    let before = app.dump().await;
    let cases = [
        (
            "tampered body",
            tampered.clone(),
            Some(signature(NEW_SECRET, now(), &body)),
            "no v1 signature matches",
        ),
        (
            "wrong secret",
            body.clone(),
            Some(signature("whsec-attacker-000000000", now(), &body)),
            "no v1 signature matches",
        ),
        (
            "old timestamp",
            body.clone(),
            Some(signature(NEW_SECRET, now() - 301, &body)),
            "away from our clock",
        ),
        (
            "future timestamp",
            body.clone(),
            Some(signature(NEW_SECRET, now() + 3600, &body)),
            "away from our clock",
        ),
        ("missing header", body.clone(), None, "missing Promoterd-Signature"),
        (
            "garbage header",
            body.clone(),
            Some("sha256=abc".into()),
            "malformed Promoterd-Signature",
        ),
    ];
    for (name, body, sig, needle) in cases {
        let (status, answer) = post_order(&base, &body, sig).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(answer["error"], "signature", "{name}");
        assert!(answer["message"].as_str().unwrap().contains(needle), "{name}: {answer}");
    }
    assert_eq!(before, app.dump().await, "nothing stored for rejected deliveries");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_orders_get_actionable_errors_and_store_nothing() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(
        OWNER,
        "newevent winter-ball 2099-12-12 https://tickets.acme.test/winter Winter Ball",
    )
    .await;
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    // A stored order, to conflict with.
    let body = order("C1", "order.created", "", "2099-05-01T10:00:00Z", ga(1));
    assert_eq!(
        post_order(&base, &body, Some(signature(NEW_SECRET, now(), &body)))
            .await
            .0,
        StatusCode::OK
    );
    let before = app.dump().await;
    let moved = order("C1", "order.updated", "", "2099-05-02T10:00:00Z", ga(1)).replace("summer-fest", "winter-ball");
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("not json", "{not json".into(), StatusCode::BAD_REQUEST, "malformed"),
        (
            "unknown field",
            body.replace("\"type\"", "\"typo\""),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "unknown type",
            body.replace("order.created", "order.exploded"),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "negative quantity",
            order("C2", "order.created", "", "2099-05-01T10:00:00Z", ga(-1)),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "no lines",
            order("C3", "order.created", "", "2099-05-01T10:00:00Z", json!([])),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "unknown event",
            body.replace("summer-fest", "no-such-event").replace("dlv-", "dlv2-"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_event",
        ),
        (
            "other currency",
            body.replace("\"EUR\"", "\"USD\"").replace("C1", "C4"),
            StatusCode::CONFLICT,
            "conflict",
        ),
        ("moved to another event", moved, StatusCode::CONFLICT, "conflict"),
    ];
    for (name, body, want, error) in cases {
        let (status, answer) = post_order(&base, &body, Some(signature(NEW_SECRET, now(), &body))).await;
        assert_eq!(status, want, "{name}: {answer}");
        assert_eq!(answer["error"], error, "{name}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    // Too large: refused before the signature is even checked.
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(300 * 1024));
    let (status, answer) = post_order(&base, &huge, Some(signature(NEW_SECRET, now(), &huge))).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    assert_eq!(before, app.dump().await, "nothing stored for rejected orders");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_same_delivery_fifty_times_at_once_yields_one_order() {
    let (app, code, server, base) = ben_and_server().await;
    let body = order("D1", "order.created", &code, "2099-05-01T10:00:00Z", ga(2));
    let sig = signature(NEW_SECRET, now(), &body);
    let answers = futures::future::join_all((0..50).map(|_| post_order(&base, &body, Some(sig.clone())))).await;
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK), "{answers:?}");
    let created = answers.iter().filter(|(_, a)| a["status"] == "created").count();
    let duplicates = answers.iter().filter(|(_, a)| a["status"] == "duplicate").count();
    assert_eq!((created, duplicates), (1, 49));
    assert_eq!(field(&app.ok(BEN, "mystats").await, "Tickets"), "2");
    assert_eq!(field(&app.ok(BEN, "mystats").await, "Orders"), "1");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_refund_that_arrives_before_its_order_is_applied_when_it_arrives() {
    let (app, code, server, base) = ben_and_server().await;
    let refund = order("R1", "order.refunded", &code, "2099-05-01T12:00:00Z", json!([]));
    let (status, answer) = post_order(&base, &refund, Some(signature(NEW_SECRET, now(), &refund))).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending")),
        "{answer}"
    );
    let created = order("R1", "order.created", &code, "2099-05-01T10:00:00Z", ga(2));
    let (status, answer) = post_order(&base, &created, Some(signature(NEW_SECRET, now(), &created))).await;
    assert_eq!((status, answer["status"].as_str()), (StatusCode::OK, Some("created")));
    let stats = app.ok(BEN, "mystats").await;
    assert_eq!(field(&stats, "Tickets"), "0");
    assert_eq!(field(&stats, "Refunded"), "98.00 EUR (2 tickets)");
    assert!(app.ok(BEN, "myorders").await.contains("refunded"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_readme_openssl_example_produces_an_accepted_signature() {
    let app = TestApp::new().await;
    app.world().await;
    let server = app.serve().await;
    let body = order("S1", "order.created", "", "2099-05-01T10:00:00Z", ga(1));
    std::fs::write(app.path("order.json"), &body).unwrap();
    let t = now().to_string();
    // The README's recipe, run by the shell.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf '%s.' \"$T\" | cat - order.json | openssl dgst -sha256 -hmac \"$SECRET\" | sed 's/^.* //'")
        .env("T", &t)
        .env("SECRET", NEW_SECRET)
        .current_dir(app.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let hex = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (status, answer) = post_order(
        &format!("http://{}", server.addr),
        &body,
        Some(format!("t={t},v1={hex}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn health_and_metrics() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    let res = client().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(
        (res.status(), res.text().await.unwrap().as_str()),
        (StatusCode::OK, "ok\n")
    );
    // Metrics are not served on the public listener (issue 14.5): order totals are no
    // promoter's business.
    let res = client().get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let metrics_addr = server.metrics_addr.expect("a metrics listener by default");
    assert!(metrics_addr.ip().is_loopback());
    assert_ne!(metrics_addr.port(), server.addr.port());
    let metrics = client()
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("promoterd_http_request_duration_seconds_bucket{le="),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"healthz\""), "{metrics}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_behind_a_bearer_token() {
    let app = TestApp::custom(promoterd::clock::Clock::system(), |t| {
        t.edit("# metrics_token = \"...\"", "metrics_token = \"m3tr1cs-t0ken-for-ops\"")
    })
    .await;
    assert_eq!(app.config().metrics_token().as_deref(), Some("m3tr1cs-t0ken-for-ops"));
    let server = app.serve().await;
    let url = format!("http://{}/metrics", server.metrics_addr.unwrap());
    for auth in [None, Some("Bearer wrong"), Some("m3tr1cs-t0ken-for-ops")] {
        let mut req = client().get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(!res.text().await.unwrap().contains("promoterd_"));
    }
    let res = client()
        .get(&url)
        .header("authorization", "Bearer m3tr1cs-t0ken-for-ops")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("promoterd_links_cached"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn concurrent_deliveries_share_a_commit_and_a_refused_one_spoils_nothing() {
    let (app, code, server, base) = ben_and_server().await;
    let mut bodies: Vec<String> = (0..40)
        .map(|i| order(&format!("B{i}"), "order.created", &code, "2099-05-01T10:00:00Z", ga(1)))
        .collect();
    // One in the middle has the wrong currency: refused alone.
    bodies[20] = bodies[20].replace("\"EUR\"", "\"USD\"");
    let answers = futures::future::join_all(
        bodies
            .iter()
            .map(|b| post_order(&base, b, Some(signature(NEW_SECRET, now(), b)))),
    )
    .await;
    let ok = answers
        .iter()
        .filter(|(s, a)| *s == StatusCode::OK && a["status"] == "created")
        .count();
    let conflicts = answers.iter().filter(|(s, _)| *s == StatusCode::CONFLICT).count();
    assert_eq!((ok, conflicts), (39, 1), "{answers:?}");
    assert_eq!(field(&app.ok(BEN, "mystats").await, "Orders"), "39");
    server.stop().await.unwrap();
}

/// The scheduler's passes are counted in `/metrics`: operators see which daemon runs
/// them, and the load benchmark waits for the first one before reading idle memory.
#[tokio::test]
async fn scheduler_passes_are_counted_in_metrics() {
    let app = TestApp::new().await;
    app.world().await;
    let server = app.serve().await;
    let url = format!("http://{}/metrics", server.metrics_addr.unwrap());
    let passes = |text: &str| -> Option<i64> {
        text.lines()
            .find_map(|l| l.strip_prefix("promoterd_scheduler_passes_total{outcome=\"ok\"} "))
            .map(|v| v.trim().parse().unwrap())
    };
    let before = client().get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(passes(&before), None, "no pass before the jobs run: {before}");
    let jobs = app.run_jobs().await;
    let counted = wait_until(
        "the first scheduler pass is counted",
        std::time::Duration::from_secs(30),
        || {
            let url = url.clone();
            async move { passes(&client().get(&url).send().await.unwrap().text().await.unwrap()) }
        },
    )
    .await;
    drop(jobs);
    server.stop().await.unwrap();
    assert_eq!(counted, 1, "the pass at start, the next a minute later");
}
