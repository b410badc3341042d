//! `[[checkout]]` connections (issue 16): a shop's secrets identify its organization,
//! so one daemon takes several organizations' orders and a delivery signed for one
//! never lands in another's events.

use super::http::{now, post_order, signature};
use super::support::*;
use promoterd::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

const ACME: &str = "acme-shop-secret-0123456789";
const RIVAL: &str = "rival-shop-secret-0123456789";
const GHOST: &str = "ghost-shop-secret-0123456789";

fn body(id: &str, event: &str) -> String {
    json!({
        "id": format!("dlv-{id}-{event}"),
        "type": "order.created",
        "order": {
            "id": id, "event": event,
            "created_at": "2099-05-01T10:00:00Z", "updated_at": "2099-05-01T10:00:00Z",
            "buyer": {"name": "Shop Buyer", "email": "shop@buyer.test"},
            "lines": [{"ticket_type": "General Admission", "quantity": 2, "unit_price": 4900, "currency": "EUR"}],
        }
    })
    .to_string()
}

async fn post(base: &str, secret: &str, body: &str) -> (StatusCode, serde_json::Value) {
    post_order(base, body, Some(signature(secret, now(), body))).await
}

async fn post_at(url: &str, secret: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let res = super::http::client()
        .post(url)
        .header("content-type", "application/json")
        .header("Promoterd-Signature", signature(secret, now(), body))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// (source, external id, organization short name) of every stored order.
async fn stored(app: &TestApp) -> Vec<(String, String, String)> {
    let db = app.db().await;
    let rows = db
        .rows(
            "SELECT o.source, o.external_id, g.slug FROM orders o JOIN events e ON e.id = o.event_id \
             JOIN organizations g ON g.id = e.org_id ORDER BY o.source, o.external_id",
        )
        .await;
    db.close().await;
    rows
}

#[tokio::test]
async fn a_connections_secret_reaches_its_own_organizations_events_only() {
    let app = TestApp::custom(Clock::system(), |t| {
        format!(
            "{t}\n[[checkout]]\norganization = \"acme-events\"\nsecrets = [\"{ACME}\"]\n\n\
             [[checkout]]\norganization = \"rival-shows\"\nsecrets = [\"{RIVAL}\"]\n\n\
             [[checkout]]\norganization = \"ghost-org\"\nsecrets = [\"{GHOST}\"]\n"
        )
    })
    .await;
    app.world().await;
    let out = app.bin(&["org", "create", "Rival Shows", "--owner", "rival@rival.test"]);
    assert!(out.ok, "{out:?}");
    for line in [
        "newevent summer-fest \"2099-07-01 18:00\" https://tickets.rival.test/summer Rival Summer",
        "newevent rival-gala \"2099-08-01 18:00\" https://tickets.rival.test/gala Rival Gala",
        "newtickettype summer-fest 49 General Admission",
        "newtickettype rival-gala 49 General Admission",
    ] {
        app.ok("rival@rival.test", line).await;
    }
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    let rival_gala = app.store.events_named("rival-gala").await.unwrap()[0].id;

    // Acme's shop cannot reach Rival's events, by name, by full name or by number;
    // nothing is stored and the answer does not tell whether such an event exists.
    let before = app.dump().await;
    for event in [
        "rival-gala".to_string(),
        "rival-shows/rival-gala".to_string(),
        rival_gala.to_string(),
    ] {
        let (status, answer) = post(&base, ACME, &body("X1", &event)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{event}: {answer}");
        assert_eq!(answer["error"], "unknown_event", "{answer}");
    }
    assert_eq!(
        before,
        app.dump().await,
        "a delivery for another organization changed the database"
    );

    // `summer-fest` is ambiguous between the two, but not to a shop: each goes home.
    let (status, answer) = post(&base, ACME, &body("1001", "summer-fest")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = post(&base, RIVAL, &body("1001", "summer-fest")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        stored(&app).await,
        [
            ("acme-events".into(), "1001".into(), "acme-events".into()),
            ("rival-shows".into(), "1001".into(), "rival-shows".into()),
        ],
        "the same order number from two shops is two orders, each in its organization"
    );

    // The operator-wide secret still names an event by its full name (and only so
    // when the short name is shared).
    let (status, answer) = post(&base, NEW_SECRET, &body("OP1", "summer-fest")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"], "ambiguous_event");
    let (status, answer) = post(&base, NEW_SECRET, &body("OP1", "rival-shows/rival-gala")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // A connection whose organization does not exist: 503 (the shop retries), nothing stored.
    let before = app.dump().await;
    let (status, answer) = post(&base, GHOST, &body("G1", "summer-fest")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"], "not_configured");
    assert_eq!(before, app.dump().await);
    // Each connection's own address checks that connection's secrets only (a forged
    // delivery costs one connection's HMACs): Acme's secret works there, Rival's and the
    // operator's do not, and an address without a connection is 404.
    let at = |org: &str| format!("{base}/webhooks/orders/{org}");
    let (status, answer) = post_at(&at("acme-events"), ACME, &body("P1", "summer-fest")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let before = app.dump().await;
    for secret in [RIVAL, NEW_SECRET] {
        let (status, _) = post_at(&at("acme-events"), secret, &body("P2", "summer-fest")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, answer) = post_at(&at("nobody-here"), ACME, &body("P3", "summer-fest")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["error"], "unknown_connection");
    assert_eq!(before, app.dump().await);
    // A forged signature is refused as before.
    let (status, _) = post(&base, "not-a-configured-secret-0123", &body("F1", "summer-fest")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(before, app.dump().await);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_checkout_connections_are_refused_at_start_by_name() {
    let cases = [
        (
            "organization = \"Acme Events\"\nsecrets = [\"acme-shop-secret-0123456789\"]",
            "is not an organization's short name",
        ),
        (
            "organization = \"acme-events\"\nkind = \"paypal\"\nsecrets = [\"acme-shop-secret-0123456789\"]",
            "kind `paypal` is not one of: webhook",
        ),
        (
            "organization = \"acme-events\"\nsecrets = [\"short\"]",
            "at least 16 characters",
        ),
        (
            "organization = \"acme-events\"",
            "no secrets (set `secrets` or `secrets_env`)",
        ),
        (
            &format!("organization = \"acme-events\"\nsecrets = [\"{NEW_SECRET}\"]"),
            "used twice",
        ),
        (
            "organization = \"acme-events\"\nsecrets = [\"acme-shop-secret-0123456789\"]\nsource = \"checkout\"",
            "source `checkout` is taken",
        ),
        (
            "organization = \"acme-events\"\nsecrets = [\"acme-shop-secret-0123456789\"]\ncolour = \"red\"",
            "unknown field `colour`",
        ),
    ];
    for (table, needle) in cases {
        let app = TestApp::new().await;
        std::fs::write(
            &app.config,
            format!(
                "{}\n[[checkout]]\n{table}\n",
                std::fs::read_to_string(&app.config).unwrap()
            ),
        )
        .unwrap();
        let out = app.bin(&["migrate"]);
        assert!(!out.ok, "{table}: accepted");
        assert!(
            out.stderr.contains(needle),
            "{table}: expected `{needle}` in {}",
            out.stderr
        );
    }
}

/// A CSV import under a connection's source is that organization's: it may not put
/// orders (or a refund waiting under that source) in another organization's events.
#[tokio::test]
async fn an_import_under_a_connections_source_stays_in_its_organization() {
    let app = TestApp::custom(Clock::system(), |t| {
        format!("{t}\n[[checkout]]\norganization = \"acme-events\"\nsecrets = [\"{ACME}\"]\n")
    })
    .await;
    app.world().await;
    let out = app.bin(&["org", "create", "Rival Shows", "--owner", "rival@rival.test"]);
    assert!(out.ok, "{out:?}");
    app.ok(
        "rival@rival.test",
        "newevent rival-gala \"2099-08-01 18:00\" https://tickets.rival.test/gala Rival Gala",
    )
    .await;
    let header = "order_id,event,status,ordered_at,ticket_type,quantity,unit_price_minor,currency";
    std::fs::write(
        app.path("rival.csv"),
        format!("{header}\nR1,rival-gala,paid,2099-05-01T10:00:00Z,General Admission,1,4900,EUR\n"),
    )
    .unwrap();
    let before = app.dump().await;
    let out = app.bin(&[
        "import-orders",
        app.path("rival.csv").to_str().unwrap(),
        "--source",
        "acme-events",
    ]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("unknown event `rival-gala`"), "{}", out.stderr);
    assert_eq!(before, app.dump().await);
    // The same file under another source is the operator's, as before.
    let out = app.bin(&[
        "import-orders",
        app.path("rival.csv").to_str().unwrap(),
        "--source",
        "box-office",
    ]);
    assert!(out.ok, "{out:?}");
    std::fs::write(
        app.path("acme.csv"),
        format!("{header}\nA1,summer-fest,paid,2099-05-01T10:00:00Z,General Admission,1,4900,EUR\n"),
    )
    .unwrap();
    let out = app.bin(&[
        "import-orders",
        app.path("acme.csv").to_str().unwrap(),
        "--source",
        "acme-events",
    ]);
    assert!(out.ok, "{out:?}");
    assert_eq!(
        stored(&app).await,
        [
            ("acme-events".into(), "A1".into(), "acme-events".into()),
            ("box-office".into(), "R1".into(), "rival-shows".into()),
        ]
    );
}
