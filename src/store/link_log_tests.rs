//! The link log's triggers (migration 0017) name every change the redirect's table
//! must follow, including a code that went away, and pruning keeps the newest rows.

use super::sql::query;
use super::{LinkChange, NewLink, Store};
use crate::domain::{EventId, LinkId, LinkKind};
use chrono::Utc;

/// A migrated store with one organization link `abc123` of one event.
async fn store_with_a_link() -> (tempfile::TempDir, Store, EventId, LinkId) {
    let (f, mut tx) = super::test_fixture::store_with_an_event().await;
    let (store, org, event, person, now) = (f.store, f.org, f.event, f.owner, Utc::now());
    let link = NewLink {
        code: "abc123",
        org_id: org,
        event_id: event,
        membership_id: None,
        parent_id: None,
        kind: LinkKind::Org,
        label: "door",
        sub_promoter: None,
        created_by: Some(person),
    };
    let id = store.create_link(&mut tx, &link, now).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    (f.dir, store, event, id)
}

#[tokio::test]
async fn the_log_names_each_change_and_the_codes_that_went_away() {
    let (_dir, store, event, id) = store_with_a_link().await;
    let rows = store.link_log_after(0, 100).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].change(), Some(LinkChange::Link(id)));
    assert_eq!(rows[0].gone_code, None);

    // A new ticket page names the event; a recoded, then deleted link names its old code.
    let mut tx = store.write().await.unwrap();
    store
        .update_event_field(&mut tx, event, super::EventField::TicketUrl, "https://t.example/new")
        .await
        .unwrap();
    query("UPDATE links SET code = 'xyz789' WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    query("DELETE FROM links WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let rows = store.link_log_after(rows[0].seq, 100).await.unwrap();
    let seen: Vec<_> = rows.iter().map(|r| (r.change(), r.gone_code.as_deref())).collect();
    assert_eq!(
        seen,
        [
            (Some(LinkChange::Event(event)), None),
            (Some(LinkChange::Link(id)), Some("abc123")),
            (Some(LinkChange::Link(id)), Some("xyz789")),
        ]
    );
    assert!(
        rows.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "contiguous: {rows:?}"
    );
}

#[tokio::test]
async fn pruning_keeps_the_newest_rows_and_an_emptied_log_keeps_its_position() {
    let (_dir, store, event, _) = store_with_a_link().await;
    for url in ["https://t.example/2", "https://t.example/3", "https://t.example/4"] {
        let mut tx = store.write().await.unwrap();
        store
            .update_event_field(&mut tx, event, super::EventField::TicketUrl, url)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // Pruning keeps the newest rows, a chunk at a time.
    let last = store.link_log_after(0, 100).await.unwrap().last().unwrap().seq;
    assert_eq!(last, 4);
    assert_eq!(store.prune_link_log(2, 1).await.unwrap(), 1);
    assert_eq!(store.prune_link_log(2, 10).await.unwrap(), 1);
    assert_eq!(store.prune_link_log(2, 10).await.unwrap(), 0);
    assert_eq!(store.link_log_start().await.unwrap(), Some(last - 1));
    assert_eq!(store.link_log_after(0, 100).await.unwrap().len(), 2);

    // With every row gone, a rebuild still starts from the last number handed out
    // (the next row is not taken for a gap left by pruning).
    query("DELETE FROM link_log").execute(store.writer()).await.unwrap();
    let at = store.read_live_links(|head| head.log_at, |_, _| {}).await.unwrap();
    assert_eq!(at, last);
}
