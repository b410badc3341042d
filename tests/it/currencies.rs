//! Currencies without cents (JPY) or with three decimals (KWD): amounts are minor units of
//! their own currency (ISO 4217) when typed, stored, shown and exported.

use super::support::*;

#[tokio::test]
async fn a_yen_event_takes_shows_and_exports_whole_yen() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(
        OWNER,
        "newevent tokyo-live \"2099-07-01 18:00\" https://tickets.acme.test/tokyo Tokyo Live --currency JPY",
    )
    .await;
    let added = app.ok(OWNER, "newtickettype tokyo-live 5000 Arena").await;
    assert!(added.contains("Added Arena at 5000 JPY"), "{added}");
    refused(
        &app,
        OWNER,
        "newtickettype tokyo-live 5000.5 Floor",
        "JPY amounts have no decimals",
    )
    .await;
    let repriced = app.ok(OWNER, "editticket tokyo-live arena price 5500").await;
    assert!(repriced.contains("now costs 5500 JPY"), "{repriced}");

    // A fixed commission in whole yen; cents of a yen are refused.
    let set = app.ok(OWNER, "setcommission 300 tokyo-live").await;
    assert!(set.contains("300 JPY per ticket"), "{set}");
    refused(
        &app,
        OWNER,
        "setcommission 2.50 tokyo-live",
        "JPY amounts have no decimals",
    )
    .await;
    // For every event at once, a fixed amount would be read with two decimals in yen too.
    let why = refused(&app, OWNER, "setcommission 2.50", "tokyo-live sells in JPY").await;
    assert!(why.contains("set a fixed amount on each event instead"), "{why}");
    let pct = app.ok(OWNER, "setcommission 10%").await;
    assert!(pct.contains("10% of the net price"), "{pct}");

    // An order of 2 × 5500 yen (minor units of JPY are yen) through Ana's link (she
    // promotes every event).
    let code = link_code(&app.ok(ANA, "mylink tokyo-live").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n\
         T1,tokyo-live,paid,2099-05-01T10:00:00Z,{code},Arena,2,5500,JPY\n"
    );
    let path = app.path("t1.csv");
    std::fs::write(&path, csv).unwrap();
    let out = app.bin(&["import-orders", path.to_str().unwrap()]);
    assert!(out.ok, "{out:?}");
    let stats = app.ok(ANA, "mystats tokyo-live").await;
    assert!(stats.contains("11000 JPY") && !stats.contains("110.00"), "{stats}");
    let earned = app.ok(ANA, "myearnings tokyo-live").await;
    assert!(earned.contains("600 JPY"), "2 tickets × 300 yen:\n{earned}");
    let export = std::fs::read_to_string(saved_file(&app.ok(OWNER, "export tokyo-live").await)).unwrap();
    let mut r = csv::Reader::from_reader(export.as_bytes());
    let at = r.headers().unwrap().iter().position(|h| h == "amount").unwrap();
    let amounts: Vec<String> = r.records().map(|rec| rec.unwrap()[at].to_string()).collect();
    assert_eq!(amounts, ["11000"], "{export}");
}

#[tokio::test]
async fn a_dinar_event_keeps_three_decimals() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(
        OWNER,
        "newevent kuwait-night \"2099-07-01 18:00\" https://tickets.acme.test/kw Kuwait Night --currency KWD",
    )
    .await;
    let added = app.ok(OWNER, "newtickettype kuwait-night 12.125 Hall").await;
    assert!(added.contains("Added Hall at 12.125 KWD"), "{added}");
    let set = app.ok(OWNER, "setcommission 1.5 kuwait-night").await;
    assert!(set.contains("1.500 KWD per ticket"), "{set}");
    // Three decimals in EUR are refused as before.
    refused(
        &app,
        OWNER,
        "newtickettype summer-fest 12.125 Balcony",
        "EUR amounts have at most 2 decimals",
    )
    .await;
}
