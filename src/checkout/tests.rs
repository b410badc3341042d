//! Tests of the shop-order mapping (exact lines, refunds by amount, shares per event,
//! decimal amounts) and of the signatures against the shops' published vectors.

use super::*;
use chrono::TimeZone;

fn line(key: Option<&str>, name: &str, quantity: i64, refunded: i64, total: i64) -> ShopLine {
    ShopLine {
        event_key: key.map(String::from),
        ticket_type: name.into(),
        quantity,
        refunded_quantity: refunded,
        total_minor: total,
    }
}

fn order(lines: Vec<ShopLine>, refunded_minor: i64) -> ShopOrder {
    let at = Utc.with_ymd_and_hms(2027, 3, 14, 9, 0, 0).unwrap();
    ShopOrder {
        id: "1001".into(),
        event_key: None,
        status: ShopStatus::Paid,
        ordered_at: at,
        updated_at: at,
        ref_code: Some("ana".into()),
        promo_codes: vec![],
        buyer_name: None,
        buyer_email: None,
        buyer_phone: None,
        currency: "EUR".into(),
        lines,
        refunded_minor,
    }
}

fn net(raw: &RawOrder) -> i64 {
    raw.lines
        .iter()
        .map(|l| (l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor)
        .sum()
}

fn tickets(raw: &RawOrder) -> i64 {
    raw.lines.iter().map(|l| l.quantity - l.refunded_quantity).sum()
}

#[test]
fn a_line_paid_in_uneven_cents_is_stored_exactly() {
    // 3 tickets for 100.00 after a discount: 33.33 + 33.33 + 33.34.
    let o = order(vec![line(Some("p"), "GA", 3, 0, 10000)], 0);
    let shares = o.shares(|_| Some("fest".into())).unwrap();
    let raw = &shares[0].raw;
    assert_eq!(
        raw.lines
            .iter()
            .map(|l| (l.quantity, l.unit_price_minor))
            .collect::<Vec<_>>(),
        [(2, 3333), (1, 3334)]
    );
    assert_eq!((net(raw), tickets(raw)), (10000, 3));
}

#[test]
fn a_refund_by_amount_lowers_revenue_exactly_and_keeps_the_tickets() {
    let o = order(vec![line(None, "GA", 2, 0, 5000), line(None, "VIP", 1, 0, 8000)], 2501);
    let mut o = o;
    o.event_key = Some("ev".into());
    let raw = &o.shares(|_| Some("fest".into())).unwrap()[0].raw;
    assert_eq!((net(raw), tickets(raw), raw.status.as_str()), (13000 - 2501, 3, "paid"));
    // Spread in proportion (5000 : 8000), the odd cent to the larger remainder.
    assert_eq!(
        raw.lines.iter().map(|l| l.refunded_minor).collect::<Vec<_>>(),
        [962, 1539]
    );
    // The whole amount back: every ticket refunded.
    o.refunded_minor = 13000;
    let raw = &o.shares(|_| Some("fest".into())).unwrap()[0].raw;
    assert_eq!(
        (
            raw.status.as_str(),
            raw.lines.iter().map(|l| l.refunded_minor).sum::<i64>()
        ),
        ("refunded", 0)
    );
}

#[test]
fn refunded_tickets_and_money_beyond_them_add_up() {
    // One of two 25.00 tickets refunded, and 5.00 more given back on the other.
    let o = order(vec![line(Some("p"), "GA", 2, 1, 5000)], 500);
    let raw = &o.shares(|_| Some("fest".into())).unwrap()[0].raw;
    assert_eq!((net(raw), tickets(raw)), (2000, 1));
}

#[test]
fn lines_of_other_products_are_left_out_and_one_event_has_one_order() {
    let o = order(
        vec![
            line(Some("93"), "Early bird", 2, 0, 5000),
            line(Some("94"), "VIP", 1, 0, 8000),
            line(Some("500"), "T-shirt", 1, 0, 2000),
        ],
        0,
    );
    let ours = |k: &str| matches!(k, "93" | "94").then(|| "fest".to_string());
    let shares = o.shares(ours).unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!((shares[0].raw.order_id.as_str(), net(&shares[0].raw)), ("1001", 13000));
    // Two of our events in one order: one order each, named by the shop's key.
    let two = |k: &str| match k {
        "93" | "94" => Some("fest".to_string()),
        "500" => Some("gala".to_string()),
        _ => None,
    };
    let shares = o.shares(two).unwrap();
    let ids: Vec<_> = shares
        .iter()
        .map(|s| (s.key.clone(), s.raw.event.clone(), net(&s.raw)))
        .collect();
    assert_eq!(
        ids,
        [
            ("93".to_string(), "fest".to_string(), 13000),
            ("500".into(), "gala".into(), 2000)
        ]
    );
    assert!(o.shares(|_| None).unwrap().is_empty());
}

#[test]
fn a_line_counts_under_its_product_else_the_orders_link() {
    // Stripe: products are the line keys, the Payment Link the order's.
    let mut o = order(vec![line(Some("prod_A"), "GA", 1, 0, 100)], 0);
    o.event_key = Some("plink_X".into());
    let by_link = |k: &str| (k == "plink_X").then(|| "fest".to_string());
    assert_eq!(o.shares(by_link).unwrap().len(), 1);
    let by_product = |k: &str| (k == "prod_A").then(|| "fest".to_string());
    assert_eq!(o.shares(by_product).unwrap()[0].key, "prod_A");
}

#[test]
fn a_refund_by_amount_is_split_exactly_between_events_and_other_products() {
    // 3 cents back on an order of two of our events and a T-shirt, 1.00 each.
    let mut o = order(
        vec![
            line(Some("a"), "GA", 1, 0, 100),
            line(Some("b"), "GA", 1, 0, 100),
            line(Some("shirt"), "T-shirt", 1, 0, 100),
        ],
        3,
    );
    let ours = |k: &str| match k {
        "a" => Some("fest".to_string()),
        "b" => Some("gala".to_string()),
        _ => None,
    };
    let back: Vec<i64> = o.shares(ours).unwrap().iter().map(|s| 100 - net(&s.raw)).collect();
    assert_eq!(back, [1, 1], "the T-shirt's cent is not ours");
    // 2 cents over three equal lines: one each to the first two, none lost or added.
    o.refunded_minor = 2;
    let back: Vec<i64> = o.shares(ours).unwrap().iter().map(|s| 100 - net(&s.raw)).collect();
    assert_eq!(back, [1, 1]);
}

#[test]
fn refunded_tickets_are_valued_as_they_are_stored() {
    // 3 tickets for 1.00 (0.33, 0.33, 0.34): one refunded is the dearer, 0.34.
    assert_eq!(tickets_value(100, 3, 1), 34);
    assert_eq!(tickets_value(100, 3, 3), 100);
    // What is left (0.66) given back as well: the whole order is refunded.
    let o = order(vec![line(Some("p"), "GA", 3, 1, 100)], 66);
    let raw = &o.shares(|_| Some("fest".into())).unwrap()[0].raw;
    assert_eq!(raw.status, "refunded");
}

#[test]
fn decimal_amounts_are_read_exactly_or_refused() {
    assert_eq!(minor_units("25.00", 2).unwrap(), 2500);
    assert_eq!(minor_units("25", 2).unwrap(), 2500);
    assert_eq!(minor_units("-10.5", 2).unwrap(), -1050);
    assert_eq!(minor_units("105.0", 2).unwrap(), 10500);
    assert_eq!(minor_units("1500", 0).unwrap(), 1500);
    assert_eq!(minor_units("1.234", 3).unwrap(), 1234);
    for bad in ["", "1.005", "1e3", "12,50", "--1", "9999999999999", " . "] {
        assert!(minor_units(bad, 2).is_err(), "{bad}");
    }
    assert_eq!(currency_decimals("jpy"), 0);
    assert_eq!(currency_decimals("EUR"), 2);
}

#[test]
fn refs_are_read_from_landing_urls() {
    assert_eq!(ref_of_url("/?ref=ana-summer").as_deref(), Some("ana-summer"));
    assert_eq!(
        ref_of_url("https://shop.example.com/tickets/?utm_source=x&ref=abc#top").as_deref(),
        Some("abc")
    );
    assert_eq!(ref_of_url("/tickets"), None);
    assert_eq!(ref_of_url("/?ref="), None);
}

struct H(Vec<(&'static str, String)>);

impl Headers for H {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

#[test]
fn ticket_tailors_published_delivery_verifies() {
    // A real delivery with its secret, published as test data (SOURCES-2.md).
    let v: serde_json::Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/shops/tickettailor/signature_vector.json"
    ))
    .unwrap();
    let body = v["raw_body"].as_str().unwrap().as_bytes();
    let secret = vec![v["secret"].as_str().unwrap().to_string()];
    let h = H(vec![(
        tickettailor::SIGNATURE_HEADER,
        v["header_value"].as_str().unwrap().into(),
    )]);
    let t: i64 = v["timestamp"].as_str().unwrap().parse().unwrap();
    assert_eq!(tickettailor::verify(&h, body, &secret, t + 10), Ok(()));
    assert!(matches!(
        tickettailor::verify(&h, body, &secret, t + 301),
        Err(ShopSignatureError::Stale(301, 300))
    ));
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert_eq!(
        tickettailor::verify(&h, &tampered, &secret, t),
        Err(ShopSignatureError::Mismatch)
    );
}

#[test]
fn woocommerce_signs_with_the_secret_its_admin_decoded() {
    let body = br#"{"id":727}"#;
    let saved = vec!["a&amp;b-0123456789abcdef".to_string()];
    let signed_with_decoded = hmac_base64("a&b-0123456789abcdef", &[body]);
    let h = H(vec![(woocommerce::SIGNATURE_HEADER, signed_with_decoded)]);
    assert_eq!(woocommerce::verify(&h, body, &saved), Ok(()));
    let h = H(vec![(
        woocommerce::SIGNATURE_HEADER,
        hmac_base64("other-0123456789abcdef", &[body]),
    )]);
    assert_eq!(woocommerce::verify(&h, body, &saved), Err(ShopSignatureError::Mismatch));
    assert!(woocommerce::is_ping(&H(vec![]), b"webhook_id=12"));
    assert!(!woocommerce::is_ping(&H(vec![]), b"webhook_id=12&x=1"));
}

#[test]
fn secrets_in_addresses_are_compared_whole() {
    let s = vec!["abcdefghijklmnop".to_string()];
    assert!(secret_matches(&s, "abcdefghijklmnop"));
    assert!(!secret_matches(&s, "abcdefghijklmno"));
    assert!(!secret_matches(&s, ""));
}

#[test]
fn a_cancelled_hi_events_attendee_refunds_one_ticket_of_a_tiered_product() {
    // Hi.Events makes one order item per price tier of a product; a cancelled attendee
    // names the product, so it is one refunded ticket among that product's items, not
    // one on each of them.
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/fixtures/shops/hievents/order_created.json")).unwrap();
    let o = &mut v["payload"];
    let first = o["order_items"][0].clone();
    let mut tier = first.clone();
    tier["id"] = 5999.into();
    tier["item_name"] = format!("{} - Tier 2", first["item_name"].as_str().unwrap()).into();
    o["order_items"] = serde_json::json!([first, tier]);
    let mut attendee = o["attendees"][0].clone();
    attendee["product_id"] = first["product_id"].clone();
    attendee["status"] = "CANCELLED".into();
    o["attendees"] = serde_json::json!([attendee]);
    let body = serde_json::to_vec(&v).unwrap();
    let Delivery::Orders { orders, .. } = hievents::read(&body).unwrap() else {
        panic!("not read as an order");
    };
    let refunded: Vec<i64> = orders[0].lines.iter().map(|l| l.refunded_quantity).collect();
    assert_eq!(refunded.iter().sum::<i64>(), 1, "{refunded:?}");

    // Where the items name their price tier, the attendee's tier is the one refunded.
    let o = &mut v["payload"];
    o["order_items"][0]["product_price_id"] = 401.into();
    o["order_items"][1]["product_price_id"] = 402.into();
    o["attendees"][0]["product_price_id"] = 402.into();
    let body = serde_json::to_vec(&v).unwrap();
    let Delivery::Orders { orders, .. } = hievents::read(&body).unwrap() else {
        panic!("not read as an order");
    };
    let refunded: Vec<i64> = orders[0].lines.iter().map(|l| l.refunded_quantity).collect();
    assert_eq!(refunded, [0, 1]);
}

#[test]
fn stripe_isk_amounts_are_whole_kronur() {
    // Stripe keeps ISK at two decimals in its API; promoterd, like ISO 4217, at none.
    assert_eq!(stripe::stripe_minor(150_000, "isk"), 1_500);
    assert_eq!(stripe::stripe_minor(150_000, "EUR"), 150_000);
    assert_eq!(stripe::stripe_minor(5_000, "JPY"), 5_000);
    // MGA: zero-decimal at Stripe, two decimals in ISO 4217.
    assert_eq!(
        crate::money::money(stripe::stripe_minor(5_000, "mga"), "MGA"),
        "5000.00 MGA"
    );
    assert_eq!(
        crate::money::money(stripe::stripe_minor(150_000, "ISK"), "ISK"),
        "1500 ISK"
    );
}
