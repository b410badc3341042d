//! Stored words read back as their enums, and a word outside its set fails the read as
//! corrupt instead of being defaulted.

use super::super::sql::query;
use super::super::{ChatAccount, InviteKind, LinkScope, NewInvite, Store, StoreError, WriteTx};
use crate::domain::{InviteStatus, MembershipStatus, OrganizerRole, Platform};
use chrono::{Duration, Utc};

struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
    person: crate::domain::PersonId,
    membership: crate::domain::MembershipId,
    invite: crate::domain::InviteId,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(&dir.path().join("db.sqlite"), false).await.unwrap();
    store.migrate().await.unwrap();
    let now = Utc::now();
    let mut tx = store.write().await.unwrap();
    let person = store
        .upsert_person(&mut tx, "owner@example.com", true, now)
        .await
        .unwrap();
    let org = store
        .create_org(&mut tx, "fest", "Fest", "UTC", "EUR", person, now)
        .await
        .unwrap();
    let invite = NewInvite {
        org_id: org,
        event_id: None,
        email: "ana@example.com",
        kind: InviteKind::Promoter,
        code_hash: "hash",
        invited_by: person,
        expires_at: now + Duration::days(1),
    };
    let invite = store.create_invite(&mut tx, &invite, now).await.unwrap();
    let account = ChatAccount {
        platform: Platform::Discord,
        external_id: "42".into(),
        username: None,
    };
    store
        .link_chat_account(&mut tx, &account, person, LinkScope::Full, now)
        .await
        .unwrap();
    let membership = store
        .invite_by_id(&mut tx, invite)
        .await
        .unwrap()
        .unwrap()
        .membership_id
        .unwrap();
    tx.commit().await.unwrap();
    Fixture {
        store,
        _dir: dir,
        person,
        membership,
        invite,
    }
}

/// Writes what the schema's CHECK constraints would refuse, as a damaged or newer
/// database could hold it.
async fn corrupt(store: &Store, sql: &str) {
    query("PRAGMA ignore_check_constraints = ON")
        .execute(store.writer())
        .await
        .unwrap();
    let mut tx: WriteTx = store.write().await.unwrap();
    query(sql.to_string()).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

fn corrupt_message<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Corrupt(m)) => m,
        other => panic!("expected a corrupt-data error, got {other:?}"),
    }
}

#[tokio::test]
async fn stored_words_read_back_as_their_values() {
    let f = fixture().await;
    let m = f.store.membership(f.membership).await.unwrap().unwrap();
    assert_eq!(m.status, MembershipStatus::Invited);
    let mut tx = f.store.write().await.unwrap();
    let invite = f.store.invite_by_id(&mut tx, f.invite).await.unwrap().unwrap();
    assert_eq!(
        (invite.kind, invite.status),
        (InviteKind::Promoter, InviteStatus::Pending)
    );
    f.store
        .resolve_invite(
            &mut tx,
            &invite,
            InviteStatus::Accepted,
            MembershipStatus::Active,
            Utc::now(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let m = f.store.membership(f.membership).await.unwrap().unwrap();
    assert_eq!(m.status, MembershipStatus::Active);
    let orgs = f.store.orgs_organized_by(f.person).await.unwrap();
    assert_eq!(orgs[0].1, OrganizerRole::Owner);
    let accounts = f.store.linked_accounts(f.person).await.unwrap();
    assert_eq!(accounts[0].platform, Platform::Discord);
}

#[tokio::test]
async fn an_unknown_membership_status_is_corrupt_not_a_default() {
    let f = fixture().await;
    corrupt(
        &f.store,
        &format!("UPDATE memberships SET status = 'activ' WHERE id = {}", f.membership),
    )
    .await;
    let msg = corrupt_message(f.store.membership(f.membership).await);
    assert_eq!(msg, "membership status `activ`");
}

#[tokio::test]
async fn unknown_invite_role_and_platform_words_are_corrupt() {
    let f = fixture().await;
    corrupt(
        &f.store,
        &format!("UPDATE invites SET status = 'lost' WHERE id = {}", f.invite),
    )
    .await;
    let mut tx = f.store.write().await.unwrap();
    assert_eq!(
        corrupt_message(f.store.invite_by_id(&mut tx, f.invite).await),
        "invite status `lost`"
    );
    drop(tx);
    corrupt(&f.store, "UPDATE organizers SET role = 'boss'").await;
    assert_eq!(
        corrupt_message(f.store.orgs_organized_by(f.person).await),
        "organizer role `boss`"
    );
    corrupt(&f.store, "UPDATE chat_accounts SET platform = 'slack'").await;
    assert_eq!(
        corrupt_message(f.store.linked_accounts(f.person).await),
        "chat platform `slack`"
    );
}

#[tokio::test]
async fn a_malformed_stored_time_is_corrupt_not_the_epoch() {
    let f = fixture().await;
    let mut tx = f.store.write().await.unwrap();
    assert!(f.store.invite_by_id(&mut tx, f.invite).await.unwrap().is_some());
    drop(tx);
    corrupt(
        &f.store,
        &format!("UPDATE invites SET expires_at = 'next tuesday' WHERE id = {}", f.invite),
    )
    .await;
    let mut tx = f.store.write().await.unwrap();
    let msg = corrupt_message(f.store.invite_by_id(&mut tx, f.invite).await);
    assert!(msg.contains("next tuesday"), "{msg}");
    drop(tx);
    corrupt(
        &f.store,
        &format!("UPDATE people SET created_at = '' WHERE id = {}", f.person),
    )
    .await;
    assert!(corrupt_message(f.store.person(f.person).await).starts_with("column "));
}
