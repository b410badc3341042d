//! The redirect's link table follows each change (issue 22): a change made here as it
//! is committed, with the daemon's look at the link log an hour away; a change made by
//! another process from the link log. Neither rebuilds the table nor asks the database
//! for a code.

use super::http::client;
use super::support::*;
use promoterd::clock::Clock;
use reqwest::StatusCode;
use std::time::Duration;

/// `promoterd_<name>` (with labels as given) from the metrics text, 0 when absent.
fn metric(app: &TestApp, name: &str) -> u64 {
    let key = format!("promoterd_{name} ");
    app.core
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

/// Status and `Location` of `GET /t/<code>`.
async fn follow(base: &str, code: &str) -> (StatusCode, String) {
    let res = client().get(format!("{base}/t/{code}")).send().await.unwrap();
    let to = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (res.status(), to)
}

async fn until(base: &str, code: &str, what: &str, want: impl Fn(StatusCode, &str) -> bool) {
    wait_until(what, Duration::from_secs(10), || async {
        let (status, to) = follow(base, code).await;
        want(status, &to)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_committed_link_change_reaches_the_table_without_a_rebuild() {
    let app = TestApp::custom(Clock::system(), |t| {
        t.edit("link_refresh_seconds = 5", "link_refresh_seconds = 3600")
    })
    .await;
    app.world().await;
    // Accepting their invites made Ana's and Ben's main links.
    let ana = link_code(&app.ok(ANA, "mylink summer-fest").await);
    let main = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    assert_eq!(
        metric(&app, "links_cached"),
        2,
        "the table starts with the two main links"
    );

    // Made after the table was built: in it before anyone follows them.
    let flyers = link_code(&app.ok(BEN, "newlink flyers summer-fest").await);
    let door = link_code(&app.ok(BEN, "newlink door summer-fest").await);
    wait_until("both new links in the table", Duration::from_secs(10), || async {
        metric(&app, "links_cached") == 4
    })
    .await;
    for code in [&flyers, &door] {
        let (status, to) = follow(&base, code).await;
        assert_eq!(status, StatusCode::FOUND, "{code}");
        assert_eq!(to, format!("https://tickets.acme.test/summer?lang=en&ref={code}"));
    }
    let found = "link_lookups_total{outcome=\"found\"}";
    assert_eq!(metric(&app, found), 0, "the table asked the database for a new link");

    // One link off and on again.
    app.ok(BEN, "disablelink flyers summer-fest").await;
    until(&base, &flyers, "the link turned off stops", |s, _| {
        s == StatusCode::NOT_FOUND
    })
    .await;
    assert_eq!(follow(&base, &main).await.0, StatusCode::FOUND, "Ben's other link");
    app.ok(BEN, "enablelink flyers summer-fest").await;
    // Followed before its change reaches the table, the code would be looked up in the
    // database (and found there): wait for the table, then follow it.
    wait_until(
        "the link turned on back in the table",
        Duration::from_secs(10),
        || async { metric(&app, "links_cached") == 4 },
    )
    .await;
    assert_eq!(
        follow(&base, &flyers).await.0,
        StatusCode::FOUND,
        "the link turned on leads again"
    );

    // A new ticket page: every link of the event leads there.
    app.ok(OWNER, "editevent summer-fest url https://shop.acme.test/summer-2099")
        .await;
    for code in [&ana, &main, &flyers] {
        let want = format!("https://shop.acme.test/summer-2099?ref={code}");
        until(&base, code, "the link follows the new ticket page", |s, to| {
            s == StatusCode::FOUND && to == want
        })
        .await;
    }

    // The promoter is revoked: all of Ben's links stop, Ana's goes on.
    app.ok(OWNER, &format!("revoke {BEN} summer-fest")).await;
    for code in [&main, &flyers, &door] {
        until(&base, code, "a revoked promoter's link stops", |s, _| {
            s == StatusCode::NOT_FOUND
        })
        .await;
    }
    assert_eq!(follow(&base, &ana).await.0, StatusCode::FOUND);
    assert_eq!(metric(&app, "links_cached"), 1);
    assert_eq!(metric(&app, found), 0, "every link came to the table with its change");
    assert_eq!(
        metric(&app, "link_table_updates_total{kind=\"rebuild\"}"),
        1,
        "only the table built at start was built whole"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_by_another_process_reaches_the_table_from_the_log_without_a_rebuild() {
    // The daemon looks at the link log every second.
    let app = TestApp::custom(Clock::system(), |t| {
        t.edit("link_refresh_seconds = 5", "link_refresh_seconds = 1")
    })
    .await;
    app.world().await;
    let flyers = link_code(&app.ok(BEN, "newlink flyers summer-fest").await);
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    let count = |kind: &str| metric(&app, &format!("link_table_updates_total{{kind=\"{kind}\"}}"));
    assert_eq!(count("rebuild"), 1, "the table is built once at start");

    // Idle: looks come and go and find nothing.
    let looks = count("unchanged");
    wait_until("three idle looks", Duration::from_secs(10), || async {
        count("unchanged") >= looks + 3
    })
    .await;
    assert_eq!(count("log"), 0);

    // The console binary, another process, turns the link off: the log names it. On
    // SQLite the table finds it at its next look; on PostgreSQL the log's notification
    // wakes it at once (counted as a change).
    let via = if on_postgres() { "change" } else { "log" };
    let before = count(via);
    let out = app.console(BEN, "disablelink flyers summer-fest");
    assert!(out.ok, "{out:?}");
    until(&base, &flyers, "the link turned off elsewhere stops", |s, _| {
        s == StatusCode::NOT_FOUND
    })
    .await;
    let logged = count(via);
    assert!(logged > before, "the change did not come from the log");

    // The console makes a link and turns this one on again.
    let out = app.console(BEN, "newlink door summer-fest");
    assert!(out.ok, "{out:?}");
    let door = link_code(&out.stdout);
    assert!(app.console(BEN, "enablelink flyers summer-fest").ok);
    for code in [&door, &flyers] {
        until(&base, code, "a link made or turned on elsewhere leads", |s, _| {
            s == StatusCode::FOUND
        })
        .await;
    }
    wait_until("the log's next rows applied", Duration::from_secs(10), || async {
        count(via) > logged
    })
    .await;
    // And a change made here is applied as it commits.
    app.ok(BEN, "disablelink door summer-fest").await;
    until(&base, &door, "the link turned off here stops", |s, _| {
        s == StatusCode::NOT_FOUND
    })
    .await;
    assert_eq!(count("rebuild"), 1, "a change cost a rebuild of the whole table");
    server.stop().await.unwrap();
}
