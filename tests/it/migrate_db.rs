//! `promoterd migrate-db` (issue 20): a SQLite installation moves to PostgreSQL with one
//! command; every number people read is the same after the move, and it refuses to
//! write into a database that holds anything.

use super::privacy::{import, order};
use super::support::*;

/// What people read, for a before/after comparison: the organizer's and a promoter's
/// numbers, the payouts and the referred-buyers CSV.
async fn readings(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for (who, line) in [
        (OWNER, "stats summer-fest"),
        (OWNER, "stats"),
        (OWNER, "payouts"),
        (OWNER, "leaderboard summer-fest"),
        (BEN, "mystats summer-fest"),
        (BEN, "myearnings"),
        (ANA, "mystats"),
    ] {
        out.push(format!("{who} {line}:\n{}", app.ok(who, line).await));
    }
    let csv = app.bin(&["export", "--event", "summer-fest"]);
    assert!(csv.ok, "{csv:?}");
    out.push(csv.stdout);
    out
}

#[tokio::test]
async fn migrate_db_moves_an_installation_and_every_number_stays() {
    if on_postgres() {
        eprintln!("runs in the SQLite pass: its source is a SQLite file");
        return;
    }
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "setcommission 10% summer-fest").await;
    app.ok(OWNER, "setleaderboard on").await;
    let ben = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let buyer = |i: u32| {
        (
            format!("Buyer {i}"),
            format!("b{i}@buyer.test"),
            format!("+49 30 {i:07}"),
        )
    };
    let rows: Vec<String> = (1..=40)
        .map(|i| {
            let (name, email, phone) = buyer(i);
            let code = if i % 3 == 0 { &ana } else { &ben };
            order(
                &format!("M{i}"),
                "summer-fest",
                code,
                (&name, &email, &phone),
                1 + i % 4,
                "2099-05-01T10:00:00Z",
            )
        })
        .collect();
    import(&app, "orders.csv", &rows).await;
    let before = readings(&app).await;
    assert!(before[0].contains("ben@promo.test"), "{}", before[0]);

    let url = empty_postgres_database().await;
    let db = app.config().database_path();
    let out = app.bin(&["migrate-db", "--from", db.to_str().unwrap(), "--to", &url]);
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.contains("orders: 40 row(s)"), "{}", out.stdout);
    assert!(out.stdout.contains("copied and checked"), "{}", out.stdout);

    // The same home, pointed at the new database.
    let text = std::fs::read_to_string(&app.config).unwrap();
    let moved = TestApp::custom(promoterd::clock::Clock::system(), |_| {
        text.edit("\npool_size = 10", &format!("\nurl = \"{url}\"\npool_size = 4"))
    })
    .await;
    assert!(moved.store.is_postgres());
    assert_eq!(readings(&moved).await, before);
    // New rows continue after the copied ids.
    let late = ("Late Buyer", "late@buyer.test", "+49 30 7654321");
    import(
        &moved,
        "late.csv",
        &[order("M41", "summer-fest", &ben, late, 1, "2099-05-02T10:00:00Z")],
    )
    .await;
    let orders: i64 = moved.db().await.scalar("SELECT count(*) FROM orders", &[]).await;
    assert_eq!(orders, 41);

    // A second move into a database that holds anything is refused, and changes nothing.
    let dump = moved.dump().await;
    let again = app.bin(&["migrate-db", "--from", db.to_str().unwrap(), "--to", &url]);
    assert!(!again.ok, "{again:?}");
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
    assert_eq!(moved.dump().await, dump);
}
