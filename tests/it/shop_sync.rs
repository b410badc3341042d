//! `promoterd sync <event>` (issue 16): past orders pulled from Stripe, Shopify,
//! pretix and Eventbrite (stand-in APIs with the shops' published samples), stored
//! through the same checks as a delivery; a second run leaves the dump unchanged.
//! And promo codes: `mycode`, `promocode`, and an order carrying one.

use super::shops::*;
use super::support::*;
use reqwest::StatusCode;

/// Runs `sync summer-fest` twice: the first stores, the second changes nothing.
async fn sync_twice(t: &ShopTest) -> String {
    let out = t.app.bin(&["sync", "summer-fest"]);
    assert!(out.ok, "{out:?}");
    let dump = t.app.dump().await;
    let again = t.app.bin(&["sync", "summer-fest"]);
    assert!(again.ok, "{again:?}");
    assert!(again.stdout.contains(" 0 new, 0 updated"), "{}", again.stdout);
    assert_eq!(t.app.dump().await, dump, "a second sync changed the database");
    out.stdout
}

// The binary runs while this test's runtime serves the stand-in API: two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_sessions_of_the_payment_link_are_pulled_with_their_refunds() {
    let link = "plink_1Pgc78B7WZ01zgkWC75kX0jg";
    let session = "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY";
    let t = open("stripe", link, "").await;
    t.api.get(
        &format!("/v1/checkout/sessions?payment_link={link}&status=complete&limit=100"),
        sample_json(&t.sample("stripe/checkout_sessions_list.json")),
    );
    t.api.get(
        &format!("/v1/checkout/sessions/{session}/line_items?limit=100"),
        sample_json(&t.sample("stripe/line_items.json")),
    );
    // The refunds list as the charge of `charge_refunded.json` carries it.
    let charge = sample_json(&fixture("stripe/charge_refunded.json"));
    t.api.get(
        "/v1/refunds?payment_intent=pi_1PgafyB7WZ01zgkWSjxsAJo3&limit=100",
        charge["data"]["object"]["refunds"].clone(),
    );
    let out = sync_twice(&t).await;
    assert!(out.contains("1 order(s) read from Stripe: 1 new"), "{out}");
    assert_eq!(
        t.orders().await,
        t.ana(session, "partially_refunded", 3, 10500, "jenny.rosen@example.com")
    );
}

// Shopify's REST API answers 429 with `Retry-After` (in seconds, `2.0`) past its
// bucket; a backfill walks many pages, so `sync` waits out more refusals than a
// delivery would (five here, where a delivery tries four times in all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_waits_out_the_shops_rate_limit() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    let order = sample_json(&t.sample("shopify/orders_updated_refund.json"));
    let first = "/admin/api/2025-01/orders.json?status=any&limit=250&since_id=0";
    t.api.get(first, serde_json::json!({ "orders": [order] }));
    t.api.rate_limit("GET", first, 5, Some("0.1"));
    t.api.get(
        "/admin/api/2025-01/orders.json?status=any&limit=250&since_id=820982911946154508",
        serde_json::json!({ "orders": [] }),
    );
    let out = t.app.bin(&["sync", "summer-fest"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(t.api.calls().iter().filter(|c| c.target == first).count(), 6);
    assert_eq!(t.orders().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_pretix_and_eventbrite_orders_are_pulled() {
    let t = open("shopify", "788032119674292922", "/admin/api/2025-01").await;
    let order = sample_json(&t.sample("shopify/orders_updated_refund.json"));
    t.api.get(
        "/admin/api/2025-01/orders.json?status=any&limit=250&since_id=0",
        serde_json::json!({ "orders": [order] }),
    );
    t.api.get(
        "/admin/api/2025-01/orders.json?status=any&limit=250&since_id=820982911946154508",
        serde_json::json!({ "orders": [] }),
    );
    sync_twice(&t).await;
    assert_eq!(
        t.orders().await,
        t.ana("820982911946154508", "partially_refunded", 2, 10500, "jon@example.com")
    );

    let t = open("pretix", "democon/summer27", "/api/v1").await;
    let base = "/api/v1/organizers/democon/events/summer27/";
    t.api.get(base, sample_json(&fixture("pretix/event.json")));
    t.api
        .get(&format!("{base}items/1/"), sample_json(&fixture("pretix/item_1.json")));
    t.api
        .get(&format!("{base}items/2/"), sample_json(&fixture("pretix/item_2.json")));
    t.api.get(
        &format!("{base}vouchers/15/"),
        sample_json(&t.sample("pretix/voucher.json")),
    );
    // The sample's order, and a copy placed in test mode (never a sale).
    let mut list = sample_json(&t.sample("pretix/orders_list.json"));
    let mut test_order = list["results"][0].clone();
    test_order["code"] = "TEST1".into();
    test_order["testmode"] = true.into();
    list["results"].as_array_mut().unwrap().push(test_order);
    t.api.get(
        &format!("{base}orders/?include_canceled_positions=true&include_canceled_fees=true"),
        list,
    );
    sync_twice(&t).await;
    assert_eq!(
        t.orders().await,
        t.ana("ABC12", "paid", 2, 10500, "maria.rossi@example.org")
    );

    let t = open("eventbrite", "987654321", "/v3").await;
    t.api.get(
        "/v3/events/987654321/orders/?status=all_not_deleted&expand=attendees",
        sample_json(&t.sample("eventbrite/orders_list.json")),
    );
    sync_twice(&t).await;
    assert_eq!(
        t.orders().await,
        t.ana("1234567890", "paid", 2, 10500, "maria.rossi@example.org")
    );
}

#[tokio::test]
async fn shops_whose_api_lists_nothing_say_how_to_get_their_orders() {
    let t = open("tickettailor", "ev_5120034", "").await;
    let before = t.app.dump().await;
    let out = t.app.bin(&["sync", "summer-fest"]);
    assert!(!out.ok);
    assert!(out.stderr.contains("webhook log"), "{}", out.stderr);
    assert_eq!(t.app.dump().await, before);
}

fn woo(body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-WC-Webhook-Signature", base64_mac(SECRET, &[body.as_bytes()])),
        ("X-WC-Webhook-Topic", "order.created".into()),
    ]
}

#[tokio::test]
async fn a_promo_code_counts_like_the_link_and_a_link_wins() {
    let t = open("woocommerce", "93 94", "").await;
    // Ana asks for a code; it counts once an organizer approves it.
    let set = t.app.ok(ANA, "mycode ana10 summer-fest").await;
    assert!(set.contains("once an organizer approves"), "{set}");
    let stats = t.app.ok(ANA, "mystats summer-fest").await;
    assert!(stats.contains("ANA10 waits for an organizer's approval"), "{stats}");
    // An order without a ref, with Ana's code typed at checkout (WooCommerce coupon_lines).
    let coupon = r#"[{"id":401,"code":"ANA10","discount":"0.00","discount_tax":"0.00","meta_data":[]}]"#;
    let by_code = fixture("woocommerce/order_created.json")
        .replace("?ref=ana-summer", "")
        .replace("\"coupon_lines\": []", &format!("\"coupon_lines\": {coupon}"));
    assert!(by_code.contains("ANA10"), "the sample has coupon_lines");
    let waiting = by_code.replace("\"id\": 727", "\"id\": 726");
    let (status, answer) = t.post("woocommerce", &woo(&waiting), &waiting).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        t.orders().await[0].link,
        None,
        "a code not approved yet counts for nobody"
    );
    let list = t.app.ok(OWNER, "promocodes summer-fest").await;
    assert!(
        list.contains(&format!("approve with `promocode {ANA} ANA10 summer-fest`")),
        "{list}"
    );
    t.app.ok(OWNER, &format!("promocode {ANA} ANA10 summer-fest")).await;
    let stats = t.app.ok(ANA, "mystats summer-fest").await;
    assert!(stats.contains("Your promo code: ANA10"), "{stats}");
    let (status, answer) = t.post("woocommerce", &woo(&by_code), &by_code).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(t.orders().await[1].link.as_deref(), Some(t.ana.as_str()));

    // Ben's link and Ana's code on one order: the link wins.
    let ben = link_code(&t.app.ok(BEN, "mylink summer-fest").await);
    let both = fixture("woocommerce/order_created.json")
        .replace("ana-summer", &ben)
        .replace("\"id\": 727", "\"id\": 728")
        .replace("\"coupon_lines\": []", &format!("\"coupon_lines\": {coupon}"));
    let (status, answer) = t.post("woocommerce", &woo(&both), &both).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let links: Vec<_> = t.orders().await.into_iter().map(|o| (o.external_id, o.link)).collect();
    assert_eq!(
        links,
        [
            ("726".to_string(), None),
            ("727".into(), Some(t.ana.clone())),
            ("728".into(), Some(ben))
        ]
    );
}

#[tokio::test]
async fn promo_codes_are_refused_where_they_would_reach_another_person() {
    let t = open("woocommerce", "93", "").await;
    t.app.ok(ANA, "mycode ana10 summer-fest").await;
    // Taken by Ana: Ben cannot have it, nor Ana's link code.
    refused(&t.app, BEN, "mycode ANA10 summer-fest", "taken").await;
    refused(&t.app, BEN, &format!("mycode {} summer-fest", t.ana), "taken").await;
    refused(&t.app, BEN, "mycode a! summer-fest", "not a promo code").await;
    // A promoter cannot set someone's code; an organizer can, for a promoter only.
    refused(&t.app, BEN, &format!("promocode {ANA} ben5 summer-fest"), "").await;
    refused(
        &t.app,
        OWNER,
        "promocode nobody@example.com x123 summer-fest",
        "not an active promoter",
    )
    .await;
    let set = t.app.ok(OWNER, &format!("promocode {BEN} ben5 summer-fest")).await;
    assert!(set.contains("BEN5"), "{set}");
    let stats = t.app.ok(BEN, "mystats summer-fest").await;
    assert!(stats.contains("Your promo code: BEN5"), "{stats}");
    let off = t.app.ok(BEN, "mycode off summer-fest").await;
    assert!(off.contains("removed"), "{off}");
    refused(&t.app, OWNER, "mycode own1 summer-fest", "").await;
}

#[tokio::test]
async fn the_order_webhook_reads_promo_codes_and_a_made_up_ref_does_not_block_them() {
    let app = TestApp::new().await;
    app.world().await;
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    app.ok(OWNER, &format!("promocode {ANA} ana10 summer-fest")).await;
    // Ben's flyer link, turned off: a ref orders are no longer attributed to.
    let flyers = link_code(&app.ok(BEN, "newlink flyers summer-fest").await);
    app.ok(BEN, &format!("disablelink {flyers}")).await;
    let http = app.serve().await;
    let base = format!("http://{}", http.addr);
    for (id, r#ref) in [
        ("P1", serde_json::Value::Null),
        ("P2", "not-a-link".into()),
        ("P3", flyers.as_str().into()),
    ] {
        let body = serde_json::json!({
            "id": format!("dlv-{id}"), "type": "order.created",
            "order": {"id": id, "event": "summer-fest", "ref": r#ref, "promo_code": "Ana10",
                      "created_at": "2099-05-01T10:00:00Z",
                      "lines": [{"ticket_type": "VIP", "quantity": 1, "unit_price": 12950, "currency": "EUR"}]}
        })
        .to_string();
        let sig = super::http::signature(NEW_SECRET, now(), &body);
        let (status, answer) = super::http::post_order(&base, &body, Some(sig)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let links: Vec<_> = stored(&app, "checkout").await.into_iter().map(|o| o.link).collect();
    assert_eq!(links, [Some(ana.clone()), Some(ana.clone()), Some(ana)]);
}
