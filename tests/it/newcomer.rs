//! What a first real run tripped over (issue 15): each test failed on the code before
//! its fix.

use super::support::*;

#[tokio::test]
async fn myorders_shows_times_in_the_organizations_zone_and_says_which() {
    let app = TestApp::new().await;
    app.world().await; // Acme Events is in Europe/Berlin
    let code = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n\
         Z1,summer-fest,paid,2099-05-01T10:00:00Z,{code},VIP,1,12950,EUR\n"
    );
    let path = app.path("orders.csv");
    std::fs::write(&path, csv).unwrap();
    assert!(app.bin(&["import-orders", path.to_str().unwrap()]).ok);
    let orders = app.ok(BEN, "myorders").await;
    // 10:00 UTC is 12:00 in Berlin (CEST) on 1 May.
    assert!(orders.contains("2099-05-01 12:00"), "{orders}");
    assert!(!orders.contains("10:00"), "{orders}");
    assert!(orders.contains("Europe/Berlin"), "the zone is named:\n{orders}");
}

#[tokio::test]
async fn after_stop_the_digest_settings_say_what_is_sent() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(ANA, "digest daily").await;
    app.ok(ANA, "stop").await;
    let prefs = app.ok(ANA, "digest").await;
    assert!(field(&prefs, "Digest").starts_with("stopped by `stop`"), "{prefs}");
    assert!(prefs.contains("no digests or notifications are sent"), "{prefs}");
    // Asking again undoes the stop.
    let again = app.ok(ANA, "digest daily").await;
    assert!(field(&again, "Digest").starts_with("daily"), "{again}");
}
