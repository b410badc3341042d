//! For the store's own tests: a migrated store in a temporary file with one
//! organization (owner `owner@example.com`) and one event, `summer`.

use super::{Store, WriteTx};
use crate::domain::{EventId, OrgId, PersonId};
use chrono::Utc;

/// The store, its file's directory, the organization, its owner and the event; the
/// transaction that made them is still open, for the test to add to and commit.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub org: OrgId,
    pub owner: PersonId,
    pub event: EventId,
}

/// Creates the store and writes the organization and event in `tx`, returned open.
pub async fn store_with_an_event() -> (Fixture, WriteTx) {
    store_with_an_event_syncing(false).await
}

/// The same, with every commit on disk before it is answered when `full`.
pub async fn store_with_an_event_syncing(full: bool) -> (Fixture, WriteTx) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(&dir.path().join("db.sqlite"), full).await.unwrap();
    store.migrate().await.unwrap();
    let now = Utc::now();
    let mut tx = store.write().await.unwrap();
    let owner = store
        .upsert_person(&mut tx, "owner@example.com", true, now)
        .await
        .unwrap();
    let org = store
        .create_org(&mut tx, "fest", "Fest", "UTC", "EUR", owner, now)
        .await
        .unwrap();
    let event = store
        .create_event(&mut tx, org, "summer", "Summer", now, "https://t.example/s", "EUR", now)
        .await
        .unwrap()
        .unwrap();
    let fixture = Fixture {
        dir,
        store,
        org,
        owner,
        event,
    };
    (fixture, tx)
}

impl Fixture {
    /// Rows in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        super::sql::query_scalar(format!("SELECT count(*) FROM {table}"))
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }
}
