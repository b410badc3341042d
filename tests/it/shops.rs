//! Ticket-shop connectors (issue 16), common parts: a daemon with one organization's
//! connection to a shop whose API is a local stand-in, deliveries built from the
//! shops' published samples (`tests/fixtures/shops/`, sources in `SOURCES*.md`) and
//! signed here the way each shop signs, and the stored orders read back.

use super::fake_shop::FakeShop;
use super::http::client;
use super::support::*;
use base64::Engine;
use hmac::{Hmac, Mac};
use promoterd::clock::Clock;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

/// The connection's signing secret (or the secret in the address).
pub const SECRET: &str = "shop-secret-0123456789abcdef";
/// The connection's API token, as the stand-in API expects it.
pub const TOKEN: &str = "shop-token-test-0123";

/// A daemon serving HTTP, with Ana's link on `summer-fest` sold at one shop.
pub struct ShopTest {
    pub app: TestApp,
    pub http: promoterd::http::HttpServer,
    pub api: FakeShop,
    /// Ana's link code on `summer-fest`.
    pub ana: String,
    /// The source the shop's orders are stored under.
    pub source: String,
    /// The jobs (with pretix's voucher keeper), for the shops that need them.
    pub jobs: Option<Jobs>,
}

/// Sets up `kind` with the shop's ids for `summer-fest`; `api_path` is where the
/// stand-in API lives on its server (`/api/v1` for pretix).
pub async fn open(kind: &str, keys: &str, api_path: &str) -> ShopTest {
    let api = FakeShop::start().await;
    let base = format!("{}{api_path}", api.url);
    // The shops promoterd reads an API of get its token and address.
    let api_lines = match kind {
        "stripe" | "shopify" | "pretix" | "eventbrite" => format!("api_token = \"{TOKEN}\"\napi_base = \"{base}\"\n"),
        _ => String::new(),
    };
    let app = TestApp::custom(Clock::system(), |t| {
        format!(
            "{t}\n[[checkout]]\norganization = \"acme-events\"\nkind = \"{kind}\"\nsecrets = [\"{SECRET}\"]\n{api_lines}"
        )
    })
    .await;
    app.world().await;
    let set = app
        .ok(OWNER, &format!("editevent summer-fest checkout {kind} {keys}"))
        .await;
    assert!(set.contains("now come from"), "{set}");
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let http = app.serve().await;
    ShopTest {
        app,
        http,
        api,
        ana,
        source: format!("acme-events-{kind}"),
        jobs: None,
    }
}

impl ShopTest {
    /// `POST /webhooks/<path>` with `headers` and `body`.
    pub async fn post(&self, path: &str, headers: &[(&str, String)], body: &str) -> (StatusCode, Value) {
        let mut req = client()
            .post(format!("http://{}/webhooks/{path}", self.http.addr))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A sample with the promoter's ref (`ana-summer` in the samples) made Ana's code.
    pub fn sample(&self, name: &str) -> String {
        fixture(name).replace("ana-summer", &self.ana)
    }

    /// The shop's stored orders.
    pub async fn orders(&self) -> Vec<Stored> {
        stored(&self.app, &self.source).await
    }
}

/// A published sample, as stored in `tests/fixtures/shops/`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/shops/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A sample as JSON.
pub fn sample_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// An order as stored: id, status, net tickets, net revenue, the link it counts for.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Stored {
    pub external_id: String,
    pub status: String,
    pub tickets: i64,
    pub net_minor: i64,
    pub link: Option<String>,
    pub buyer_email: Option<String>,
}

impl ShopTest {
    /// The one order Ana's link sold, as it should be stored.
    pub fn ana(&self, id: &str, status: &str, tickets: i64, net_minor: i64, email: &str) -> Vec<Stored> {
        vec![Stored {
            external_id: id.into(),
            status: status.into(),
            tickets,
            net_minor,
            link: Some(self.ana.clone()),
            buyer_email: Some(email.into()),
        }]
    }
}

/// The orders of `source` with their figures as the stats count them.
pub async fn stored(app: &TestApp, source: &str) -> Vec<Stored> {
    let db = app.db().await;
    let rows = db
        .rows(&format!(
            "SELECT o.external_id, o.status, \
           CAST(coalesce((SELECT sum(CASE WHEN o.status = 'cancelled' THEN 0 ELSE quantity - refunded_quantity END) \
                     FROM order_lines WHERE order_id = o.id), 0) AS BIGINT) AS tickets, \
           CAST(coalesce((SELECT sum(CASE WHEN o.status = 'cancelled' THEN 0 \
                     ELSE (quantity - refunded_quantity) * unit_price_minor - refunded_minor END) \
                     FROM order_lines WHERE order_id = o.id), 0) AS BIGINT) AS net_minor, \
           (SELECT code FROM links WHERE id = o.link_id) AS link, o.buyer_email \
         FROM orders o WHERE o.source = '{}' ORDER BY o.external_id",
            source.replace('\'', "''")
        ))
        .await;
    db.close().await;
    rows
}

fn mac(secret: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// HMAC-SHA256 of the parts in hex, computed here independently of promoterd's code.
pub fn hex_mac(secret: &str, parts: &[&[u8]]) -> String {
    hex::encode(mac(secret, parts))
}

/// HMAC-SHA256 of the parts in base64.
pub fn base64_mac(secret: &str, parts: &[&[u8]]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, parts))
}

/// Seconds since the epoch now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Posts a delivery that must change nothing: the answer's status and the database
/// dump unchanged; returns the answer.
pub async fn changes_nothing(
    t: &ShopTest,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
    status: StatusCode,
) -> Value {
    let before = t.app.dump().await;
    let (got, answer) = t.post(path, headers, body).await;
    assert_eq!(got, status, "{answer}");
    assert_eq!(t.app.dump().await, before, "the database changed: {answer}");
    answer
}
