//! A sale-notification pass records as told only the orders changed since the previous
//! pass (every order on a membership's first): its cost follows what changed.

use super::Store;
use super::sql::{query, ts_ms};
use crate::domain::MembershipId;
use chrono::{Duration, Utc};

/// A migrated store with one promoter's membership of one event, and `orders` orders
/// of one ticket each, stored an hour ago.
async fn store_with_orders(orders: i64) -> (tempfile::TempDir, Store, MembershipId) {
    let (f, mut tx) = super::test_fixture::store_with_an_event().await;
    let (store, org, event, now) = (f.store, f.org, f.event, Utc::now());
    let promoter = store
        .upsert_person(&mut tx, "ana@example.com", true, now)
        .await
        .unwrap();
    let hour_ago = ts_ms(now - Duration::hours(1));
    let day_ago = ts_ms(now - Duration::days(1));
    query(
        "INSERT INTO memberships (id, org_id, event_id, person_id, status, created_at, updated_at) \
         VALUES (1, ?, NULL, ?, 'active', ?3, ?3)",
    )
    .bind(org)
    .bind(promoter)
    .bind(day_ago)
    .execute(&mut *tx)
    .await
    .unwrap();
    query("INSERT INTO ticket_types (id, event_id, name, price_minor, created_at) VALUES (1, ?, 'GA', 1000, ?)")
        .bind(event)
        .bind(day_ago)
        .execute(&mut *tx)
        .await
        .unwrap();
    for n in 1..=orders {
        add_order(&mut tx, n, &hour_ago).await;
    }
    tx.commit().await.unwrap();
    (f.dir, store, MembershipId(1))
}

/// Order `n` of one General Admission ticket, stored at `at`.
async fn add_order(tx: &mut super::WriteTx, n: i64, at: &super::sql::AtMs) {
    query(
        "INSERT INTO orders (id, source, external_id, event_id, membership_id, buyer_name, status, currency, \
         self_referral, ordered_at, source_updated_at, created_at, updated_at) \
         VALUES (?1, 'checkout', CAST(?1 AS TEXT), 1, 1, 'Buyer', 'paid', 'EUR', false, ?2, ?2, ?2, ?2)",
    )
    .bind(n)
    .bind(at)
    .execute(&mut **tx)
    .await
    .unwrap();
    query("INSERT INTO order_lines (order_id, line_no, ticket_type_id, quantity, unit_price_minor) VALUES (?, 0, 1, 1, 1000)")
        .bind(n)
        .execute(&mut **tx)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_pass_records_only_the_orders_changed_since_the_previous_one() {
    let (_dir, store, membership) = store_with_orders(50).await;
    let first = Utc::now() - Duration::minutes(30);
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        store
            .mark_orders_notified(&mut tx, membership, None, first)
            .await
            .unwrap(),
        50
    );
    // One order more, and one earlier order refunded, after the first pass.
    let later = ts_ms(Utc::now() - Duration::minutes(10));
    add_order(&mut tx, 51, &later).await;
    query("UPDATE order_lines SET refunded_quantity = 1 WHERE order_id = 7")
        .execute(&mut *tx)
        .await
        .unwrap();
    query("UPDATE orders SET status = 'refunded', updated_at = ? WHERE id = 7")
        .bind(later)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The refund is told as one ticket less: order 7 was recorded as told by the first pass.
    let now = Utc::now();
    let deltas = store.order_deltas(membership, first, now).await.unwrap();
    assert_eq!(deltas.iter().map(|(_, d)| d).sum::<i64>(), -1, "{deltas:?}");
    let mut tx = store.write().await.unwrap();
    let second = store
        .mark_orders_notified(&mut tx, membership, Some(first), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        second, 2,
        "the second pass recorded the new and the refunded order only"
    );
    assert!(store.order_deltas(membership, first, now).await.unwrap().is_empty());
}
