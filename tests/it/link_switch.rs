//! Turning one tracking link off and on (issue 15): the promoter stays, the link stops
//! leading anywhere and counting; who may turn it back on; refusals change nothing.

use super::http::client;
use super::support::*;
use reqwest::StatusCode;
use std::time::Duration;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0";

async fn status_of(base: &str, code: &str) -> StatusCode {
    client()
        .get(format!("{base}/t/{code}"))
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap()
        .status()
}

/// Imports one paid VIP order carrying `code`.
fn import(app: &TestApp, id: &str, code: &str) {
    let csv = format!(
        "order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n\
         {id},summer-fest,paid,2099-05-01T10:00:00Z,{code},VIP,1,12950,EUR\n"
    );
    let path = app.path(&format!("{id}.csv"));
    std::fs::write(&path, csv).unwrap();
    let out = app.bin(&["import-orders", path.to_str().unwrap()]);
    assert!(out.ok, "{out:?}");
}

// Two worker threads: the import runs the binary, blocking one thread while the
// server's click writer may hold the database until its task runs on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_link_stops_leading_and_counting_and_the_promoter_stays() {
    let app = TestApp::new().await;
    app.world().await;
    let main = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let flyers = link_code(&app.ok(BEN, "newlink flyers summer-fest --for Cleo").await);
    let links = app.ok(BEN, "links summer-fest").await;
    assert!(links.contains("flyers (for Cleo)"), "{links}");
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    assert_eq!(status_of(&base, &flyers).await, StatusCode::FOUND);

    let said = app.ok(BEN, "disablelink flyers").await;
    assert!(said.contains("`flyers (for Cleo)` of Summer Fest is off"), "{said}");
    wait_until(
        "the disabled link is gone from the redirect",
        Duration::from_secs(10),
        || async { status_of(&base, &flyers).await == StatusCode::NOT_FOUND },
    )
    .await;
    assert_eq!(
        status_of(&base, &main).await,
        StatusCode::FOUND,
        "the main link still works"
    );
    let links = app.ok(BEN, "links summer-fest").await;
    assert!(links.contains("flyers (for Cleo) [off]"), "{links}");
    import(&app, "D1", &flyers);
    let stats = app.ok(BEN, "mystats summer-fest").await;
    assert!(stats.contains("flyers (for Cleo)"), "{stats}");
    assert!(
        !stats.contains("129.50"),
        "an order through the disabled link counts for nobody:\n{stats}"
    );

    let again = app.ok(BEN, &format!("enablelink {flyers}")).await;
    assert!(again.contains("is on again"), "{again}");
    wait_until(
        "the link leads to the ticket page again",
        Duration::from_secs(10),
        || async { status_of(&base, &flyers).await == StatusCode::FOUND },
    )
    .await;
    import(&app, "D2", &flyers);
    let stats = app.ok(BEN, "mystats summer-fest").await;
    assert!(stats.contains("129.50"), "counted again:\n{stats}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_link_the_organizer_turned_off_stays_off_for_the_promoter() {
    let app = TestApp::new().await;
    app.world().await;
    let flyers = link_code(&app.ok(BEN, "newlink flyers summer-fest --for Cleo").await);
    let said = app
        .ok(
            ADMIN,
            &format!("disablelink https://go.acme.test/t/{flyers}?utm_source=x"),
        )
        .await;
    assert!(said.contains("is off"), "{said}");
    refused(&app, BEN, "enablelink flyers", "The organizer turned the link").await;
    refused(&app, BEN, "disablelink flyers", "is off already").await;
    app.ok(OWNER, &format!("enablelink {flyers} summer-fest")).await;
    // The export names the sub-promoter with the link.
    app.ok(OWNER, &format!("disablelink {flyers}")).await;
    app.ok(OWNER, &format!("enablelink {flyers}")).await;
    import(&app, "E1", &flyers);
    let out = app.bin(&["export", "--event", "summer-fest"]);
    assert!(out.stdout.contains("\"flyers (for Cleo)\""), "{}", out.stdout);
    let audit = TestApp::dump_section(&app.dump().await, "audit_log");
    assert_eq!(audit.matches("link.disabled").count(), 2, "{audit}");
}

#[tokio::test]
async fn nobody_reaches_a_link_that_is_not_theirs_and_main_links_go_only_with_revoke() {
    let app = TestApp::new().await;
    app.world().await;
    let main = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let flyers = link_code(&app.ok(BEN, "newlink flyers summer-fest").await);
    let other = app.bin(&["org", "create", "Other Co", "--owner", "eve@other.test"]);
    assert!(other.ok, "{other:?}");
    refused(
        &app,
        ANA,
        &format!("disablelink {flyers} summer-fest"),
        "You have no link",
    )
    .await;
    refused(&app, "eve@other.test", &format!("disablelink {flyers}"), "").await;
    refused(&app, "nobody@else.test", &format!("disablelink {flyers}"), "").await;
    refused(&app, BEN, &format!("disablelink {main}"), "main link").await;
    refused(&app, OWNER, &format!("disablelink {main}"), "`revoke`").await;
    refused(&app, OWNER, "disablelink nosuchcode", "has no tracking link").await;
    // Off, then its promoter revoked: nobody turns it back on alone.
    app.ok(BEN, "disablelink flyers").await;
    app.ok(OWNER, &format!("revoke {BEN} summer-fest")).await;
    refused(
        &app,
        OWNER,
        &format!("enablelink {flyers}"),
        "went off with its promoter",
    )
    .await;
}
