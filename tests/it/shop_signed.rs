//! Shopify, WooCommerce, Ticket Tailor and Hi.Events (issue 16): the shops that send
//! the whole order, signed. For each: a sale through Ana's link is attributed, a
//! refund and a cancellation change the numbers once, a repeat changes nothing, a
//! forged or unsigned delivery is refused, another product is acknowledged and left
//! alone. Samples and their sources: `tests/fixtures/shops/SOURCES*.md`.

use super::shops::*;
use reqwest::StatusCode;

/// Posts a delivery that must be stored, then the same again, which changes nothing.
async fn twice(t: &ShopTest, path: &str, headers: &[(&'static str, String)], body: &str) {
    let (status, answer) = t.post(path, headers, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "stored", "{answer}");
    changes_nothing(t, path, headers, body, StatusCode::OK).await;
}

fn shopify_headers(body: &str, topic: &str, id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Shopify-Hmac-Sha256", base64_mac(SECRET, &[body.as_bytes()])),
        ("X-Shopify-Topic", topic.into()),
        ("X-Shopify-Webhook-Id", id.into()),
    ]
}

/// The Shopify samples' order.
const ORDER: &str = "820982911946154508";

/// Posts `order` as `orders/updated` (delivery `id`): it is taken, and the shop's stored
/// orders are then `want`.
async fn updated_to(t: &ShopTest, order: &serde_json::Value, id: &str, want: Vec<Stored>) {
    let body = order.to_string();
    let (status, answer) = t
        .post("shopify", &shopify_headers(&body, "orders/updated", id), &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(t.orders().await, want);
}

#[tokio::test]
async fn a_shopify_order_edit_counts_from_orders_updated_and_removed_tickets_are_gone() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    let sale = t.sample("shopify/orders_create.json");
    twice(&t, "shopify", &shopify_headers(&sale, "orders/create", "w-1"), &sale).await;
    assert_eq!(t.orders().await, t.ana(ORDER, "paid", 3, 13000, "jon@example.com"));
    // `orders/edited` carries the edit, not the order (the shape of Shopify's sample
    // in its webhook topic reference, `order_edit` with additions and removals): it is
    // acknowledged, and the order's state comes with `orders/updated`.
    let edit = format!(
        r#"{{"order_edit":{{"id":78912328,"app_id":null,"created_at":"2027-03-15T09:00:00-04:00","notify_customer":false,"order_id":{ORDER},"staff_note":"","user_id":null,"line_items":{{"additions":[],"removals":[{{"id":487817672276298554,"delta":1}}]}},"discounts":{{"line_item":{{"additions":[],"removals":[]}}}},"shipping_lines":{{"additions":[],"removals":[]}}}}}}"#
    );
    let answer = changes_nothing(
        &t,
        "shopify",
        &shopify_headers(&edit, "orders/edited", "w-2"),
        &edit,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    // One Early bird removed by the edit: `quantity` stays 2, `current_quantity` is 1.
    let mut updated = sample_json(&sale);
    updated["updated_at"] = "2027-03-15T14:00:00+01:00".into();
    updated["line_items"][0]["current_quantity"] = 1.into();
    // Counted as a refunded ticket: the order is no longer whole.
    let kept = t.ana(ORDER, "partially_refunded", 2, 10500, "jon@example.com");
    updated_to(&t, &updated, "w-3", kept.clone()).await;
    // The merchant refunds the removed ticket's 25.00 with a refund that has a
    // transaction and no refund line: that money is the removed ticket's, not more.
    let mut refunded = updated;
    let mut refund = sample_json(&t.sample("shopify/orders_updated_refund.json"))["refunds"][0].clone();
    refund["refund_line_items"] = serde_json::json!([]);
    refunded["refunds"] = serde_json::json!([refund]);
    refunded["updated_at"] = "2027-03-15T15:00:00+01:00".into();
    updated_to(&t, &refunded, "w-4", kept).await;
}

#[tokio::test]
async fn a_shopify_shipping_refund_is_not_taken_off_the_tickets() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    // The sample's refund of one Early bird (25.00), with 10.00 of shipping refunded in
    // the same transaction; from API version 2024-10 on, the shipping is a
    // `refund_shipping_lines` entry (the shape of Shopify's Refund reference, 2024-10).
    let mut updated = sample_json(&t.sample("shopify/orders_updated_refund.json"));
    updated["refunds"][0]["transactions"][0]["amount"] = "35.00".into();
    updated["refunds"][0]["refund_shipping_lines"] = serde_json::json!([{
        "id": 712736824,
        "shipping_line": {},
        "shipping_line_id": 8845532987448_i64,
        "subtotal_amount_set": {
            "shop_money": {"amount": 10, "currency_code": "EUR"},
            "presentment_money": {"amount": 10, "currency_code": "EUR"}
        }
    }]);
    // Early bird ×1 + VIP left: 105.00, as with no shipping refunded.
    let want = t.ana(ORDER, "partially_refunded", 2, 10500, "jon@example.com");
    updated_to(&t, &updated, "w-1", want).await;
}

#[tokio::test]
async fn a_shopify_refund_in_a_shop_whose_prices_include_tax_counts_the_tax_once() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    // Prices include tax (4.00 of the Early bird's 25.00): the refunded ticket is worth
    // its subtotal, 25.00, and the 10.00 refunded on top of it lowers revenue by 10.00.
    let mut updated = sample_json(&t.sample("shopify/orders_updated_refund.json"));
    updated["taxes_included"] = true.into();
    updated["refunds"][0]["refund_line_items"][0]["total_tax"] = 4.0.into();
    updated["refunds"][0]["transactions"][0]["amount"] = "35.00".into();
    let want = t.ana(ORDER, "partially_refunded", 2, 9500, "jon@example.com");
    updated_to(&t, &updated, "w-1", want).await;
}

#[tokio::test]
async fn shopify_orders_refunds_and_cancellations() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    let sale = t.sample("shopify/orders_create.json");
    twice(&t, "shopify", &shopify_headers(&sale, "orders/create", "w-1"), &sale).await;
    // The id passes 2^53 and is kept exactly; Early bird ×2 + VIP, for Ana by landing_site_ref.
    assert_eq!(t.orders().await, t.ana(ORDER, "paid", 3, 13000, "jon@example.com"));

    // refunds/create is completed from the Admin API with the connection's token.
    t.api.get(
        &format!("/admin/api/2025-01/orders/{ORDER}.json"),
        serde_json::json!({ "order": sample_json(&t.sample("shopify/orders_updated_refund.json")) }),
    );
    let refund = t.sample("shopify/refunds_create.json");
    twice(
        &t,
        "shopify",
        &shopify_headers(&refund, "refunds/create", "w-2"),
        &refund,
    )
    .await;
    assert_eq!(
        t.orders().await,
        t.ana(ORDER, "partially_refunded", 2, 10500, "jon@example.com")
    );
    let calls = t.api.calls();
    assert!(
        !calls.is_empty() && calls.iter().all(|c| c.auth.as_deref() == Some(TOKEN)),
        "{calls:?}"
    );
    // The same refund inside orders/updated (another delivery) counts once.
    let updated = t.sample("shopify/orders_updated_refund.json");
    let (status, answer) = t
        .post("shopify", &shopify_headers(&updated, "orders/updated", "w-3"), &updated)
        .await;
    assert_eq!(
        (status, &answer["orders"][0]["status"]),
        (StatusCode::OK, &"unchanged".into()),
        "{answer}"
    );
    assert_eq!(
        t.orders().await,
        t.ana(ORDER, "partially_refunded", 2, 10500, "jon@example.com")
    );

    let cancelled = t.sample("shopify/orders_cancelled.json");
    twice(
        &t,
        "shopify",
        &shopify_headers(&cancelled, "orders/cancelled", "w-4"),
        &cancelled,
    )
    .await;
    assert_eq!(t.orders().await, t.ana(ORDER, "cancelled", 0, 0, "jon@example.com"));

    // Forged, unsigned, or another shop's product.
    let before = t.app.dump().await;
    let mut forged = shopify_headers(&sale, "orders/create", "w-5");
    forged[0].1 = base64_mac("not-the-shop-secret-0123", &[sale.as_bytes()]);
    let (status, _) = t.post("shopify", &forged, &sale).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t.post("shopify", &forged[1..], &sale).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = sale
        .replace("788032119674292922", "788032119674290000")
        .replace(ORDER, "820982911946150000");
    let (status, answer) = t
        .post("shopify", &shopify_headers(&other, "orders/create", "w-6"), &other)
        .await;
    assert_eq!(
        (status, &answer["status"]),
        (StatusCode::OK, &"ignored".into()),
        "{answer}"
    );
    assert_eq!(t.app.dump().await, before);
}

fn woo_headers(body: &str, topic: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-WC-Webhook-Signature", base64_mac(SECRET, &[body.as_bytes()])),
        ("X-WC-Webhook-Topic", topic.into()),
    ]
}

#[tokio::test]
async fn woocommerce_orders_refunds_by_amount_and_the_ping() {
    // Two products, one per ticket type, both Summer Fest.
    let t = open("woocommerce", "93 94", "").await;
    // Saving the webhook in WooCommerce sends an unsigned form ping that must get 200.
    let (status, answer) = t.post("woocommerce", &[], "webhook_id=17").await;
    assert_eq!(
        (status, &answer["status"]),
        (StatusCode::OK, &"ping".into()),
        "{answer}"
    );

    let sale = t.sample("woocommerce/order_created.json");
    twice(&t, "woocommerce", &woo_headers(&sale, "order.created"), &sale).await;
    // The ref survives in the order attribution's entry URL.
    assert_eq!(t.orders().await, t.ana("727", "paid", 3, 13000, "john.doe@example.com"));

    // WooCommerce refunds by amount: 25.00 back, the tickets stay.
    let refund = t.sample("woocommerce/order_updated_refund.json");
    twice(&t, "woocommerce", &woo_headers(&refund, "order.updated"), &refund).await;
    assert_eq!(
        t.orders().await,
        t.ana("727", "partially_refunded", 3, 10500, "john.doe@example.com")
    );
    let full = t.sample("woocommerce/order_updated_refunded.json");
    twice(&t, "woocommerce", &woo_headers(&full, "order.updated"), &full).await;
    assert_eq!(t.orders().await, t.ana("727", "refunded", 0, 0, "john.doe@example.com"));

    let mut forged = woo_headers(&sale, "order.created");
    forged[0].1 = base64_mac("not-the-shop-secret-0123", &[sale.as_bytes()]);
    changes_nothing(&t, "woocommerce", &forged, &sale, StatusCode::UNAUTHORIZED).await;
    changes_nothing(&t, "woocommerce", &forged[1..], &sale, StatusCode::UNAUTHORIZED).await;
}

fn tt_headers(body: &str, t: i64, secret: &str) -> Vec<(&'static str, String)> {
    let sig = hex_mac(secret, &[t.to_string().as_bytes(), body.as_bytes()]);
    vec![("Tickettailor-Webhook-Signature", format!("t={t},v1={sig}"))]
}

#[tokio::test]
async fn ticket_tailor_orders_and_cancellations() {
    let t = open("tickettailor", "ev_5120034", "").await;
    let sale = t.sample("tickettailor/order_created.json");
    twice(&t, "tickettailor", &tt_headers(&sale, now(), SECRET), &sale).await;
    assert_eq!(
        t.orders().await,
        t.ana("or_52718304", "paid", 2, 10500, "maria.rossi@example.org")
    );
    let cancelled = t.sample("tickettailor/order_updated_cancelled.json");
    twice(&t, "tickettailor", &tt_headers(&cancelled, now(), SECRET), &cancelled).await;
    assert_eq!(
        t.orders().await,
        t.ana("or_52718304", "cancelled", 0, 0, "maria.rossi@example.org")
    );

    changes_nothing(
        &t,
        "tickettailor",
        &tt_headers(&sale, now() - 301, SECRET),
        &sale,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    changes_nothing(
        &t,
        "tickettailor",
        &tt_headers(&sale, now(), "not-the-shop-secret-0123"),
        &sale,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    changes_nothing(&t, "tickettailor", &[], &sale, StatusCode::UNAUTHORIZED).await;
    let other = sale
        .replace("ev_5120034", "ev_9999999")
        .replace("or_52718304", "or_52718399");
    let answer = changes_nothing(
        &t,
        "tickettailor",
        &tt_headers(&other, now(), SECRET),
        &other,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["status"], "ignored", "{answer}");
}

fn hi_headers(body: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![("Signature", hex_mac(secret, &[body.as_bytes()]))]
}

#[tokio::test]
async fn hi_events_attributes_by_promo_code_and_counts_refunds_and_cancellations() {
    let t = open("hievents", "42", "").await;
    // Hi.Events' payload carries no affiliate: the promo code equal to Ana's link code counts.
    let with_code = |name: &str| t.sample(name).replace("ANASUMMER", &t.ana.to_uppercase());
    let sale = with_code("hievents/order_created.json");
    twice(&t, "hievents", &hi_headers(&sale, SECRET), &sale).await;
    assert_eq!(
        t.orders().await,
        t.ana("1001", "paid", 2, 10500, "maria.rossi@example.org")
    );
    let refunded = with_code("hievents/order_refunded.json");
    twice(&t, "hievents", &hi_headers(&refunded, SECRET), &refunded).await;
    assert_eq!(
        t.orders().await,
        t.ana("1001", "refunded", 0, 0, "maria.rossi@example.org")
    );

    changes_nothing(
        &t,
        "hievents",
        &hi_headers(&sale, "not-the-shop-secret-0123"),
        &sale,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    changes_nothing(&t, "hievents", &[], &sale, StatusCode::UNAUTHORIZED).await;
    let garbage = "{\"event_type\":\"order.created\",\"payload\":{\"id\":1}}";
    changes_nothing(
        &t,
        "hievents",
        &hi_headers(garbage, SECRET),
        garbage,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn hi_events_cancellation_counts_nothing() {
    let t = open("hievents", "42", "").await;
    let with_code = |name: &str| t.sample(name).replace("ANASUMMER", &t.ana.to_uppercase());
    let sale = with_code("hievents/order_created.json");
    twice(&t, "hievents", &hi_headers(&sale, SECRET), &sale).await;
    let cancelled = with_code("hievents/order_cancelled.json");
    twice(&t, "hievents", &hi_headers(&cancelled, SECRET), &cancelled).await;
    assert_eq!(
        t.orders().await,
        t.ana("1001", "cancelled", 0, 0, "maria.rossi@example.org")
    );
}

#[tokio::test]
async fn woocommerce_cancellations_and_other_products() {
    let t = open("woocommerce", "93 94", "").await;
    let sale = t.sample("woocommerce/order_created.json");
    twice(&t, "woocommerce", &woo_headers(&sale, "order.created"), &sale).await;
    // The same order, cancelled in the shop an hour later.
    let cancelled = sale
        .replace("\"status\": \"processing\"", "\"status\": \"cancelled\"")
        .replace(
            "\"date_modified_gmt\": \"2027-03-14T09:15:44\"",
            "\"date_modified_gmt\": \"2027-03-14T10:15:44\"",
        );
    twice(&t, "woocommerce", &woo_headers(&cancelled, "order.updated"), &cancelled).await;
    assert_eq!(
        t.orders().await,
        t.ana("727", "cancelled", 0, 0, "john.doe@example.com")
    );
    // Products of another event (or merchandise): acknowledged, nothing stored, so
    // WooCommerce does not disable the webhook.
    let other = sale
        .replace("\"product_id\": 93", "\"product_id\": 501")
        .replace("\"product_id\": 94", "\"product_id\": 502")
        .replace("\"id\": 727", "\"id\": 900");
    let answer = changes_nothing(
        &t,
        "woocommerce",
        &woo_headers(&other, "order.created"),
        &other,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    // An unpaid order waits.
    let pending = sale
        .replace("\"status\": \"processing\"", "\"status\": \"pending\"")
        .replace("\"id\": 727", "\"id\": 901");
    let answer = changes_nothing(
        &t,
        "woocommerce",
        &woo_headers(&pending, "order.created"),
        &pending,
        StatusCode::OK,
    )
    .await;
    assert!(answer["reason"].as_str().unwrap().contains("not paid yet"), "{answer}");
}

#[tokio::test]
async fn ticket_tailor_refunds_by_amount() {
    let t = open("tickettailor", "ev_5120034", "").await;
    let sale = t.sample("tickettailor/order_created.json");
    twice(&t, "tickettailor", &tt_headers(&sale, now(), SECRET), &sale).await;
    // 25.00 given back without voiding a ticket, delivered a day later.
    let refund = sale
        .replace("\"refund_amount\": 0", "\"refund_amount\": 2500")
        .replace("\"event\": \"ORDER.CREATED\"", "\"event\": \"ORDER.UPDATED\"")
        .replace(
            "\"created_at\": \"2027-05-10 14:03:15\"",
            "\"created_at\": \"2027-05-11 09:00:00\"",
        )
        .replace("\"id\": \"wh_1310001\"", "\"id\": \"wh_1310002\"");
    twice(&t, "tickettailor", &tt_headers(&refund, now(), SECRET), &refund).await;
    assert_eq!(
        t.orders().await,
        t.ana("or_52718304", "partially_refunded", 2, 8000, "maria.rossi@example.org")
    );
}

#[tokio::test]
async fn hi_events_of_another_event_are_left_alone() {
    let t = open("hievents", "42", "").await;
    let other = t
        .sample("hievents/order_created.json")
        .replace("\"event_id\": 42", "\"event_id\": 43");
    let answer = changes_nothing(&t, "hievents", &hi_headers(&other, SECRET), &other, StatusCode::OK).await;
    assert_eq!(answer["status"], "ignored", "{answer}");
}

#[tokio::test]
async fn only_an_organizer_sets_an_events_shop() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    super::support::refused(
        &t.app,
        super::support::ANA,
        "editevent summer-fest checkout stripe plink_X",
        "",
    )
    .await;
    super::support::refused(
        &t.app,
        super::support::OWNER,
        "editevent summer-fest checkout stripe 12345",
        "not Stripe's id",
    )
    .await;
    super::support::refused(
        &t.app,
        super::support::OWNER,
        "editevent summer-fest checkout paypal x",
        "not a shop",
    )
    .await;
    // Another event may not take a product that already names summer-fest.
    t.app
        .ok(
            super::support::OWNER,
            "newevent gala \"2099-08-01 18:00\" https://tickets.acme.test/gala Gala",
        )
        .await;
    super::support::refused(
        &t.app,
        super::support::OWNER,
        "editevent gala checkout shopify 788032119674292922",
        "already names",
    )
    .await;
    let list = t.app.ok(super::support::OWNER, "events").await;
    assert!(list.contains("Shopify 788032119674292922"), "{list}");
}

#[tokio::test]
async fn woocommerce_gets_200_for_what_promoterd_refuses_so_the_webhook_stays_on() {
    let t = open("woocommerce", "93 94", "").await;
    // The event is in EUR; an order in USD is refused, and told so with a 200.
    let usd = t
        .sample("woocommerce/order_created.json")
        .replace("\"currency\": \"EUR\"", "\"currency\": \"USD\"");
    let answer = changes_nothing(
        &t,
        "woocommerce",
        &woo_headers(&usd, "order.created"),
        &usd,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (answer["status"].as_str(), answer["error"].as_str()),
        (Some("refused"), Some("conflict")),
        "{answer}"
    );
    // A forged one still gets its 401.
    let mut forged = woo_headers(&usd, "order.created");
    forged[0].1 = base64_mac("not-the-shop-secret-0123", &[usd.as_bytes()]);
    changes_nothing(&t, "woocommerce", &forged, &usd, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_order_of_two_events_keeps_its_id_with_the_first_when_the_second_is_connected() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    // The VIP line is another product: a gala sold in the same shop, not connected yet.
    let sample = t.sample("shopify/orders_create.json");
    let second = sample.rfind("788032119674292922").unwrap();
    let two = format!("{}788032119674299999{}", &sample[..second], &sample[second + 18..]);
    twice(&t, "shopify", &shopify_headers(&two, "orders/create", "w-1"), &two).await;
    assert_eq!(t.orders().await, t.ana(ORDER, "paid", 2, 5000, "jon@example.com"));
    // The gala is connected; the order comes again, changed later.
    t.app
        .ok(
            super::support::OWNER,
            "newevent gala \"2099-08-01 18:00\" https://tickets.acme.test/gala Gala",
        )
        .await;
    t.app
        .ok(
            super::support::OWNER,
            "editevent gala checkout shopify 788032119674299999",
        )
        .await;
    let later = two.replace(
        "\"updated_at\": \"2027-03-14T10:15:44+01:00\"",
        "\"updated_at\": \"2027-03-15T10:00:00+01:00\"",
    );
    let (status, answer) = t
        .post("shopify", &shopify_headers(&later, "orders/updated", "w-2"), &later)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let ids: Vec<(String, i64)> = t
        .orders()
        .await
        .into_iter()
        .map(|o| (o.external_id, o.net_minor))
        .collect();
    let gala = ids
        .iter()
        .find(|(id, _)| id != ORDER)
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    assert!(gala.starts_with(&format!("{ORDER}:")), "{ids:?}");
    assert_eq!(
        ids.iter().find(|(id, _)| id == ORDER).map(|(_, n)| *n),
        Some(5000),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 2, "{ids:?}");
}

#[tokio::test]
async fn an_order_whose_lines_all_move_to_another_event_keeps_both_stored_states_apart() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    let sample = t.sample("shopify/orders_create.json");
    twice(
        &t,
        "shopify",
        &shopify_headers(&sample, "orders/create", "w-1"),
        &sample,
    )
    .await;
    // Later both lines are a gala's product (re-keyed in the shop): the plain id is
    // summer-fest's, so the gala's share is stored under `<id>:<gala>`, not refused.
    t.app
        .ok(
            super::support::OWNER,
            "newevent gala \"2099-08-01 18:00\" https://tickets.acme.test/gala Gala",
        )
        .await;
    t.app
        .ok(
            super::support::OWNER,
            "editevent gala checkout shopify 788032119674299999",
        )
        .await;
    let moved = sample.replace("788032119674292922", "788032119674299999").replace(
        "\"updated_at\": \"2027-03-14T10:15:44+01:00\"",
        "\"updated_at\": \"2027-03-15T10:00:00+01:00\"",
    );
    let (status, answer) = t
        .post("shopify", &shopify_headers(&moved, "orders/updated", "w-2"), &moved)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let ids: Vec<String> = t.orders().await.into_iter().map(|o| o.external_id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(
        ids.contains(&ORDER.to_string()) && ids.iter().any(|i| i.starts_with(&format!("{ORDER}:"))),
        "{ids:?}"
    );
}
