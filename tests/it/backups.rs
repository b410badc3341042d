//! Backups (issue 21): `promoterd backup` while orders pour in through the webhook,
//! `promoterd restore` as the README's drill, and scheduled backups that rotate.

use super::http::{now, post_order, signature};
use super::support::*;
use chrono::{TimeZone, Utc};
use promoterd::backup::{DaemonLock, next_due, rotate, scheduled_backups, take_scheduled};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn order_body(id: &str) -> String {
    json!({
        "id": format!("dlv-{id}"),
        "type": "order.created",
        "order": {
            "id": id, "event": "summer-fest",
            "created_at": "2099-05-01T10:00:00Z", "updated_at": "2099-05-01T10:00:00Z",
            "buyer": {"name": "Load Buyer", "email": "load@buyer.test"},
            "lines": [{"ticket_type": "General Admission", "quantity": 1, "unit_price": 4900, "currency": "EUR"}],
        }
    })
    .to_string()
}

/// External ids of the orders in a database file.
async fn order_ids(path: &std::path::Path) -> HashSet<String> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT external_id FROM orders")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    ids.into_iter().collect()
}

#[tokio::test]
async fn a_backup_under_order_load_holds_every_order_acknowledged_before_it_and_restores() {
    if sqlite_only("a backup of the database file") {
        return;
    }
    let app = TestApp::new().await;
    app.world().await;
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    // Four writers post orders until told to stop; each acknowledged id is recorded.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (acked, stop, base) = (acked.clone(), stop.clone(), base.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("L{w}-{i}");
                let body = order_body(&id);
                let (status, answer) = post_order(&base, &body, Some(signature(NEW_SECRET, now(), &body))).await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                acked.lock().unwrap().push(id);
                i += 1;
            }
        }));
    }
    wait_until("orders are pouring in", Duration::from_secs(30), || async {
        acked.lock().unwrap().len() >= 200
    })
    .await;
    let before: Vec<String> = acked.lock().unwrap().clone();
    let file = app.path("copy.db");
    let home = app.config.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_promoterd"))
            .arg("--config")
            .arg(home)
            .args(["backup", file.to_str().unwrap()])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let during = acked.lock().unwrap().len();
    // Some more orders after the copy, which the copy need not hold.
    wait_until("orders go on after the backup", Duration::from_secs(30), || async {
        acked.lock().unwrap().len() >= during + 50
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("checked (integrity ok)"), "{stdout}");
    let copy = app.path("copy.db");
    let check = promoterd::store::check_file(&copy).await.unwrap();
    assert_eq!(check.integrity, "ok");
    let in_copy = order_ids(&copy).await;
    let missing: Vec<&String> = before.iter().filter(|id| !in_copy.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged orders missing: {missing:?}",
        missing.len()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy holds buyer data: owner only");
    }
    // A file of that name is never overwritten.
    let again = app.bin(&["backup", copy.to_str().unwrap()]);
    assert!(!again.ok && again.stderr.contains("never overwrites"), "{again:?}");
    server.stop().await.unwrap();
    app.store.close().await;

    // The drill: with the daemon running, restore is refused and nothing changes.
    let db = app.config().database_path();
    let live = std::fs::read(&db).unwrap();
    let lock = DaemonLock::acquire(&db).unwrap();
    let refused = app.bin(&["restore", copy.to_str().unwrap()]);
    assert!(
        !refused.ok && refused.stderr.contains("a promoterd daemon is running"),
        "{refused:?}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), live);
    drop(lock);
    // Stopped: the copy goes in place, the old file is kept aside, and a check reads it.
    let done = app.bin(&["restore", copy.to_str().unwrap()]);
    assert!(done.ok, "{done:?}");
    assert!(done.stdout.contains("is kept as"), "{}", done.stdout);
    assert_eq!(order_ids(&db).await, in_copy);
    let aside: Vec<_> = std::fs::read_dir(app.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".before-restore-"))
        .collect();
    assert!(!aside.is_empty(), "the replaced database is kept");
    let migrate = app.bin(&["migrate"]);
    assert!(migrate.ok, "{migrate:?}");
    assert_eq!(promoterd::store::check_file(&db).await.unwrap().integrity, "ok");
}

#[tokio::test]
async fn restore_refuses_a_file_that_is_not_a_sound_database_and_changes_nothing() {
    if sqlite_only("a backup of the database file") {
        return;
    }
    let app = TestApp::new().await;
    app.world().await;
    app.store.close().await;
    let db = app.config().database_path();
    let live = std::fs::read(&db).unwrap();
    std::fs::write(app.path("junk.db"), b"SQLite format 3\0 but not really").unwrap();
    let out = app.bin(&["restore", app.path("junk.db").to_str().unwrap()]);
    assert!(!out.ok, "{out:?}");
    assert_eq!(std::fs::read(&db).unwrap(), live);
    let out = app.bin(&["restore", app.path("nothing-here.db").to_str().unwrap()]);
    assert!(!out.ok && out.stderr.contains("is not a file"), "{out:?}");
    assert_eq!(std::fs::read(&db).unwrap(), live);
}

#[tokio::test]
async fn scheduled_backups_rotate_and_the_schedule_survives_a_restart() {
    if sqlite_only("a backup of the database file") {
        return;
    }
    let app = TestApp::new().await;
    app.world().await;
    let dir = app.path("backups");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
    let hour = chrono::Duration::hours(1);
    for i in 0..4 {
        let taken = take_scheduled(&app.store, &dir, 2, t0 + hour * i).await.unwrap();
        assert!(taken.check.is_ok());
        assert!(taken.check.counts.iter().any(|(t, n)| *t == "events" && *n == 1));
    }
    let kept: Vec<_> = scheduled_backups(&dir)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, ["promoterd-20261201T060000Z.db", "promoterd-20261201T050000Z.db"]);
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    assert!(rotate(&dir, 2).unwrap().is_empty());
    // The next one is due a period after the newest, whenever the daemon restarts.
    let every = Duration::from_secs(6 * 3600);
    assert_eq!(next_due(&dir, every, t0 + hour * 4), t0 + hour * 9);
    assert_eq!(next_due(&dir, every, t0 + hour * 10), t0 + hour * 10);
}
