//! pretix and Eventbrite (issue 16): unsigned notifications behind a secret address,
//! completed from the shop's API (a local stand-in speaking the documented JSON).
//! Samples and their sources: `tests/fixtures/shops/SOURCES-2.md`.

use super::shops::*;
use super::support::ANA;
use super::support::OWNER;
use reqwest::StatusCode;

const PRETIX: &str = "/api/v1/organizers/democon/events/summer27/";

async fn pretix() -> ShopTest {
    let mut t = open("pretix", "democon/summer27", "/api/v1").await;
    // The voucher keeper is one of the jobs only one daemon runs.
    t.jobs = Some(t.app.run_jobs().await);
    t.api.get(PRETIX, sample_json(&fixture("pretix/event.json")));
    t.api.get(
        &format!("{PRETIX}items/1/"),
        sample_json(&fixture("pretix/item_1.json")),
    );
    t.api.get(
        &format!("{PRETIX}items/2/"),
        sample_json(&fixture("pretix/item_2.json")),
    );
    t.api.get(
        &format!("{PRETIX}vouchers/15/"),
        sample_json(&t.sample("pretix/voucher.json")),
    );
    t
}

fn pretix_order(t: &ShopTest, sample: &str) {
    t.api.get(
        &format!("{PRETIX}orders/ABC12/?include_canceled_positions=true&include_canceled_fees=true"),
        sample_json(&t.sample(sample)),
    );
}

#[tokio::test]
async fn pretix_orders_are_fetched_and_attributed_by_voucher() {
    let t = pretix().await;
    let at = format!("pretix/{SECRET}");
    pretix_order(&t, "pretix/order.json");
    let placed = fixture("pretix/webhook_placed.json");
    let (status, answer) = t.post(&at, &[], &placed).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Early bird 25.00 + VIP 80.00, both positions on Ana's voucher (tag = her link code).
    assert_eq!(
        t.orders().await,
        t.ana("ABC12", "paid", 2, 10500, "maria.rossi@example.org")
    );
    assert!(
        t.api
            .calls()
            .iter()
            .all(|c| c.auth.as_deref() == Some(&format!("Token {TOKEN}")))
    );
    // pretix repeats notifications: the same notification id changes nothing.
    changes_nothing(&t, &at, &[], &placed, StatusCode::OK).await;

    // The Early bird position cancelled with its 25.00 refunded: a refunded ticket.
    pretix_order(&t, "pretix/order_partial_refund_include_canceled.json");
    let refund = fixture("pretix/webhook_refund_done.json");
    let (status, answer) = t.post(&at, &[], &refund).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana("ABC12", "partially_refunded", 1, 8000, "maria.rossi@example.org")
    );
    changes_nothing(&t, &at, &[], &refund, StatusCode::OK).await;
}

#[tokio::test]
async fn a_pretix_cancellation_counts_nothing() {
    let t = pretix().await;
    let at = format!("pretix/{SECRET}");
    pretix_order(&t, "pretix/order.json");
    let (status, answer) = t.post(&at, &[], &fixture("pretix/webhook_placed.json")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    pretix_order(&t, "pretix/order_canceled.json");
    let canceled = fixture("pretix/webhook_canceled.json");
    let (status, answer) = t.post(&at, &[], &canceled).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana("ABC12", "cancelled", 0, 0, "maria.rossi@example.org")
    );
}

#[tokio::test]
async fn pretix_refuses_a_wrong_address_and_leaves_other_events_alone() {
    let t = pretix().await;
    pretix_order(&t, "pretix/order.json");
    let placed = fixture("pretix/webhook_placed.json");
    let wrong = changes_nothing(
        &t,
        "pretix/not-the-secret-0123456789",
        &[],
        &placed,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong["error"], "signature", "{wrong}");
    changes_nothing(&t, "pretix", &[], &placed, StatusCode::NOT_FOUND).await;
    // Another pretix event of the organizer: acknowledged, its order never fetched.
    let other = placed.replace("summer27", "winter27");
    let answer = changes_nothing(&t, &format!("pretix/{SECRET}"), &[], &other, StatusCode::OK).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert!(
        !t.api.calls().iter().any(|c| c.target.contains("/orders/")),
        "{:?}",
        t.api.calls()
    );
}

async fn eventbrite() -> ShopTest {
    let t = open("eventbrite", "987654321", "/v3").await;
    t.api.get(
        "/v3/orders/1234567890/?expand=attendees",
        sample_json(&t.sample("eventbrite/order.json")),
    );
    t
}

fn notification(t: &ShopTest, name: &str) -> String {
    fixture(name).replace("https://www.eventbriteapi.com", &t.api.url)
}

#[tokio::test]
async fn eventbrite_orders_are_fetched_and_attributed_by_affiliate() {
    let t = eventbrite().await;
    let at = format!("eventbrite/{SECRET}");
    let placed = notification(&t, "eventbrite/webhook_order_placed.json");
    let (status, answer) = t.post(&at, &[], &placed).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana("1234567890", "paid", 2, 10500, "maria.rossi@example.org")
    );
    assert!(
        t.api
            .calls()
            .iter()
            .all(|c| c.auth.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    changes_nothing(&t, &at, &[], &placed, StatusCode::OK).await;

    t.api.get(
        "/v3/orders/1234567890/?expand=attendees",
        sample_json(&t.sample("eventbrite/order_refunded.json")),
    );
    let refunded = notification(&t, "eventbrite/webhook_order_refunded.json");
    let (status, answer) = t.post(&at, &[], &refunded).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana("1234567890", "refunded", 0, 0, "maria.rossi@example.org")
    );
    changes_nothing(&t, &at, &[], &refunded, StatusCode::OK).await;
}

#[tokio::test]
async fn an_eventbrite_attendee_refunded_alone_is_counted_from_its_order() {
    let t = eventbrite().await;
    let at = format!("eventbrite/{SECRET}");
    let placed = notification(&t, "eventbrite/webhook_order_placed.json");
    let (status, answer) = t.post(&at, &[], &placed).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // The Early bird attendee refunded: Eventbrite says `attendee.updated` with the
    // attendee's address (the sample order's own attendee, as its API gives it).
    let order = sample_json(&t.sample("eventbrite/order.json"));
    let attendee = order["attendees"][0].clone();
    t.api.get("/v3/events/987654321/attendees/2222222201/", attendee);
    let mut refunded = order;
    refunded["attendees"][0]["refunded"] = true.into();
    refunded["changed"] = "2027-05-12T09:00:00Z".into();
    t.api.get("/v3/orders/1234567890/?expand=attendees", refunded);
    let updated = notification(&t, "eventbrite/webhook_order_refunded.json")
        .replace("/v3/orders/1234567890/", "/v3/events/987654321/attendees/2222222201/")
        .replace("order.refunded", "attendee.updated");
    let (status, answer) = t.post(&at, &[], &updated).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await,
        t.ana("1234567890", "partially_refunded", 1, 8000, "maria.rossi@example.org")
    );
    changes_nothing(&t, &at, &[], &updated, StatusCode::OK).await;
}

#[tokio::test]
async fn eventbrite_never_sends_the_token_outside_its_api() {
    let t = eventbrite().await;
    let at = format!("eventbrite/{SECRET}");
    // Unsigned: anyone knowing the address could name any URL. Only the API's is fetched.
    let elsewhere =
        fixture("eventbrite/webhook_order_placed.json").replace("https://www.eventbriteapi.com", "http://127.0.0.1:9");
    let answer = changes_nothing(&t, &at, &[], &elsewhere, StatusCode::BAD_REQUEST).await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("not on the connection's API"),
        "{answer}"
    );
    let sideways = notification(&t, "eventbrite/webhook_order_placed.json").replace("/v3/orders/", "/admin/orders/");
    changes_nothing(&t, &at, &[], &sideways, StatusCode::BAD_REQUEST).await;
    assert!(t.api.calls().is_empty(), "{:?}", t.api.calls());
    let placed = notification(&t, "eventbrite/webhook_order_placed.json");
    changes_nothing(
        &t,
        "eventbrite/not-the-secret-0123456789",
        &[],
        &placed,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_pretix_link_is_a_working_voucher_until_it_is_revoked() {
    let t = pretix().await;
    let vouchers = format!("{PRETIX}vouchers/");
    let created = sample_json(&t.sample("pretix/voucher_create_response.json"));
    t.api.answer("POST", &vouchers, 201, created);
    t.api.answer(
        "PATCH",
        &format!("{vouchers}15/"),
        200,
        sample_json(&t.sample("pretix/voucher_disable_response.json")),
    );
    t.app
        .ok(OWNER, "editevent summer-fest url https://pretix.eu/democon/summer27/")
        .await;
    // The link's voucher is created through pretix's API, its code the link's code.
    let call = super::support::wait_until("the voucher is created", std::time::Duration::from_secs(10), || async {
        t.api
            .calls()
            .into_iter()
            .find(|c| c.method == "POST" && c.target == vouchers && c.body["code"] == t.ana.as_str())
    })
    .await;
    assert_eq!(call.body["code"], t.ana.as_str(), "{:?}", call.body);
    assert_eq!(call.body["tag"], t.ana.as_str());
    assert_eq!(
        call.body["price_mode"], "none",
        "a voucher for attribution, no discount"
    );
    assert_eq!(call.auth.as_deref(), Some(&*format!("Token {TOKEN}")));
    // Once the voucher exists, the redirect opens pretix's voucher page with it.
    let want = format!("https://pretix.eu/democon/summer27/redeem?voucher={}", t.ana);
    super::support::wait_until(
        "the link opens the voucher page",
        std::time::Duration::from_secs(10),
        || async {
            let res = super::http::client()
                .get(format!("http://{}/t/{}", t.http.addr, t.ana))
                .send()
                .await
                .unwrap();
            res.headers()["location"] == want.as_str()
        },
    )
    .await;
    // Revoking Ana ends the voucher's validity; orders already made keep it.
    t.app.ok(OWNER, &format!("revoke {ANA}")).await;
    let patch = super::support::wait_until(
        "the voucher is disabled",
        std::time::Duration::from_secs(10),
        || async { t.api.calls().into_iter().find(|c| c.method == "PATCH") },
    )
    .await;
    assert_eq!(patch.target, format!("{vouchers}15/"));
    assert!(
        patch.body["valid_until"].as_str().is_some_and(|v| v.ends_with('Z')),
        "{:?}",
        patch.body
    );
    let posts = t
        .api
        .calls()
        .iter()
        .filter(|c| c.method == "POST" && c.body["code"] == t.ana.as_str())
        .count();
    assert_eq!(posts, 1, "one voucher per link");
}

#[tokio::test]
async fn eventbrite_links_send_aff_and_other_events_are_left_alone() {
    let t = eventbrite().await;
    let res = super::http::client()
        .get(format!("http://{}/t/{}?ref=evil", t.http.addr, t.ana))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        format!("https://tickets.acme.test/summer?lang=en&aff={}", t.ana).as_str()
    );
    let other = t.sample("eventbrite/order.json").replace("987654321", "111111111");
    t.api
        .get("/v3/orders/1234567890/?expand=attendees", sample_json(&other));
    let placed = notification(&t, "eventbrite/webhook_order_placed.json");
    let answer = changes_nothing(&t, &format!("eventbrite/{SECRET}"), &[], &placed, StatusCode::OK).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
}

#[tokio::test]
async fn a_voucher_pretix_refuses_holds_up_no_other_and_another_makers_voucher_is_never_taken() {
    let t = pretix().await;
    let ben = super::support::link_code(&t.app.ok(super::support::BEN, "mylink summer-fest").await);
    let vouchers = format!("{PRETIX}vouchers/");
    // pretix refuses both codes as taken: Ana's by a voucher the organizer made (another
    // tag), Ben's by the one an earlier pass made and whose answer was lost.
    t.api.answer(
        "POST",
        &vouchers,
        400,
        serde_json::json!({"code": ["A voucher with this code already exists."]}),
    );
    let theirs = serde_json::json!({"count": 1, "next": null, "previous": null,
        "results": [{"id": 77, "code": t.ana, "tag": "organizers-own"}]});
    t.api.get(&format!("{vouchers}?code={}", t.ana), theirs);
    let ours = serde_json::json!({"count": 1, "next": null, "previous": null,
        "results": [{"id": 78, "code": ben, "tag": ben}]});
    t.api.get(&format!("{vouchers}?code={ben}"), ours);
    // The keeper's pass for Ben's new link may have run before these answers were set
    // (and been told 404): a link change after them gives it its next pass.
    t.app.ok(super::support::BEN, "newlink instagram summer-fest").await;
    // The server's voucher keeper takes it from here: Ben's voucher is found again,
    // Ana's refusal holds up nothing, and the organizer's voucher is not taken.
    let rows = super::support::wait_until(
        "Ben's voucher is adopted",
        std::time::Duration::from_secs(10),
        || async {
            let dump = t.app.dump().await;
            let rows = super::support::TestApp::dump_section(&dump, "shop_vouchers");
            rows.contains("|78|'live'|").then_some(rows)
        },
    )
    .await;
    assert!(!rows.contains("|77|"), "{rows}");
    assert!(
        t.api
            .calls()
            .iter()
            .any(|c| c.target == format!("{vouchers}?code={}", t.ana))
    );
    // Ana's link keeps opening the event page, without a voucher that is not hers.
    let res = super::http::client()
        .get(format!("http://{}/t/{}", t.http.addr, t.ana))
        .send()
        .await
        .unwrap();
    assert!(!res.headers()["location"].to_str().unwrap().contains("voucher="));
}

#[tokio::test]
async fn a_pretix_test_mode_order_is_not_a_sale() {
    // pretix sends webhooks for orders placed while the event is in test mode; those
    // are the organizer trying the shop (pretix deletes them when the event goes live).
    let t = pretix().await;
    let at = format!("pretix/{SECRET}");
    let test_order = t
        .sample("pretix/order.json")
        .replace("\"testmode\": false", "\"testmode\": true");
    assert!(test_order.contains("\"testmode\": true"));
    t.api.get(
        &format!("{PRETIX}orders/ABC12/?include_canceled_positions=true&include_canceled_fees=true"),
        sample_json(&test_order),
    );
    let answer = changes_nothing(&t, &at, &[], &fixture("pretix/webhook_placed.json"), StatusCode::OK).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert!(t.orders().await.is_empty());
}

#[tokio::test]
async fn a_refunded_pretix_add_on_or_fee_leaves_the_tickets_revenue_alone() {
    // Add-ons (positions with `addon_to`) and fees are not counted as ticket revenue, so
    // their cancellation and refund must not lower it either.
    let t = pretix().await;
    let at = format!("pretix/{SECRET}");
    let mut order = sample_json(&t.sample("pretix/order.json"));
    let mut addon = order["positions"][0].clone();
    addon["id"] = 23444.into();
    addon["positionid"] = 3.into();
    addon["item"] = 2.into();
    addon["price"] = "10.00".into();
    addon["addon_to"] = order["positions"][0]["id"].clone();
    addon["canceled"] = true.into();
    order["positions"].as_array_mut().unwrap().push(addon);
    order["fees"] = serde_json::json!([{"fee_type": "service", "value": "1.50", "canceled": true}]);
    let mut refund = sample_json(&fixture("pretix/order_partial_refund_include_canceled.json"))["refunds"][0].clone();
    refund["amount"] = "11.50".into();
    order["refunds"] = serde_json::json!([refund]);
    t.api.get(
        &format!("{PRETIX}orders/ABC12/?include_canceled_positions=true&include_canceled_fees=true"),
        order,
    );
    let (status, answer) = t.post(&at, &[], &fixture("pretix/webhook_refund_done.json")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Early bird 25.00 + VIP 80.00, as if nothing had been refunded.
    assert_eq!(
        t.orders().await,
        t.ana("ABC12", "paid", 2, 10500, "maria.rossi@example.org")
    );
}

#[tokio::test]
async fn a_pretix_notification_of_no_event_is_acknowledged() {
    // The organizer's own notifications (customer accounts) name no event; refused, pretix
    // would deliver them again for days.
    let t = pretix().await;
    let customer = r#"{"notification_id": 123456, "organizer": "democon", "action": "pretix.customer.created"}"#;
    let answer = changes_nothing(&t, &format!("pretix/{SECRET}"), &[], customer, StatusCode::OK).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
}
