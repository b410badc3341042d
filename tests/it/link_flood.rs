//! Tracking codes the link table does not hold (issue 22): a flood of distinct made-up
//! codes reaches the database at a bounded rate, known codes keep redirecting, and a
//! link created by another process is still found between reloads.

use super::http::client;
use super::support::*;
use promoterd::clock::Clock;
use promoterd::http::LOOKUPS_PER_SECOND;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// The value of `promoterd_link_lookups_total{outcome="<outcome>"}`, 0 when absent.
fn lookups(metrics: &str, outcome: &str) -> u64 {
    let key = format!("promoterd_link_lookups_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

#[tokio::test]
async fn a_flood_of_unknown_codes_reaches_the_database_at_a_bounded_rate() {
    // Reloads an hour apart: only the database lookup can find a link made elsewhere.
    let app = TestApp::custom(Clock::system(), |t| {
        t.edit("link_refresh_seconds = 5", "link_refresh_seconds = 3600")
    })
    .await;
    app.world().await;
    let known = link_code(&app.ok(BEN, "mylink").await);
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    let http = client();

    let started = Instant::now();
    let flood = 400u64;
    for i in 0..flood {
        let res = http.get(format!("{base}/t/madeup{i:05}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        if i % 50 == 0 {
            let res = http.get(format!("{base}/t/{known}")).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FOUND, "a known code during the flood");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let metrics = app.core.metrics.render();
    let asked = lookups(&metrics, "unknown") + lookups(&metrics, "found");
    let throttled = lookups(&metrics, "throttled");
    assert_eq!(asked + throttled, flood, "{metrics}");
    let bound = LOOKUPS_PER_SECOND * (1.0 + elapsed);
    assert!(
        (asked as f64) <= bound,
        "{asked} database lookups in {elapsed:.2}s, more than the ration allows ({bound:.0})"
    );
    assert!(
        throttled > 0,
        "{flood} codes in {elapsed:.2}s were all asked: nothing was rationed"
    );

    // A link created by another process (the console binary) is found by a lookup
    // once the ration refills, long before the next reload.
    let out = app.console(BEN, "newlink flyer summer-fest");
    assert!(out.ok, "{out:?}");
    let made_elsewhere = link_code(&out.stdout);
    wait_until("the console's link redirects", Duration::from_secs(10), || async {
        let res = http.get(format!("{base}/t/{made_elsewhere}")).send().await.unwrap();
        res.status() == StatusCode::FOUND
    })
    .await;
    let metrics = app.core.metrics.render();
    let found = lookups(&metrics, "found");
    if on_postgres() {
        // There the link log's notification may bring the link in first: no rebuild either way.
        let by_log = metrics
            .lines()
            .find_map(|l| l.strip_prefix("promoterd_link_table_updates_total{kind=\"log\"} "))
            .map_or(0.0, |v| v.trim().parse::<f64>().unwrap());
        assert!(found >= 1 || by_log >= 1.0, "{metrics}");
    } else {
        assert!(found >= 1, "{metrics}");
    }
    server.stop().await.unwrap();
}
