//! Outbox claims (issue 20): senders on several connections (two daemons on one
//! PostgreSQL database, `FOR UPDATE SKIP LOCKED`) never get the same message; a claim
//! holds its messages until it lapses or is given back.

use super::support::*;
use chrono::{Duration, Utc};
use promoterd::commands::Platform;
use promoterd::domain::OutboxId;
use promoterd::store::Store;

/// Queues `n` Telegram messages; their ids.
async fn queue(store: &Store, n: usize) -> Vec<OutboxId> {
    let mut tx = store.write().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let id = store
            .enqueue_chat(
                &mut tx,
                Platform::Telegram,
                &format!("{}", 1000 + i),
                "notice",
                "subject",
                &format!("message {i}"),
                "",
                "fallback@promo.test",
                None,
                Utc::now(),
            )
            .await
            .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    ids
}

/// Claims and sends (marks sent) until nothing is due; every id it claimed.
async fn send_all(store: Store) -> Vec<OutboxId> {
    let mut got = Vec::new();
    loop {
        let now = Utc::now();
        let batch = store
            .claim_chat(Platform::Telegram, now, now + Duration::seconds(30), 7)
            .await
            .unwrap();
        if batch.is_empty() {
            return got;
        }
        for m in batch {
            store.mark_sent(m.id, Utc::now()).await.unwrap();
            got.push(m.id);
        }
    }
}

#[tokio::test]
async fn senders_on_several_connections_claim_each_message_once() {
    let app = TestApp::new().await;
    let mut want = queue(&app.store, 400).await;
    // A second handle is a second daemon's pool: its own connections.
    let other = promoterd::daemon::open_database(&app.config()).await.unwrap();
    let senders: Vec<_> = [&app.store, &other, &app.store, &other]
        .into_iter()
        .map(|s| tokio::spawn(send_all(s.clone())))
        .collect();
    let mut got = Vec::new();
    let mut busy = 0;
    for s in senders {
        let mine = s.await.unwrap();
        busy += usize::from(!mine.is_empty());
        got.extend(mine);
    }
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len(), "each message claimed exactly once");
    assert_eq!(got, want);
    assert!(busy >= 2, "the senders overlapped ({busy} of 4 claimed anything)");
    let unsent: i64 = app
        .db()
        .await
        .scalar(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL OR claimed_until IS NOT NULL",
            &[],
        )
        .await;
    assert_eq!(unsent, 0, "all sent, no claim left behind");
    other.close().await;
}

#[tokio::test]
async fn a_claim_holds_until_it_lapses_or_is_given_back() {
    let app = TestApp::new().await;
    let ids = queue(&app.store, 2).await;
    let t0 = Utc::now();
    let claim = |at: chrono::DateTime<Utc>| {
        let store = app.store.clone();
        async move {
            let rows = store
                .claim_chat(Platform::Telegram, at, at + Duration::seconds(30), 10)
                .await
                .unwrap();
            rows.into_iter().map(|m| m.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(claim(t0).await, ids, "both due, oldest first");
    assert!(
        claim(t0 + Duration::seconds(1)).await.is_empty(),
        "held by the first claim"
    );
    app.store.release_claims(&ids[1..]).await.unwrap();
    assert_eq!(
        claim(t0 + Duration::seconds(2)).await,
        ids[1..],
        "given back: due at once"
    );
    // The first message's claim (made at t0) lapses at t0 + 30 s; the second's, made
    // at t0 + 2 s, still holds then.
    assert_eq!(claim(t0 + Duration::seconds(30)).await, ids[..1], "a lapsed claim");
    // Sent or retried later, a message carries no claim.
    app.store.mark_sent(ids[0], t0).await.unwrap();
    app.store
        .mark_attempt_failed(ids[1], "timeout", Some(t0 + Duration::seconds(40)), t0)
        .await
        .unwrap();
    let claimed: i64 = app
        .db()
        .await
        .scalar("SELECT count(*) FROM outbox WHERE claimed_until IS NOT NULL", &[])
        .await;
    assert_eq!(claimed, 0);
    assert!(
        claim(t0 + Duration::seconds(35)).await.is_empty(),
        "the retry is not due yet"
    );
    assert_eq!(claim(t0 + Duration::seconds(40)).await, ids[1..]);
}

/// A sender drops the stale invite mails of its own claimed batch only: another
/// sender's claimed row is that sender's to judge.
#[tokio::test]
async fn the_stale_invite_drop_touches_only_the_rows_given() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "invite dan@promo.test").await;
    // A resend makes the first invite mail stale (a newer one replaced it).
    app.ok(OWNER, "resend dan@promo.test").await;
    let mails = app.store.outbox_of("dan@promo.test").await.unwrap();
    let (old, new) = (mails[0].id, mails[1].id);
    assert_eq!(mails.len(), 2, "{mails:?}");
    let now = Utc::now();
    assert!(
        app.store.drop_stale_invite_mails(&[new], now).await.unwrap().is_empty(),
        "the current invite mail stays"
    );
    let kept = app.store.outbox_of("dan@promo.test").await.unwrap();
    assert!(
        kept.iter().all(|m| m.failed_at.is_none()),
        "the stale one was not given"
    );
    assert_eq!(
        app.store.drop_stale_invite_mails(&[old, new], now).await.unwrap(),
        vec![old]
    );
    let after = app.store.outbox_of("dan@promo.test").await.unwrap();
    assert!(
        after[0].failed_at.is_some() && after[1].failed_at.is_none(),
        "{after:?}"
    );
    assert!(
        after[0].last_error.as_deref().unwrap_or_default().contains("replaced"),
        "{after:?}"
    );
}
