//! PostgreSQL's pool (issue 20): sqlx no longer checks every connection it hands out;
//! one that sat idle past the threshold is checked, and replaced when the server has
//! dropped it. Both sides shown: with the check the read succeeds, without it the read
//! on the dropped connection fails once.

use super::support::*;
use promoterd::domain::OrgId;
use promoterd::store::Store;
use sqlx::Connection;
use std::time::Duration;

/// Ends every server connection to `url`'s database from outside, as a restarted server
/// or a dropped network would, and waits until the server has let them go.
async fn drop_connections(url: &str) {
    let admin = std::env::var("PROMOTERD_TEST_PG").unwrap();
    let db = url.rsplit_once('/').unwrap().1.to_string();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&db)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(!ended.is_empty() && ended.iter().all(|e| *e), "{ended:?}");
    wait_until("the server let the connections go", Duration::from_secs(10), || {
        let (admin, db) = (admin.clone(), db.clone());
        async move {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                .bind(&db)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            (left == 0).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn an_idle_connection_the_server_dropped_is_replaced_before_a_read() {
    if !on_postgres() {
        eprintln!("PostgreSQL only");
        return;
    }
    // Checked after any idle time: the dropped connection is found and replaced.
    let url = empty_postgres_database().await;
    let store = Store::open_postgres_checking(&url, 1, Duration::ZERO).await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.org(OrgId(1)).await.unwrap().is_none());
    drop_connections(&url).await;
    assert!(
        store.org(OrgId(1)).await.unwrap().is_none(),
        "the read found a live connection"
    );

    // Not checked (used within the threshold): the read on the dropped connection fails,
    // once; the next read gets a new connection.
    let url = empty_postgres_database().await;
    let store = Store::open_postgres_checking(&url, 1, Duration::from_secs(3600))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert!(store.org(OrgId(1)).await.unwrap().is_none());
    drop_connections(&url).await;
    assert!(
        store.org(OrgId(1)).await.is_err(),
        "without the check the dropped connection is used"
    );
    assert!(
        store.org(OrgId(1)).await.unwrap().is_none(),
        "and replaced after it failed"
    );
}
