//! Stripe (issue 16): a Payment Link sale attributed by `client_reference_id`, line
//! items read from the stand-in API, refunds by amount matched by payment intent,
//! `Stripe-Signature` with its 300 s tolerance. Samples: Stripe's OpenAPI fixtures
//! (`tests/fixtures/shops/SOURCES.md`).

use super::shops::*;
use reqwest::StatusCode;

const LINK: &str = "plink_1Pgc78B7WZ01zgkWC75kX0jg";
const SESSION: &str = "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY";
const INTENT: &str = "pi_1PgafyB7WZ01zgkWSjxsAJo3";

fn signed(body: &str, t: i64, secret: &str) -> Vec<(&'static str, String)> {
    let v1 = hex_mac(secret, &[format!("{t}.").as_bytes(), body.as_bytes()]);
    vec![("Stripe-Signature", format!("t={t},v1=00ff,v1={v1}"))]
}

async fn stripe() -> ShopTest {
    let t = open("stripe", LINK, "").await;
    t.api
        .get(&line_items_path(), sample_json(&t.sample("stripe/line_items.json")));
    t.api.get(
        &format!("/v1/checkout/sessions?payment_intent={INTENT}&limit=1"),
        sample_json(&t.sample("stripe/checkout_sessions_list.json")),
    );
    t
}

#[tokio::test]
async fn a_payment_link_sale_is_attributed_and_refunds_change_it_once() {
    let t = stripe().await;
    sale_is_stored(&t, "stripe").await;
    let sale = t.sample("stripe/checkout_session_completed.json");
    let calls = t.api.calls();
    assert!(
        calls
            .iter()
            .all(|c| c.auth.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.target.contains("/line_items")),
        "line items come from the API"
    );

    // Stripe delivers again: nothing changes.
    let again = changes_nothing(&t, "stripe", &signed(&sale, now(), SECRET), &sale, StatusCode::OK).await;
    assert_eq!(again["orders"][0]["status"], "duplicate", "{again}");

    // A refund of 25.00 lowers revenue by exactly that; the tickets stay (by amount).
    let refund = t.sample("stripe/charge_refunded.json");
    let (status, answer) = t.post("stripe", &signed(&refund, now(), SECRET), &refund).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana(SESSION, "partially_refunded", 3, 10500, "jenny.rosen@example.com")
    );
    changes_nothing(&t, "stripe", &signed(&refund, now(), SECRET), &refund, StatusCode::OK).await;
    // The export's amounts add up to what was kept: 130.00 - 25.00, the odd cent nowhere.
    let csv = std::fs::read_to_string(super::support::saved_file(
        &t.app.ok(super::support::OWNER, "export summer-fest").await,
    ))
    .unwrap();
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let at = r.headers().unwrap().iter().position(|h| h == "amount").unwrap();
    let cents: i64 = r
        .records()
        .map(|rec| (rec.unwrap()[at].parse::<f64>().unwrap() * 100.0).round() as i64)
        .sum();
    assert_eq!(cents, 10500, "{csv}");

    // The rest refunded: the whole order is refunded.
    let full = t.sample("stripe/charge_refunded_full.json");
    let (status, answer) = t.post("stripe", &signed(&full, now(), SECRET), &full).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana(SESSION, "refunded", 0, 0, "jenny.rosen@example.com")
    );

    // A late copy of the sale (another event id) is older than the refund: the order
    // stays refunded.
    let late = sale.replace("evt_1Pgc76B7WZ01zgkWwyRHS12y", "evt_late_redelivery");
    let (status, answer) = t.post("stripe", &signed(&late, now(), SECRET), &late).await;
    assert_eq!(
        (status, &answer["orders"][0]["status"]),
        (StatusCode::OK, &"unchanged".into()),
        "{answer}"
    );
    assert_eq!(
        t.orders().await,
        t.ana(SESSION, "refunded", 0, 0, "jenny.rosen@example.com")
    );
}

#[tokio::test]
async fn forged_stale_and_unsigned_deliveries_are_refused_with_nothing_stored() {
    let t = stripe().await;
    let sale = t.sample("stripe/checkout_session_completed.json");
    let forged = changes_nothing(
        &t,
        "stripe",
        &signed(&sale, now(), "whsec_not-the-secret-0123"),
        &sale,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(forged["error"], "signature", "{forged}");
    let stale = changes_nothing(
        &t,
        "stripe",
        &signed(&sale, now() - 301, SECRET),
        &sale,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(
        stale["message"]
            .as_str()
            .unwrap()
            .contains("in the past (at most 300 s allowed)"),
        "{stale}"
    );
    let unsigned = changes_nothing(&t, "stripe", &[], &sale, StatusCode::UNAUTHORIZED).await;
    assert!(
        unsigned["message"].as_str().unwrap().contains("Stripe-Signature"),
        "{unsigned}"
    );
    // The body changed after signing.
    let headers = signed(&sale, now(), SECRET);
    let tampered = sale.replace(&t.ana, "someone-else");
    changes_nothing(&t, "stripe", &headers, &tampered, StatusCode::UNAUTHORIZED).await;
    assert!(
        t.api.calls().is_empty(),
        "nothing unauthenticated reaches the shop's API"
    );
    assert!(t.orders().await.is_empty());
}

#[tokio::test]
async fn another_payment_link_and_other_event_types_are_acknowledged_and_ignored() {
    let t = stripe().await;
    let other = t
        .sample("stripe/checkout_session_completed.json")
        .replace(LINK, "plink_OtherEventOfTheShop");
    let answer = changes_nothing(&t, "stripe", &signed(&other, now(), SECRET), &other, StatusCode::OK).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("editevent"), "{answer}");
    let unrelated =
        r#"{"id":"evt_1","object":"event","type":"customer.created","created":1805015742,"data":{"object":{}}}"#;
    let answer = changes_nothing(
        &t,
        "stripe",
        &signed(unrelated, now(), SECRET),
        unrelated,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    // A body that is no Stripe event at all: 400, which Stripe shows in its dashboard.
    let junk = r#"{"hello":"world"}"#;
    changes_nothing(
        &t,
        "stripe",
        &signed(junk, now(), SECRET),
        junk,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn the_link_hands_stripe_a_valid_client_reference_id() {
    let t = stripe().await;
    let res = super::http::client()
        .get(format!(
            "http://{}/t/{}?utm_source=ig&ref=evil&client_reference_id=evil",
            t.http.addr, t.ana
        ))
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let url = url::Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    assert_eq!(
        pairs,
        [
            ("lang".to_string(), "en".to_string()),
            ("utm_source".into(), "ig".into()),
            ("client_reference_id".into(), t.ana.clone())
        ],
        "{location}"
    );
    // Stripe takes letters, digits, `-` and `_`, at most 200 characters.
    assert!(
        t.ana.len() <= 200
            && t.ana
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[tokio::test]
async fn a_connection_can_be_addressed_by_its_organization() {
    let t = stripe().await;
    // Another organization's address: no connection there, nothing tried or stored.
    sale_changes_nothing(&t, "stripe/rival-shows", StatusCode::NOT_FOUND).await;
    sale_is_stored(&t, "stripe/acme-events").await;
}

/// Posts the sample sale, signed, to `path`: it must be stored as Ana's paid order of
/// 2 × Early bird 25.00 + VIP 80.00 (counted for her by `client_reference_id`).
async fn sale_is_stored(t: &ShopTest, path: &str) {
    let sale = t.sample("stripe/checkout_session_completed.json");
    let (status, answer) = t.post(path, &signed(&sale, now(), SECRET), &sale).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana(SESSION, "paid", 3, 13000, "jenny.rosen@example.com")
    );
}

/// Posts the sample sale, signed, to `path`: it must answer `status` and change nothing.
async fn sale_changes_nothing(t: &ShopTest, path: &str, status: StatusCode) -> serde_json::Value {
    let sale = t.sample("stripe/checkout_session_completed.json");
    changes_nothing(t, path, &signed(&sale, now(), SECRET), &sale, status).await
}

/// The line-items path of the sample session.
fn line_items_path() -> String {
    format!("/v1/checkout/sessions/{SESSION}/line_items?limit=100")
}

fn line_item_calls(t: &ShopTest) -> Vec<super::fake_shop::Call> {
    t.api
        .calls()
        .into_iter()
        .filter(|c| c.target == line_items_path())
        .collect()
}

#[tokio::test]
async fn a_rate_limited_line_items_call_is_tried_again_within_the_delivery() {
    // Stripe allows 25 calls a second to one endpoint: a rush meets 429s without
    // `Retry-After`; promoterd waits a doubling, jittered time and asks again.
    let t = stripe().await;
    t.api.rate_limit("GET", &line_items_path(), 2, None);
    sale_is_stored(&t, "stripe").await;
    let calls = line_item_calls(&t);
    assert_eq!(calls.len(), 3, "two refusals, then the answer: {calls:?}");
    // The waits are at least half the first backoff (250 ms), then half its double.
    assert!(calls[1].at - calls[0].at >= std::time::Duration::from_millis(125));
    assert!(calls[2].at - calls[1].at >= std::time::Duration::from_millis(250));

    // A shop that names its wait (`Retry-After`, as Shopify and pretix do) is obeyed.
    let t = stripe().await;
    t.api.rate_limit("GET", &line_items_path(), 1, Some("1"));
    sale_is_stored(&t, "stripe").await;
    let calls = line_item_calls(&t);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].at - calls[0].at >= std::time::Duration::from_secs(1));
}

#[tokio::test]
async fn a_shop_that_keeps_rate_limiting_gets_a_503_to_deliver_again_later() {
    let t = stripe().await;
    // Refused every time: four tries within the delivery, then 503 (Stripe and the
    // other shops deliver again later), nothing stored.
    t.api.rate_limit("GET", &line_items_path(), usize::MAX, None);
    let answer = sale_changes_nothing(&t, "stripe", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(answer["error"], "shop_unavailable", "{answer}");
    assert_eq!(line_item_calls(&t).len(), 4);

    // A wait longer than a shop waits for its delivery's answer is not waited out.
    let t = stripe().await;
    t.api.rate_limit("GET", &line_items_path(), 1, Some("30"));
    sale_changes_nothing(&t, "stripe", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(line_item_calls(&t).len(), 1);
    // The shop's next delivery, once the limit is over, stores the sale.
    sale_is_stored(&t, "stripe").await;
}
