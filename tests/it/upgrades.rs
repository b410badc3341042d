//! Upgrading databases migrated by released versions: 0012 was released short (b1faca5)
//! and long (d2cc9ef, with what 0013 holds now); both reach the current schema.

use promoterd::store::Store;
use std::path::Path;

/// Migrates a new SQLite file with the repository's migrations 0001–0011 and `m12` as
/// 0012, as a released daemon did, then adds an organization.
async fn released(dir: &Path, m12: &str) -> std::path::PathBuf {
    let folder = dir.join("released-migrations");
    std::fs::create_dir_all(&folder).unwrap();
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&ours).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0012" {
            std::fs::copy(&path, folder.join(&name)).unwrap();
        }
    }
    std::fs::write(folder.join("0012_buyer_data.sql"), m12).unwrap();
    let db = dir.join("released.db");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    sqlx::migrate::Migrator::new(folder.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO organizations (slug, name, created_at) VALUES ('old', 'Old Org', '2026-11-01T00:00:00Z')")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    db
}

/// Migrates with today's daemon; returns the old organization's grace time and the
/// applied migrations.
async fn upgrade(db: &Path) -> (Option<String>, i64) {
    let store = Store::open(db).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), 0, "a second run applies nothing");
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let from: Option<String> = sqlx::query_scalar("SELECT buyer_retention_from FROM organizations WHERE slug = 'old'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('outbox_unscrubbed', 'commission_entries', 'payouts')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 3, "0013's index and 0014's tables are there");
    (from, applied)
}

/// The number of SQLite migrations in `migrations/` (PostgreSQL's are in a folder of their own).
fn migrations() -> i64 {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql"))
        .count() as i64
}

#[tokio::test]
async fn a_database_of_either_released_0012_reaches_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::create_dir_all(&short).unwrap();
    let m12 =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/0012_buyer_data.sql")).unwrap();
    let db = released(&short, &m12).await;
    let (from, applied) = upgrade(&db).await;
    assert!(from.is_some(), "0013 gives an existing organization its grace period");
    assert_eq!(applied, migrations());

    let long = dir.path().join("long");
    std::fs::create_dir_all(&long).unwrap();
    let m12 = include_str!("../../src/store/history/0012_buyer_data_as_landed_in_d2cc9ef.sql");
    let db = released(&long, m12).await;
    let (from, applied) = upgrade(&db).await;
    // Created after the long 0012 ran, the organization has no grace: 0013's update was
    // not run a second time (and its column not added twice, which would fail).
    assert!(from.is_none(), "0013 ran again on a database that had it");
    assert_eq!(applied, migrations());
}
