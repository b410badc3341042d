//! Commissions (issue 18) beyond the walk-through: who may see and do what, self-referrals
//! and `recompute`, the payout files, webhook deliveries in one group commit, digests.

use super::commissions::{books_balance, paid, sell};
use super::http::{post_order, signature};
use super::support::*;
use chrono::{Duration, TimeZone, Utc};
use promoterd::clock::Clock;
use promoterd::commands::Platform;
use serde_json::json;

const D2: &str = "2099-05-02T10:00:00Z";

/// The standard world with 10% on summer-fest, Ana's A1 (2 GA, 9.80) and Ben's B1 (1 VIP,
/// 12.95), on a fixed clock at 2099-05-01 12:00 UTC.
async fn sold() -> (TestApp, Clock, String, String) {
    let clock = Clock::fixed(Utc.with_ymd_and_hms(2099, 5, 1, 12, 0, 0).unwrap());
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let ben = link_code(&app.ok(BEN, "mylink").await);
    app.ok(OWNER, "setcommission 10% summer-fest").await;
    sell(
        &app,
        &[
            paid("A1", "summer-fest", D2, &ana, "General Admission", 2, 4900),
            paid("B1", "summer-fest", D2, &ben, "VIP", 1, 12950),
        ],
    )
    .await;
    (app, clock, ana, ben)
}

#[tokio::test]
async fn promoters_see_only_their_own_earnings_and_organizer_commands_are_refused() {
    let (app, clock, _, _) = sold().await;
    for line in [
        "payouts",
        "markpaid ana@promo.test",
        "setcommission 50% summer-fest",
        "commissions",
        "commissionpolicy --hold 0",
        "recompute summer-fest",
        "payoutfile transfers",
        "cancelevent summer-fest",
    ] {
        refused(&app, BEN, line, "is for organizers").await;
    }
    // Ben asks about Ana's order: the same answer as for an order that does not exist.
    refused(&app, BEN, "why A1", "None of your orders is `A1`").await;
    refused(&app, BEN, "why NOPE", "None of your orders is `NOPE`").await;
    let ben = app.ok(BEN, "myearnings").await;
    assert!(field(&ben, "Pending").starts_with("12.95 EUR"), "{ben}");
    assert!(!ben.contains("9.80") && !ben.contains("ana@"), "{ben}");
    let why = app.ok(BEN, "why B1").await;
    assert!(
        why.contains("12.95 EUR") && !why.contains("buyer@buyer.test") && !why.contains("Buyer B1"),
        "{why}"
    );
    // Her own data file holds her commissions and nobody else's.
    let out = app.ok(ANA, "mydata").await;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(saved_file(&out)).unwrap()).unwrap();
    let mine: Vec<i64> = doc["commissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["net"].as_i64().unwrap())
        .collect();
    assert_eq!(mine, [980]);
    // The admin organizer may; another organization's owner learns nothing and changes nothing.
    assert!(app.ok(ADMIN, "payouts").await.contains("ana@promo.test"));
    assert!(
        app.bin(&["org", "create", "Rival Shows", "--owner", "rival@rival.test"])
            .ok
    );
    let rival = app.ok("rival@rival.test", "payouts").await;
    assert!(rival.contains("No commissions") && !rival.contains("ana@"), "{rival}");
    clock.advance(Duration::days(60));
    let before = app.dump().await;
    let r = app.ok("rival@rival.test", "markpaid ana@promo.test").await;
    assert!(r.contains("Nothing is due"), "{r}");
    assert_eq!(before, app.dump().await);
    // Bad input changes nothing either.
    refused(&app, OWNER, "setcommission 10%% summer-fest", "is not a rate").await;
    refused(&app, OWNER, "setcommission 101% summer-fest", "more than 100%").await;
    refused(&app, OWNER, "setcommission 10% --type VIP", "Name the event").await;
    refused(
        &app,
        OWNER,
        "setcommission 10% summer-fest --type Balcony",
        "no ticket type `Balcony`",
    )
    .await;
    refused(&app, OWNER, "setcommission 10% --promoter zed@x.test", "not a promoter").await;
    refused(
        &app,
        OWNER,
        "setcommission off summer-fest --type VIP",
        "no commission rule",
    )
    .await;
    refused(
        &app,
        OWNER,
        "markpaid ana@promo.test 5",
        "Give the transfer's reference",
    )
    .await;
    refused(&app, OWNER, "markpaid ana@promo.test 500 TX-9", "more than that").await;
    refused(&app, OWNER, "markpaid nobody@x.test", "has no commissions").await;
    refused(&app, OWNER, "cancelevent nope-fest", "no event `nope-fest`").await;
    refused(
        &app,
        OWNER,
        "payoutfile transfers summer-fest",
        "covers all of Acme Events",
    )
    .await;
    books_balance(&app).await;
}

#[tokio::test]
async fn self_referrals_earn_once_allowed_and_recompute_applies_todays_rules() {
    let (app, clock, ana, _) = sold().await;
    let mut s1 = paid("S1", "summer-fest", D2, &ana, "General Admission", 1, 4900);
    s1.email = ANA;
    sell(&app, &[s1]).await;
    clock.advance(Duration::days(1)); // 2099-05-02 12:00
    app.ok(OWNER, "commissionpolicy --self on").await;
    let mut s2 = paid(
        "S2",
        "summer-fest",
        "2099-05-03T10:00:00Z",
        &ana,
        "General Admission",
        1,
        4900,
    );
    s2.email = ANA;
    sell(&app, &[s2]).await;
    // S1 was placed before self-referrals earned: 0; S2 after: 4.90. Ana: 9.80 + 4.90.
    let mine = app.ok(ANA, "myearnings").await;
    assert!(field(&mine, "Pending").starts_with("14.70 EUR"), "{mine}");
    assert!(app.ok(ANA, "why S1").await.contains("earned no commission"));
    // Today's rule is 20%: recompute applies it to every earlier order, as adjustments.
    clock.advance(Duration::days(1));
    app.ok(OWNER, "setcommission 20% summer-fest").await;
    let entries_before: i64 = count(&app, "SELECT count(*) FROM commission_entries").await;
    let r = app.ok(OWNER, "recompute summer-fest").await;
    // Ana: A1 19.60 + S1 9.80 + S2 9.80 = 39.20; Ben: B1 25.90. 9.80 + 4.90 + 12.95 = 27.65 before.
    assert!(
        r.contains("4 adjustment(s)") && r.contains("27.65 EUR → 65.10 EUR"),
        "{r}"
    );
    let mine = app.ok(ANA, "myearnings").await;
    assert!(field(&mine, "Pending").starts_with("39.20 EUR"), "{mine}");
    let why = app.ok(ANA, "why A1").await;
    assert!(
        why.contains("recomputed") && why.contains("earns you 19.60 EUR now"),
        "{why}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM commission_entries").await,
        entries_before + 4
    );
    // Nothing is rewritten: a second recompute finds nothing to adjust.
    let again = app.ok(OWNER, "recompute summer-fest").await;
    assert!(again.contains("0 adjustment(s)"), "{again}");
    books_balance(&app).await;
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    app.db().await.scalar(sql, &[]).await
}

#[tokio::test]
async fn the_payout_files_hold_what_a_bulk_transfer_needs_and_every_entry() {
    let (app, clock, _, _) = sold().await;
    app.ok(ANA, "name =HYPERLINK(\"http://x.test\")").await;
    clock.advance(Duration::days(40));
    let out = app.ok(OWNER, "payoutfile transfers").await;
    let mut r = csv::Reader::from_path(saved_file(&out)).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec!["name", "email", "amount", "currency", "reference"]
    );
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let ana = rows.iter().find(|r| r[1] == ANA).unwrap();
    assert_eq!((ana[2].as_str(), ana[3].as_str()), ("9.80", "EUR"));
    assert!(ana[0].starts_with('\''), "a formula is neutralized: {}", ana[0]);
    // `markpaid` without a reference records the one the file suggested.
    let paid = app.ok(OWNER, "markpaid ana@promo.test").await;
    assert!(paid.contains(&format!("reference {}.", ana[4])), "{paid}");
    // Ben's suggested reference typed by hand for part of it: the next default steps past it.
    let ben = rows.iter().find(|r| r[1] == BEN).unwrap().clone();
    app.ok(OWNER, &format!("markpaid ben@promo.test 1 {}", ben[4])).await;
    let next = app.ok(OWNER, "markpaid ben@promo.test 1 TX-2").await;
    assert!(next.contains("reference TX-2"), "{next}");
    let rest = app.ok(OWNER, "markpaid ben@promo.test").await;
    let stepped = ben[4].replace("-1", "-3");
    assert!(
        rest.contains(&format!(
            "Recorded: 10.95 EUR paid to ben@promo.test, reference {stepped}."
        )),
        "{rest}"
    );
    let out = app.ok(OWNER, "payoutfile transfers").await;
    let rows = csv::Reader::from_path(saved_file(&out)).unwrap().records().count();
    assert_eq!(rows, 0, "nobody is due any more");
    let out = app.ok(OWNER, "payoutfile detail summer-fest").await;
    let mut r = csv::Reader::from_path(saved_file(&out)).unwrap();
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    let orders: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[4].as_str(), r[6].as_str(), r[8].as_str()))
        .collect();
    assert_eq!(orders, [("A1", "earned", "9.80"), ("B1", "earned", "12.95")]);
    assert!(app.ok(OWNER, "audit").await.contains("payoutfile"));
    // The event is postponed after Ana was paid: her paid 9.80 stays against its 9.80, not
    // a clawback of one and a pending amount of the other.
    app.ok(OWNER, "editevent summer-fest starts \"2099-09-01 18:00\"").await;
    let ana = row(&app.ok(OWNER, "payouts").await, ANA);
    assert_eq!(
        [&ana[0], &ana[1], &ana[3], &ana[4]],
        ["0.00 EUR", "0.00 EUR", "9.80 EUR", "0.00 EUR"]
    );
}

fn delivery(id: &str, kind: &str, code: &str, updated: &str, quantity: i64) -> String {
    json!({
        "id": format!("dlv-{id}-{kind}-{updated}"),
        "type": kind,
        "order": {
            "id": id, "event": "summer-fest", "ref": code,
            "created_at": "2099-05-02T10:00:00Z", "updated_at": updated,
            "buyer": {"name": "Webhook Buyer", "email": "wb@buyer.test"},
            "lines": [{"ticket_type": "General Admission", "quantity": quantity, "unit_price": 4900, "currency": "EUR"}],
        }
    })
    .to_string()
}

#[tokio::test]
async fn webhook_orders_accrue_in_one_group_commit_and_a_refund_reverses_them_once() {
    let (app, _, ana, _) = sold().await;
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    let t = app.core.clock.now().timestamp(); // the server checks signatures on the core's clock
    let posts = (0..40).map(|i| {
        let body = delivery(&format!("W{i}"), "order.created", &ana, "2099-05-02T10:00:00Z", 1);
        let base = base.clone();
        async move { post_order(&base, &body, Some(signature(NEW_SECRET, t, &body))).await }
    });
    for (status, body) in futures::future::join_all(posts).await {
        assert!(status.is_success(), "{status} {body}");
    }
    // 9.80 (A1) + 40 × 4.90 = 205.80.
    assert!(field(&app.ok(ANA, "myearnings").await, "Pending").starts_with("205.80 EUR"));
    for _ in 0..2 {
        let body = delivery("W7", "order.refunded", &ana, "2099-05-03T10:00:00Z", 1);
        let (status, answer) = post_order(&base, &body, Some(signature(NEW_SECRET, t, &body))).await;
        assert!(status.is_success(), "{status} {answer}");
    }
    assert!(field(&app.ok(ANA, "myearnings").await, "Pending").starts_with("200.90 EUR"));
    books_balance(&app).await;
}

#[tokio::test]
async fn digests_show_earnings_next_to_sales() {
    let (app, clock, _, _) = sold().await;
    for who in [ANA, OWNER] {
        app.ok(who, "digest daily").await;
    }
    clock.advance(Duration::days(1));
    app.core.run_digests().await.unwrap();
    let ana = &queued(&app, ANA, "digest").await[0];
    assert!(
        ana.body
            .contains("Your commissions: 0.00 EUR due, 9.80 EUR pending, 0.00 EUR paid"),
        "{}",
        ana.body
    );
    assert!(!ana.body.contains("12.95"), "{}", ana.body);
    let owner = &queued(&app, OWNER, "digest").await[0];
    assert!(
        owner
            .body
            .contains("Promoter commissions: 0.00 EUR due now, 22.75 EUR pending"),
        "{}",
        owner.body
    );
}

#[tokio::test]
async fn an_invite_only_chat_account_sees_the_earnings_of_its_own_membership_only() {
    let (app, _, _, _) = sold().await;
    app.ok(
        OWNER,
        "newevent winter-fest \"2099-12-01 18:00\" https://tickets.acme.test/w Winter Fest",
    )
    .await;
    app.ok(OWNER, "setcommission 10%").await;
    // Cara joins winter-fest from Telegram with the invite's code (the account holds that
    // membership only), then summer-fest by mail.
    app.ok(OWNER, "invite cara@promo.test winter-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    let r = app.chat(Platform::Telegram, "5151", &format!("accept {code}")).await;
    assert!(!r.is_error, "{}", r.to_plain());
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    app.ok("cara@promo.test", &format!("accept {code}")).await;
    let summer = link_code(&app.ok("cara@promo.test", "mylink summer-fest").await);
    sell(&app, &[paid("K1", "summer-fest", D2, &summer, "VIP", 1, 12950)]).await;
    // Two events: the hint keeps the order in its place.
    refused(
        &app,
        "cara@promo.test",
        "why K1",
        "Which event? winter-fest, summer-fest — e.g. `why <order> winter-fest`",
    )
    .await;
    let full = app.ok("cara@promo.test", "why K1 summer-fest").await;
    assert!(full.contains("12.95 EUR"), "{full}");
    // From the invite-only account: her summer-fest order and earnings stay out of sight.
    let before = app.dump().await;
    let r = app.chat(Platform::Telegram, "5151", "why K1").await;
    assert!(
        r.is_error && r.to_plain().contains("None of your orders is `K1`"),
        "{}",
        r.to_plain()
    );
    let r = app.chat(Platform::Telegram, "5151", "myearnings winter-fest").await;
    let text = r.to_plain();
    assert!(
        !r.is_error && !text.contains("12.95") && !text.contains("All events"),
        "{text}"
    );
    // No entries yet: the due date is the event's start plus the holding period (5 days).
    assert!(
        field(&text, "Pending").starts_with("0.00 EUR (due on 2099-12-06"),
        "{text}"
    );
    assert_eq!(before, app.dump().await);
}

#[tokio::test]
async fn a_ticket_type_with_a_rule_and_no_sales_can_still_be_removed() {
    let (app, _, _, _) = sold().await;
    app.ok(OWNER, "newtickettype summer-fest 15 Balcony").await;
    app.ok(OWNER, "setcommission 1 summer-fest --type Balcony").await;
    app.ok(OWNER, "setcommission 2 summer-fest --type Balcony").await;
    let r = app.ok(OWNER, "removeticket summer-fest Balcony").await;
    assert!(
        !app.ok(OWNER, "commissions summer-fest").await.contains("Balcony"),
        "{r}"
    );
    // A type with sales stays, and so do its rules.
    refused(&app, OWNER, "removeticket summer-fest VIP", "VIP").await;
}

#[tokio::test]
async fn a_promoter_who_left_or_was_revoked_still_sees_what_they_earned() {
    let (app, _, _, _) = sold().await;
    app.ok(ANA, "leave").await;
    app.ok(OWNER, "revoke ben@promo.test").await;
    // No longer promoters: their numbers commands are refused …
    refused(&app, ANA, "mystats summer-fest", "not a promoter").await;
    // … and what they earned is still theirs to see, and nobody else's.
    let ana = app.ok(ANA, "myearnings").await;
    assert!(field(&ana, "Pending").starts_with("9.80 EUR"), "{ana}");
    assert!(!ana.contains("12.95"), "{ana}");
    assert!(app.ok(ANA, "why A1").await.contains("earns you 9.80 EUR now"));
    refused(&app, ANA, "why B1", "None of your orders is `B1`").await;
    let ben = app.ok(BEN, "myearnings summer-fest").await;
    assert!(field(&ben, "Pending").starts_with("12.95 EUR"), "{ben}");
    // Someone who never promoted learns nothing.
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    app.ok("cara@promo.test", &format!("ignore {code}")).await;
    refused(&app, "cara@promo.test", "myearnings summer-fest", "not a promoter").await;
    refused(&app, ADMIN, "myearnings summer-fest", "").await;
}
