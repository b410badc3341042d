//! Charts (issue 19): sales counted on the organization's days in the rollup, refunds on
//! the day of the sale, a promoter's chart of their own sales only, the organizer's with
//! the funnel, refusals that change nothing, and orders stored before the rollup existed.

use super::support::*;
use chrono::{DateTime, NaiveDate, Utc};
use promoterd::clock::Clock;
use promoterd::commands::Origin;
use promoterd::domain::EventId;
use promoterd::ingest::{RawLine, RawOrder};
use promoterd::reply::Reply;
use promoterd::store::DailyRow;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn order(id: &str, at: &str, r#ref: Option<&str>, quantity: i64, refunded: i64, updated: &str) -> RawOrder {
    RawOrder {
        order_id: id.into(),
        event: "summer-fest".into(),
        status: "paid".into(),
        ordered_at: at.into(),
        updated_at: Some(updated.into()),
        ref_code: r#ref.map(String::from),
        lines: vec![RawLine {
            ticket_type: "General Admission".into(),
            quantity,
            refunded_quantity: refunded,
            unit_price_minor: 4900,
            refunded_minor: 0,
            currency: "EUR".into(),
        }],
        ..Default::default()
    }
}

async fn ingest(app: &TestApp, clock: &Clock, raw: RawOrder) {
    let valid = promoterd::ingest::validate(&app.store, "checkout", &raw, None)
        .await
        .unwrap();
    promoterd::ingest::apply(&app.store, clock, &[valid]).await.unwrap();
}

async fn event_id(app: &TestApp) -> EventId {
    app.store.events_named("summer-fest").await.unwrap()[0].id
}

/// (day, tickets) of the rollup for the event, everyone's or one membership's.
async fn days(app: &TestApp, who: Option<&str>) -> Vec<(NaiveDate, i64)> {
    let membership = match who {
        Some(email) => {
            let p = app.store.person_by_email(email).await.unwrap().unwrap();
            Some(app.store.active_memberships_of(p.id).await.unwrap()[0].id)
        }
        None => None,
    };
    let rows: Vec<DailyRow> = app
        .store
        .daily_sales(event_id(app).await, membership, day("2027-06-01"), day("2027-06-30"))
        .await
        .unwrap();
    let mut by_day: Vec<(NaiveDate, i64)> = Vec::new();
    for r in rows {
        match by_day.last_mut() {
            Some((d, n)) if *d == r.day => *n += r.tickets,
            _ => by_day.push((r.day, r.tickets)),
        }
    }
    by_day
}

async fn chart(app: &TestApp, who: &str, line: &str) -> Reply {
    app.core.execute(&Origin::Console { email: who.into() }, line).await
}

/// The world with sales: Ben 2 tickets on Saturday morning and 1 just after midnight
/// (Berlin) that is still Saturday in UTC; Ana 4 on Monday; 1 direct sale on Monday.
async fn sales() -> (TestApp, Clock) {
    let clock = Clock::fixed(utc("2027-06-08T12:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let ben = link_code(&app.ok(BEN, "mylink").await);
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let t = "2027-06-08T11:00:00Z";
    ingest(&app, &clock, order("B1", "2027-06-05T10:00:00Z", Some(&ben), 2, 0, t)).await;
    ingest(&app, &clock, order("B2", "2027-06-05T22:30:00Z", Some(&ben), 1, 0, t)).await;
    ingest(&app, &clock, order("A1", "2027-06-07T09:00:00Z", Some(&ana), 4, 0, t)).await;
    ingest(&app, &clock, order("D1", "2027-06-07T10:00:00Z", None, 1, 0, t)).await;
    (app, clock)
}

#[tokio::test]
async fn sales_count_on_the_organizations_days_and_a_refund_lowers_the_day_of_the_sale() {
    let (app, clock) = sales().await;
    assert_eq!(
        days(&app, None).await,
        [(day("2027-06-05"), 2), (day("2027-06-06"), 1), (day("2027-06-07"), 5)],
        "22:30 UTC is after midnight in Berlin"
    );
    assert_eq!(
        days(&app, Some(BEN)).await,
        [(day("2027-06-05"), 2), (day("2027-06-06"), 1)]
    );

    // A refund on Tuesday lowers Saturday, the day of the sale; a cancellation empties its day.
    let ben = link_code(&app.ok(BEN, "mylink").await);
    ingest(
        &app,
        &clock,
        order("B1", "2027-06-05T10:00:00Z", Some(&ben), 2, 1, "2027-06-08T11:30:00Z"),
    )
    .await;
    let mut cancelled = order("D1", "2027-06-07T10:00:00Z", None, 1, 0, "2027-06-08T11:31:00Z");
    cancelled.status = "cancelled".into();
    ingest(&app, &clock, cancelled).await;
    assert_eq!(
        days(&app, None).await,
        [(day("2027-06-05"), 1), (day("2027-06-06"), 1), (day("2027-06-07"), 4)]
    );

    // A new time zone moves the days: 22:30 UTC is Saturday evening in New York.
    app.ok(OWNER, "timezone America/New_York").await;
    assert_eq!(days(&app, None).await, [(day("2027-06-05"), 2), (day("2027-06-07"), 4)]);
}

#[tokio::test]
async fn a_promoter_charts_their_own_sales_and_the_organizer_everyones_with_the_funnel() {
    let (app, _clock) = sales().await;
    let mine = chart(&app, BEN, "chart summer-fest 7").await;
    assert!(!mine.is_error && mine.private, "{}", mine.to_plain());
    assert_eq!(mine.attachments.len(), 1);
    let picture = &mine.attachments[0];
    assert_eq!(
        (picture.mime.as_str(), picture.filename.as_str()),
        ("image/png", "chart-summer-fest.png")
    );
    assert_eq!(png_size(&picture.data).0, 1200);
    assert!(picture.data.len() < 150_000, "{} bytes", picture.data.len());
    assert_eq!(
        picture.caption, "Summer Fest, 7 days: 3 tickets, best day Sat 5 Jun (2)",
        "Ben's own three tickets, nobody else's"
    );
    assert!(
        mine.to_plain().contains(&picture.caption),
        "the caption is the text too: {}",
        mine.to_plain()
    );
    let ana = app.store.person_by_email(ANA).await.unwrap().unwrap().shown_name();
    assert!(!mine.to_plain().contains(&ana));

    let all = chart(&app, OWNER, "chart summer-fest 7").await;
    assert!(!all.is_error, "{}", all.to_plain());
    let names: Vec<&str> = all.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["chart-summer-fest.png", "funnel-summer-fest.png"]);
    assert!(
        all.attachments[0]
            .caption
            .starts_with("Summer Fest, 7 days: 8 tickets, best day Mon 7 Jun (5)"),
        "{}",
        all.attachments[0].caption
    );
    let funnel = row(&all.to_plain(), &ana);
    assert_eq!(funnel, ["0", "1", "4"], "Ana: no clicks, one order, four tickets");
    for a in &all.attachments {
        assert_eq!(png_size(&a.data).0, 1200);
    }
    // The same data draws the same bytes.
    assert_eq!(
        chart(&app, OWNER, "chart summer-fest 7").await.attachments,
        all.attachments
    );
}

#[tokio::test]
async fn a_chart_of_someone_elses_event_is_refused_and_changes_nothing() {
    let (app, _clock) = sales().await;
    let out = app.bin(&["org", "create", "Rival Shows", "--owner", "rival@rival.test"]);
    assert!(out.ok, "{out:?}");
    let rival = refused(
        &app,
        "rival@rival.test",
        "chart summer-fest",
        "not a promoter of `summer-fest`",
    )
    .await;
    assert!(rival.contains("stats, export") && rival.contains("chart"), "{rival}");
    refused(
        &app,
        "nobody@else.test",
        "chart summer-fest",
        "not an organizer or promoter here",
    )
    .await;
    refused(
        &app,
        BEN,
        "chart summer-fest 0",
        "days must be a whole number from 1 to 180",
    )
    .await;
    refused(&app, BEN, "chart summer-fest 181", "from 1 to 180").await;
    // Ben promotes one event of the organization: another event's chart is not his.
    app.ok(
        OWNER,
        "newevent winter-fest \"2099-12-01 18:00\" https://tickets.acme.test/winter Winter Fest",
    )
    .await;
    refused(&app, BEN, "chart winter-fest", "not a promoter of `winter-fest`").await;
}

#[tokio::test]
async fn orders_stored_before_the_rollup_get_their_days_when_the_store_opens() {
    let (app, _clock) = sales().await;
    let before = days(&app, None).await;
    let db = app.db().await;
    // As a database migrated from before sale days: no day, nothing in the rollup.
    db.exec("UPDATE orders SET sale_day = NULL", &[]).await;
    db.exec("DELETE FROM daily_sales", &[]).await;
    db.close().await;
    assert!(days(&app, None).await.is_empty());
    assert_eq!(app.store.fill_sale_days().await.unwrap(), 4);
    assert_eq!(days(&app, None).await, before);
    assert_eq!(app.store.fill_sale_days().await.unwrap(), 0, "once");
}

#[tokio::test]
async fn the_organizers_days_come_folded_from_the_store_past_the_top_promoters() {
    use promoterd::store::DaySource;
    let (app, _clock) = sales().await;
    let ana = app.store.person_by_email(ANA).await.unwrap().unwrap();
    let ana = app.store.active_memberships_of(ana.id).await.unwrap()[0].id;
    let folded = app
        .store
        .daily_sales_folded(event_id(&app).await, day("2027-06-01"), day("2027-06-08"), 1)
        .await
        .unwrap();
    assert_eq!(folded.other_promoters, 1, "Ben, past the top one");
    assert_eq!(
        folded.rows,
        [
            (day("2027-06-05"), DaySource::OtherPromoters, 2),
            (day("2027-06-06"), DaySource::OtherPromoters, 1),
            (day("2027-06-07"), DaySource::Direct, 1),
            (day("2027-06-07"), DaySource::Promoter(ana), 4),
        ]
    );
    // With room for both, nobody is folded.
    let all = app
        .store
        .daily_sales_folded(event_id(&app).await, day("2027-06-01"), day("2027-06-08"), 6)
        .await
        .unwrap();
    assert_eq!(all.other_promoters, 0);
    assert!(all.rows.iter().all(|r| r.1 != DaySource::OtherPromoters));
    let chart = chart(&app, OWNER, "chart summer-fest 7").await;
    assert!(
        !chart.attachments[0].caption.contains("other"),
        "{}",
        chart.attachments[0].caption
    );
}
