//! Commissions and payouts (issue 18) on a controllable clock: one event walked through
//! rates, an override, a self-referral, organization and sub-promoter links, refunds
//! before approval and after payout, a rule change, a cancelled event; every figure
//! against a hand computation, and the books checked at every step.

use super::support::*;
use chrono::{Duration, TimeZone, Utc};
use promoterd::clock::Clock;
use promoterd::domain::commission;

const HEADER: &str = "order_id,event,status,ordered_at,updated_at,ref,buyer_name,buyer_email,buyer_phone,\
                      ticket_type,quantity,refunded_quantity,unit_price_minor,currency";

/// One order line of the import file.
pub(super) struct Sale<'a> {
    pub id: &'a str,
    pub event: &'a str,
    pub status: &'a str,
    pub at: &'a str,
    pub updated: &'a str,
    pub code: &'a str,
    pub email: &'a str,
    pub ticket_type: &'a str,
    pub quantity: u32,
    pub refunded: u32,
    pub price: i64,
}

impl Sale<'_> {
    fn line(&self) -> String {
        format!(
            "{},{},{},{},{},{},Buyer {},{},,{},{},{},{},EUR",
            self.id,
            self.event,
            self.status,
            self.at,
            self.updated,
            self.code,
            self.id,
            self.email,
            self.ticket_type,
            self.quantity,
            self.refunded,
            self.price
        )
    }
}

/// A paid sale of `quantity` tickets at `at` (also its update time).
pub(super) fn paid<'a>(
    id: &'a str,
    event: &'a str,
    at: &'a str,
    code: &'a str,
    tt: &'a str,
    quantity: u32,
    price: i64,
) -> Sale<'a> {
    Sale {
        id,
        event,
        status: "paid",
        at,
        updated: at,
        code,
        email: "buyer@buyer.test",
        ticket_type: tt,
        quantity,
        refunded: 0,
        price,
    }
}

/// Imports sales through the real binary.
pub(super) async fn sell(app: &TestApp, sales: &[Sale<'_>]) {
    let path = app.path("sales.csv");
    let lines: Vec<String> = sales.iter().map(Sale::line).collect();
    std::fs::write(&path, format!("{HEADER}\n{}\n", lines.join("\n"))).unwrap();
    let out = app.bin(&["import-orders", path.to_str().unwrap()]);
    assert!(out.ok, "{out:?}");
}

/// For every person with entries: the entries sum to approved + pending + paid −
/// clawback, and the running totals equal a recount of the ledger.
pub(super) async fn books_balance(app: &TestApp) {
    let db = app.db().await;
    let sums: Vec<(i64, i64)> = db
        .rows("SELECT person_id, CAST(sum(amount_minor) AS BIGINT) FROM commission_entries GROUP BY person_id")
        .await;
    let org = app.store.org_ids().await.unwrap()[0];
    for (person, sum) in sums {
        let rows = app
            .store
            .commission_ledgers(org, promoterd::domain::PersonId(person))
            .await
            .unwrap();
        let ledgers: Vec<_> = rows.iter().map(|r| r.ledger()).collect();
        let b: i64 = commission::balances(&ledgers, app.core.clock.now())
            .iter()
            .map(|b| b.approved + b.pending + b.paid - b.clawback)
            .sum();
        assert_eq!(
            sum, b,
            "person {person}: entries vs approved + pending + paid - clawback"
        );
    }
    // Both running totals against a recount of the ledger.
    for (what, sql) in [
        (
            "running totals",
            "SELECT count(*) FROM (SELECT event_id, person_id, ticket_type_id, sum(amount_minor) FROM \
             commission_entries GROUP BY 1, 2, 3 EXCEPT SELECT event_id, person_id, ticket_type_id, amount_minor \
             FROM commission_totals) AS d",
        ),
        (
            "per-event balances",
            "SELECT count(*) FROM (SELECT person_id, event_id, sum(amount_minor) FROM commission_entries GROUP BY 1, 2 \
             EXCEPT SELECT person_id, event_id, amount_minor FROM commission_balances) AS d",
        ),
    ] {
        let drift: i64 = db.scalar(sql, &[]).await;
        assert_eq!(drift, 0, "{what} differ from a recount");
    }
}

/// `payouts` row of a promoter: [due now, pending, due on, paid, clawback].
async fn payout_row(app: &TestApp, who: &str) -> Vec<String> {
    row(&app.ok(OWNER, "payouts").await, who)
}

/// Moves the fixed clock to an RFC 3339 time (forward only).
fn to(clock: &Clock, s: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    assert!(at >= clock.now(), "the clock only moves forward");
    clock.advance(at - clock.now());
}

#[tokio::test]
async fn one_event_walked_through_from_first_sale_to_clawback() {
    let clock = Clock::fixed(Utc.with_ymd_and_hms(2099, 5, 1, 12, 0, 0).unwrap());
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let ben = link_code(&app.ok(BEN, "mylink").await);
    let carl = link_code(&app.ok(ANA, "newlink flyers summer-fest --for Carl").await);
    let venue = link_code(&app.ok(OWNER, "orglink summer-fest Venue newsletter").await);
    app.ok(OWNER, "setcommission 10% summer-fest").await;
    app.ok(OWNER, "setcommission 2+5% summer-fest --type VIP").await;
    let set = app
        .ok(OWNER, "setcommission 15% summer-fest --promoter ben@promo.test")
        .await;
    assert!(set.contains("15% of the net price"), "{set}");
    let (d2, d4) = ("2099-05-02T10:00:00Z", "2099-05-04T10:00:00Z");
    let mut own = paid("S1", "summer-fest", d2, &ana, "General Admission", 1, 4900);
    own.email = ANA;
    sell(
        &app,
        &[
            paid("A1", "summer-fest", d2, &ana, "General Admission", 2, 4900), // 10% of 98.00 = 9.80
            paid("A2", "summer-fest", d2, &ana, "VIP", 1, 12950), // 2.00 + 5% of 129.50 = 6.475 → 6.48: 8.48
            paid("B1", "summer-fest", d2, &ben, "VIP", 1, 12950), // Ben 15%: 19.425 → 19.43
            paid("B2", "summer-fest", d2, &ben, "General Admission", 3, 4900), // 15% of 147.00 = 22.05
            own,                                                  // self-referral: nothing
            paid("O1", "summer-fest", d2, &venue, "General Admission", 2, 4900), // organization link: nothing
            paid("C1", "summer-fest", d2, &carl, "General Admission", 1, 4900), // Carl's sale is Ana's: 4.90
        ],
    )
    .await;
    books_balance(&app).await;
    // Ana: 9.80 + 8.48 + 4.90 = 23.18; Ben: 19.43 + 22.05 = 41.48, all pending.
    assert_eq!(payout_row(&app, ANA).await[..2], ["0.00 EUR", "23.18 EUR"]);
    assert_eq!(payout_row(&app, BEN).await[..2], ["0.00 EUR", "41.48 EUR"]);
    let why = app.ok(ANA, "why S1").await;
    assert!(why.contains("earned no commission"), "{why}");

    // A rule change mid-sale: new orders at 20%, earlier ones keep 10%; Ben's own rate stays.
    clock.advance(Duration::days(2));
    app.ok(OWNER, "setcommission 20% summer-fest").await;
    sell(
        &app,
        &[
            paid("A3", "summer-fest", d4, &ana, "General Admission", 1, 4900), // 20%: 9.80
            paid("B3", "summer-fest", d4, &ben, "General Admission", 1, 4900), // 15%: 7.35
        ],
    )
    .await;
    // A partial refund before approval: one of A1's two tickets (−4.90).
    let mut a1 = paid("A1", "summer-fest", d2, &ana, "General Admission", 2, 4900);
    (a1.status, a1.refunded, a1.updated) = ("partially_refunded", 1, "2099-05-05T10:00:00Z");
    sell(&app, &[a1]).await;
    books_balance(&app).await;
    // Ana: 23.18 + 9.80 − 4.90 = 28.08; Ben: 41.48 + 7.35 = 48.83.
    assert_eq!(payout_row(&app, ANA).await[..2], ["0.00 EUR", "28.08 EUR"]);
    assert_eq!(payout_row(&app, BEN).await[..2], ["0.00 EUR", "48.83 EUR"]);
    let why = app.ok(ANA, "why A1").await;
    assert!(
        why.contains("9.80 EUR") && why.contains("-4.90 EUR") && why.contains("earns you 4.90 EUR now"),
        "{why}"
    );
    let mine = app.ok(ANA, "myearnings summer-fest").await;
    assert_eq!(field(&mine, "Due to you"), "0.00 EUR");
    assert!(
        field(&mine, "Pending").starts_with("28.08 EUR (due on 2099-06-06"),
        "{mine}"
    );
    assert_eq!(row(&mine, "General Admission"), ["24.50 EUR", "4.90 EUR", "19.60 EUR"]);
    assert_eq!(row(&mine, "VIP"), ["8.48 EUR", "0.00 EUR", "8.48 EUR"]);
    assert!(
        !mine.contains("41.48") && !mine.contains("ben@"),
        "only her own: {mine}"
    );
    // Nothing is due before the holding period ends: nothing recorded.
    let before = app.dump().await;
    assert!(
        app.ok(OWNER, "markpaid ana@promo.test")
            .await
            .contains("Nothing is due")
    );
    assert_eq!(before, app.dump().await);

    // Five days after the event's start (2099-06-01 16:00 UTC) it is due; organizers hear once.
    to(&clock, "2099-06-06T15:59:00Z");
    assert_eq!(app.core.run_commission_notices().await.unwrap(), 0);
    to(&clock, "2099-06-06T16:00:00Z");
    assert_eq!(app.core.run_commission_notices().await.unwrap(), 1);
    assert_eq!(app.core.run_commission_notices().await.unwrap(), 0);
    let notice = &queued(&app, OWNER, "commissions").await[0];
    assert!(notice.body.contains("76.91 EUR to 2 promoter(s)"), "{}", notice.body);
    assert_eq!(payout_row(&app, ANA).await[..2], ["28.08 EUR", "0.00 EUR"]);
    let paid_ana = app.ok(OWNER, "markpaid ana@promo.test").await;
    assert!(
        paid_ana.contains("Recorded: 28.08 EUR paid to ana@promo.test"),
        "{paid_ana}"
    );
    // Sent again (a retried mail, a double tap): nothing is paid twice.
    let before = app.dump().await;
    assert!(
        app.ok(OWNER, "markpaid ana@promo.test")
            .await
            .contains("Nothing is due")
    );
    // Ben in part, with a reference; the same reference again finds that payout.
    assert!(
        app.ok(OWNER, "markpaid ben@promo.test 20 TX-1")
            .await
            .contains("Still due to them: 28.83 EUR")
    );
    let after_first = app.dump().await;
    assert!(
        app.ok(OWNER, "markpaid ben@promo.test 20 TX-1")
            .await
            .contains("Already recorded")
    );
    assert_eq!(after_first, app.dump().await);
    assert_ne!(before, after_first);
    assert_eq!(
        payout_row(&app, BEN).await,
        ["28.83 EUR", "0.00 EUR", "–", "20.00 EUR", "0.00 EUR"]
    );
    books_balance(&app).await;

    // A refund after payout: A2 (8.48) comes back as a clawback …
    let mut a2 = paid("A2", "summer-fest", d2, &ana, "VIP", 1, 12950);
    (a2.status, a2.refunded, a2.updated) = ("refunded", 1, "2099-06-07T10:00:00Z");
    sell(&app, &[a2]).await;
    books_balance(&app).await;
    assert_eq!(
        payout_row(&app, ANA).await,
        ["0.00 EUR", "0.00 EUR", "–", "28.08 EUR", "8.48 EUR"]
    );
    assert!(
        app.ok(OWNER, "markpaid ana@promo.test")
            .await
            .contains("owe 8.48 EUR back")
    );
    // … netted in her next payout, from another event.
    to(&clock, "2099-06-07T12:00:00Z");
    app.ok(
        OWNER,
        "newevent winter-fest \"2099-06-10 18:00\" https://tickets.acme.test/w Winter Fest",
    )
    .await;
    app.ok(OWNER, "setcommission 10%").await;
    let w = link_code(&app.ok(ANA, "mylink winter-fest").await);
    sell(
        &app,
        &[paid(
            "W1",
            "winter-fest",
            "2099-06-08T10:00:00Z",
            &w,
            "General Admission",
            2,
            4900,
        )],
    )
    .await;
    to(&clock, "2099-06-15T16:00:00Z");
    // 9.80 earned at winter-fest − 8.48 owed back = 1.32.
    assert_eq!(payout_row(&app, ANA).await[0], "1.32 EUR");
    let netted = app.ok(OWNER, "markpaid ana@promo.test").await;
    assert!(
        netted.contains("Recorded: 1.32 EUR") && netted.contains("nets 8.48 EUR of clawbacks"),
        "{netted}"
    );
    assert_eq!(
        payout_row(&app, ANA).await,
        ["0.00 EUR", "0.00 EUR", "–", "29.40 EUR", "0.00 EUR"]
    );
    books_balance(&app).await;

    // A cancelled event: unpaid commissions voided, paid ones stay, later refunds change nothing.
    app.ok(
        OWNER,
        "newevent autumn-fest \"2099-09-01 18:00\" https://tickets.acme.test/a Autumn Fest",
    )
    .await;
    let a = link_code(&app.ok(ANA, "mylink autumn-fest").await);
    sell(
        &app,
        &[paid(
            "X1",
            "autumn-fest",
            "2099-06-16T10:00:00Z",
            &a,
            "General Admission",
            1,
            4900,
        )],
    )
    .await;
    assert_eq!(payout_row(&app, ANA).await[1], "4.90 EUR");
    let cancelled = app.ok(OWNER, "cancelevent autumn-fest").await;
    assert!(cancelled.contains("4.90 EUR for 1 promoter(s)"), "{cancelled}");
    let mut x1 = paid(
        "X1",
        "autumn-fest",
        "2099-06-16T10:00:00Z",
        &a,
        "General Admission",
        1,
        4900,
    );
    (x1.status, x1.refunded, x1.updated) = ("refunded", 1, "2099-06-17T10:00:00Z");
    let entries = TestApp::dump_section(&app.dump().await, "commission_entries");
    sell(&app, &[x1]).await;
    assert_eq!(entries, TestApp::dump_section(&app.dump().await, "commission_entries"));
    assert_eq!(
        payout_row(&app, ANA).await,
        ["0.00 EUR", "0.00 EUR", "–", "29.40 EUR", "0.00 EUR"]
    );
    books_balance(&app).await;
}
