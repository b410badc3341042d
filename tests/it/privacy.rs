//! Buyer data hygiene (issue 21): retention on a controllable clock, `forgetbuyer`,
//! `mydata`, `leave` and `audit` (the outbox's side: `outbox_scrub.rs`).

use super::http::client;
use super::support::*;
use chrono::{TimeZone, Utc};
use promoterd::clock::Clock;
use promoterd::commands::Platform;
use reqwest::StatusCode;
use std::time::Duration;

const HEADER: &str = "order_id,event,status,ordered_at,updated_at,ref,buyer_name,buyer_email,buyer_phone,\
                      ticket_type,quantity,unit_price_minor,currency";

/// One order line of the import file.
pub(super) fn order(
    id: &str,
    event: &str,
    r#ref: &str,
    buyer: (&str, &str, &str),
    quantity: u32,
    updated: &str,
) -> String {
    format!(
        "{id},{event},paid,2099-05-01T10:00:00Z,{updated},{},{},{},{},General Admission,{quantity},4900,EUR",
        r#ref, buyer.0, buyer.1, buyer.2
    )
}

/// Imports orders through the real binary.
pub(super) async fn import(app: &TestApp, name: &str, rows: &[String]) {
    let path = app.path(name);
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let out = app.bin(&["import-orders", path.to_str().unwrap()]);
    assert!(out.ok, "{out:?}");
}

/// The rows of a CSV export as `who` sees it, header first.
async fn export_rows(app: &TestApp, who: &str, line: &str) -> Vec<Vec<String>> {
    let out = app.ok(who, line).await;
    let mut r = csv::Reader::from_path(saved_file(&out)).unwrap();
    let mut rows = vec![r.headers().unwrap().iter().map(String::from).collect::<Vec<_>>()];
    rows.extend(r.records().map(|rec| rec.unwrap().iter().map(String::from).collect()));
    rows
}

/// (external id, name, email, phone, erased) of every order, read with a plain query.
async fn buyers(app: &TestApp) -> Vec<(String, Option<String>, Option<String>, Option<String>, bool)> {
    app.db()
        .await
        .rows(
            "SELECT external_id, buyer_name, buyer_email, buyer_phone, buyer_erased_at IS NOT NULL FROM orders \
             ORDER BY external_id",
        )
        .await
}

const ZOE: (&str, &str, &str) = ("Zoe Quartz", "zoe@buyer.test", "+49 30 1234567");
const YAN: (&str, &str, &str) = ("Yan Ortiz", "yan@buyer.test", "+34 600 111 222");

#[tokio::test]
async fn buyer_data_is_kept_until_the_retention_date_and_erased_after_it() {
    let clock = Clock::fixed(Utc.with_ymd_and_hms(2099, 5, 1, 12, 0, 0).unwrap());
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    app.ok(
        OWNER,
        "newevent winter-fest \"2099-12-01 18:00\" https://tickets.acme.test/winter Winter Fest",
    )
    .await;
    app.ok(OWNER, "newtickettype winter-fest 49 General Admission").await;
    let ben = link_code(&app.ok(BEN, "mylink").await);
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let ana_winter = link_code(&app.ok(ANA, "mylink winter-fest").await);
    let t = "2099-05-01T10:00:00Z";
    import(
        &app,
        "orders.csv",
        &[
            order("S1", "summer-fest", &ben, ZOE, 2, t),
            order("S2", "summer-fest", &ana, YAN, 1, t),
            // Bought with Ana's own address through her link: a self-referral.
            order("S3", "summer-fest", &ana, ("Ana", ANA, ""), 1, t),
            order("W1", "winter-fest", &ana_winter, ZOE, 3, t),
        ],
    )
    .await;
    assert_eq!(
        app.ok(OWNER, "retention").await.lines().next().unwrap(),
        "Acme Events keeps its buyers' name, email and phone 90 days after each event. Numbers, attribution and self-referral flags are kept. Change it with `retention <days>` or `retention never`."
    );

    // summer-fest starts 2099-06-01 18:00 Berlin = 16:00 UTC; 90 days later is 2099-08-30 16:00 UTC.
    clock.advance(Utc.with_ymd_and_hms(2099, 8, 30, 15, 59, 0).unwrap() - clock.now());
    let stats_before = app.ok(OWNER, "stats summer-fest").await;
    let export_before = export_rows(&app, OWNER, "export summer-fest").await;
    let before = app.dump().await;
    let chores = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(chores.erased_orders, 0);
    assert_eq!(before, app.dump().await, "nothing is erased a minute early");

    clock.advance(chrono::Duration::minutes(1));
    let chores = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(chores.erased_orders, 3, "the three summer-fest orders");
    let rows = buyers(&app).await;
    let by_id = |id: &str| rows.iter().find(|r| r.0 == id).unwrap().clone();
    for id in ["S1", "S2", "S3"] {
        assert_eq!(by_id(id), (id.to_string(), None, None, None, true), "{id}");
    }
    assert_eq!(
        by_id("W1"),
        (
            "W1".into(),
            Some(ZOE.0.into()),
            Some(ZOE.1.into()),
            Some(ZOE.2.into()),
            false
        ),
        "winter-fest is months from its date"
    );
    // The numbers are the same; the self-referral flag stayed.
    assert_eq!(app.ok(OWNER, "stats summer-fest").await, stats_before);
    let self_referral: bool = app
        .db()
        .await
        .scalar("SELECT self_referral FROM orders WHERE external_id = 'S3'", &[])
        .await;
    assert!(self_referral);
    // The export has the same rows and amounts; the buyer cells say the data was erased.
    let export_after = export_rows(&app, OWNER, "export summer-fest").await;
    assert_eq!(export_after.len(), export_before.len());
    let col = |name: &str| export_before[0].iter().position(|h| h == name).unwrap();
    let (name, email, phone) = (col("buyer_name"), col("buyer_email"), col("buyer_phone"));
    for (a, b) in export_before.iter().zip(&export_after).skip(1) {
        for i in 0..a.len() {
            if i == name {
                assert_eq!(b[i], "(erased 2099-08-30)");
            } else if i == email || i == phone {
                assert_eq!(b[i], "");
            } else {
                assert_eq!(a[i], b[i], "column {}", export_before[0][i]);
            }
        }
    }

    // A second round finds nothing; a later report of an erased order does not bring
    // its buyer back, though its refund counts.
    let again = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(again.erased_orders, 0);
    import(
        &app,
        "again.csv",
        &[format!(
            "S1,summer-fest,refunded,2099-05-01T10:00:00Z,2099-08-30T17:00:00Z,{ben},{},{},{},General Admission,2,4900,EUR",
            ZOE.0, ZOE.1, ZOE.2
        )],
    )
    .await;
    assert_eq!(
        by_id("S1"),
        buyers(&app).await.into_iter().find(|r| r.0 == "S1").unwrap()
    );
    let status: String = app
        .db()
        .await
        .scalar("SELECT status FROM orders WHERE external_id = 'S1'", &[])
        .await;
    assert_eq!(status, "refunded");

    // The owner sees the erasure in the audit log, done by promoterd itself.
    let audit = app.ok(OWNER, "audit").await;
    assert!(
        audit.contains("buyer.erased") && audit.contains("summer-fest: 3 orders, 90 days after the event"),
        "{audit}"
    );
}

#[tokio::test]
async fn retention_never_keeps_data_and_a_shorter_one_erases_sooner() {
    let clock = Clock::fixed(Utc.with_ymd_and_hms(2099, 5, 1, 12, 0, 0).unwrap());
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let ben = link_code(&app.ok(BEN, "mylink").await);
    import(
        &app,
        "o.csv",
        &[order("S1", "summer-fest", &ben, ZOE, 1, "2099-05-01T10:00:00Z")],
    )
    .await;
    assert!(app.ok(OWNER, "retention never").await.contains("never by time"));
    clock.advance(chrono::Duration::days(3000));
    promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(buyers(&app).await[0].2.as_deref(), Some(ZOE.1), "never means never");
    // 10 days after the event, measured from 2099-06-01 16:00 UTC: long past now.
    app.ok(OWNER, "retention 10").await;
    let c = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(c.erased_orders, 1);
    assert!(buyers(&app).await[0].4);
    let audit = app.ok(OWNER, "audit").await;
    assert!(audit.contains("retention") && audit.contains("10 days"), "{audit}");
}

#[tokio::test]
async fn forgetbuyer_erases_exactly_that_buyers_orders_in_that_organization() {
    let app = TestApp::new().await;
    app.world().await;
    let ben = link_code(&app.ok(BEN, "mylink").await);
    let t = "2099-05-01T10:00:00Z";
    import(
        &app,
        "o.csv",
        &[
            order("Z1", "summer-fest", &ben, ZOE, 1, t),
            order("Z2", "summer-fest", "", ("Zoe Q", "ZOE@Buyer.Test", ""), 2, t),
            order("Y1", "summer-fest", &ben, YAN, 1, t),
        ],
    )
    .await;
    // Another organization where Zoe bought too.
    let out = app.bin(&["org", "create", "Other Org", "--owner", "olga@other.test"]);
    assert!(out.ok, "{out:?}");
    app.ok(
        "olga@other.test",
        "newevent other-fest \"2099-07-01 18:00\" https://tickets.other.test/ Other Fest",
    )
    .await;
    app.ok("olga@other.test", "newtickettype other-fest 10 General Admission")
        .await;
    import(&app, "p.csv", &[order("O1", "other-fest", "", ZOE, 1, t)]).await;

    // Nobody but Acme's organizers may erase Acme's buyers.
    refused(&app, BEN, "forgetbuyer zoe@buyer.test", "organizer").await;
    refused(&app, "nobody@x.test", "forgetbuyer zoe@buyer.test", "").await;

    let before = app.dump().await;
    let before_rows = buyers(&app).await;
    let reply = app.ok(ADMIN, "forgetbuyer zoe@buyer.test").await;
    assert!(reply.contains("from 2 order(s) of Acme Events"), "{reply}");
    let after = app.dump().await;
    let after_rows = buyers(&app).await;
    let changed: Vec<&str> = before_rows
        .iter()
        .zip(&after_rows)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();
    assert_eq!(
        changed,
        ["Z1", "Z2"],
        "exactly Zoe's Acme orders, any case of her address"
    );
    for r in after_rows.iter().filter(|r| r.0.starts_with('Z')) {
        assert_eq!((&r.1, &r.2, &r.3, r.4), (&None, &None, &None, true));
    }
    // Every other table is as it was, but for one audit line that does not name her.
    for table in [
        "order_lines",
        "sales_totals",
        "order_totals",
        "daily_sales",
        "links",
        "people",
        "outbox",
    ] {
        assert_eq!(
            TestApp::dump_section(&before, table),
            TestApp::dump_section(&after, table),
            "{table}"
        );
    }
    let audit = TestApp::dump_section(&after, "audit_log");
    assert!(audit.contains("'buyer.erased'|'on request: 2 orders'"), "{audit}");
    assert!(!audit.to_lowercase().contains("zoe"), "{audit}");

    // Again: nothing more to erase, said plainly; the orders stay as they are.
    let reply = app.ok(OWNER, "forgetbuyer zoe@buyer.test").await;
    assert!(reply.contains("Nothing changed"), "{reply}");
    assert_eq!(buyers(&app).await, after_rows);
}

#[tokio::test]
async fn mydata_holds_the_persons_rows_and_nobody_elses() {
    let app = TestApp::new().await;
    app.world().await;
    app.link_chat(Platform::Telegram, "4242", ANA).await;
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let ben = link_code(&app.ok(BEN, "mylink").await);
    let t = "2099-05-01T10:00:00Z";
    import(
        &app,
        "o.csv",
        &[
            order("A1", "summer-fest", &ana, ZOE, 2, t),
            order("B1", "summer-fest", &ben, ("Ana Buying", ANA, "+1 555 0100"), 1, t),
        ],
    )
    .await;
    // Only a person known here, linked in full, gets a file.
    chat_refused(&app, Platform::Telegram, "9999", "mydata", "").await;

    let r = app.chat(Platform::Telegram, "4242", "mydata").await;
    assert!(!r.is_error, "{}", r.to_plain());
    assert_eq!(r.attachments.len(), 1);
    let file = &r.attachments[0];
    assert_eq!(file.mime, "application/json");
    let text = String::from_utf8(file.data.clone()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["person"][0]["email"], ANA);
    assert_eq!(doc["chat_accounts"][0]["account_id"], "4242");
    assert_eq!(doc["memberships"][0]["organization"], "Acme Events");
    let codes: Vec<&str> = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&ana.as_str()), "{codes:?}");
    assert_eq!(
        doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["code"] == ana.as_str())
            .unwrap()["orders"],
        1
    );
    // Her own purchase (through Ben's link) is hers to see.
    let bought = doc["orders_as_buyer"].as_array().unwrap();
    assert_eq!(bought.len(), 1);
    assert_eq!(bought[0]["order_id"], "B1");
    assert_eq!(bought[0]["tickets"], 1);
    assert!(doc["invites_received"].as_array().unwrap().len() == 1);
    // Nobody else's data: not Ben, not his link, not the buyer of her own sale.
    for other in [BEN, ben.as_str(), "zoe", "Zoe", OWNER, ADMIN] {
        assert!(!text.contains(other), "mydata holds `{other}`:\n{text}");
    }
}

#[tokio::test]
async fn leave_stops_the_links_and_keeps_the_numbers() {
    let app = TestApp::new().await;
    app.world().await;
    let ben = link_code(&app.ok(BEN, "mylink").await);
    import(
        &app,
        "o.csv",
        &[order("B1", "summer-fest", &ben, ZOE, 2, "2099-05-01T10:00:00Z")],
    )
    .await;
    let server = app.serve().await;
    let url = format!("http://{}/t/{ben}", server.addr);
    assert_eq!(client().get(&url).send().await.unwrap().status(), StatusCode::FOUND);
    let stats_before = app.ok(OWNER, "stats summer-fest").await;

    // Refusals change nothing: an organizer who promotes nothing, a name Ana does not
    // promote, one event of Ana's organization-wide membership.
    refused(&app, OWNER, "leave", "You do not promote for any organization").await;
    refused(&app, ANA, "leave winter-fest", "You do not promote `winter-fest`").await;
    refused(&app, ANA, "leave summer-fest", "ends all of it").await;

    let reply = app.ok(BEN, "leave summer-fest").await;
    assert!(reply.contains("You no longer promote Summer Fest"), "{reply}");
    wait_until("Ben's link stops redirecting", Duration::from_secs(10), || async {
        client().get(&url).send().await.unwrap().status() == StatusCode::NOT_FOUND
    })
    .await;
    // His sales stay, under his name, marked as having left.
    let stats_after = app.ok(OWNER, "stats summer-fest").await;
    assert_eq!(
        row(&stats_after, &format!("{BEN} (left)")),
        row(&stats_before, BEN),
        "{stats_after}"
    );
    let promoters = app.ok(OWNER, "promoters").await;
    assert_eq!(row(&promoters, BEN).last().unwrap(), "left", "{promoters}");
    refused(&app, BEN, "mylink", "not an active promoter").await;
    assert!(app.ok(OWNER, "audit").await.contains("promoter.left"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn audit_lists_a_buyer_export_and_only_the_owner_sees_it() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(ADMIN, "export summer-fest").await;
    let audit = app.ok(OWNER, "audit 7").await;
    let line = audit
        .lines()
        .find(|l| l.contains(ADMIN) && l.contains("export"))
        .unwrap_or_else(|| panic!("no export by the admin in:\n{audit}"));
    assert!(line.contains("summer-fest 0 rows"), "{line}");
    assert!(
        audit.contains("promoter.invited") && audit.contains("organizer.invited"),
        "{audit}"
    );
    refused(&app, ADMIN, "audit", "owner").await;
    refused(&app, BEN, "audit", "organizer").await;
    refused(&app, ADMIN, "retention 30", "owner").await;
    refused(&app, BEN, "retention never", "organizer").await;
}

/// An organization as migration 0012 leaves one that existed before it (retention in
/// its grace until 2099-12-31), with one order of an event long past.
async fn upgraded(clock: &Clock) -> TestApp {
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let ben = link_code(&app.ok(BEN, "mylink").await);
    import(
        &app,
        "o.csv",
        &[order("G1", "summer-fest", &ben, ZOE, 1, "2099-05-01T10:00:00Z")],
    )
    .await;
    let db = app.db().await;
    db.exec(
        "UPDATE organizations SET buyer_retention_from = '2099-12-31T12:00:00Z'",
        &[],
    )
    .await;
    db.close().await;
    app
}

async fn erased_now(app: &TestApp) -> u64 {
    promoterd::housekeeping::run_once(&app.core)
        .await
        .unwrap()
        .erased_orders
}

/// Organizations that existed before retention came get a grace period (set by
/// migration 0012) before anything kept until then is erased; choosing a retention
/// ends it.
#[tokio::test]
async fn an_upgraded_organization_has_a_grace_period_until_its_owner_chooses() {
    let start = Utc.with_ymd_and_hms(2099, 12, 1, 12, 0, 0).unwrap();
    let clock = Clock::fixed(start);
    let app = upgraded(&clock).await;
    // summer-fest ended more than 90 days ago, but the grace runs until 2099-12-31.
    assert_eq!(erased_now(&app).await, 0);
    let shown = app.ok(OWNER, "retention").await;
    assert!(
        shown.contains("Nothing is erased before 2099-12-31 13:00 (Europe/Berlin)"),
        "{shown}"
    );
    clock.advance(chrono::Duration::days(31));
    assert_eq!(erased_now(&app).await, 1);

    // Another organization in its grace: the owner sets 90 days, and it applies at once.
    let app = upgraded(&Clock::fixed(start)).await;
    app.ok(OWNER, "retention 90").await;
    assert!(!app.ok(OWNER, "retention").await.contains("Nothing is erased before"));
    assert_eq!(erased_now(&app).await, 1);
}
