//! What the outbox keeps (issue 21): nothing of a sent message that could be used or
//! read again (invite code, reply token, exported buyers), searched for in the database
//! file's bytes; a message given up on keeps its content a week for the operator.

use super::email::{addr, mail_app, org_with_event, read, send, wait_mail};
use super::privacy::{import, order};
use super::support::*;
use chrono::{TimeZone, Utc};
use promoterd::clock::Clock;
use std::time::Duration;

/// What the database holds: SQLite's file and its log, byte for byte (free pages too);
/// on PostgreSQL every row (old row versions are its vacuum's to reclaim).
async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    if on_postgres() {
        return app.dump().await.into_bytes();
    }
    let db = app.config().database_path();
    let mut all = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) {
        all.extend(wal);
    }
    all
}

#[tokio::test]
async fn the_outbox_keeps_no_code_token_or_buyer_csv_once_sent() {
    let (app, tag) = mail_app("priv").await;
    let tag = tag.as_str();
    let (boss, ana) = (addr("boss", tag), addr("ana", tag));
    org_with_event(&app, &boss).await;
    app.ok(&boss, "newtickettype summer-fest 49 General Admission").await;
    app.ok(&boss, &format!("invite {ana} summer-fest")).await;
    let holds = |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    let code = app.invite_code(&ana).await;
    assert!(
        holds(&stored_bytes(&app).await, &code),
        "the search sees a queued code (else it proves nothing)"
    );

    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    let invite = read(&wait_mail(&ana, |m| m.contains("invites you to promote")).await);
    let token = invite
        .reply_to
        .split('+')
        .nth(1)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_string();
    assert!(token.len() >= 20, "{token}");
    app.ok(&ana, &format!("accept {code}")).await;
    let ana_link = link_code(&app.ok(&ana, "mylink").await);
    // Enough buyers that the CSV spills over several database pages, which a scrub
    // frees: freed pages must not keep their bytes either.
    let rows: Vec<String> = (1..=80)
        .map(|i| {
            let name = format!("Quinn Private {i}");
            let email = format!("quinn{i}@buyer.test");
            order(
                &format!("Q{i}"),
                "summer-fest",
                &ana_link,
                (&name, &email, "+44 20 7946 0000"),
                1,
                "2099-05-01T10:00:00Z",
            )
        })
        .collect();
    import(&app, "o.csv", &rows).await;
    // The organizer asks for the export by mail: the CSV travels as an attachment.
    let bot = format!("bot-{tag}@example.test");
    send(
        &boss,
        &bot,
        &format!(
            "From: {boss}\nTo: {bot}\nSubject: export\nMessage-ID: <exp-{tag}@client.example>\n\
             Date: Mon, 23 Nov 2026 22:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain\n\nexport summer-fest\n"
        ),
    )
    .await;
    let raw = wait_mail(&boss, |m| m.contains("referred-buyers-summer-fest")).await;
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let csv = parsed
        .attachments()
        .find(|a| mail_parser::MimeHeaders::attachment_name(*a).is_some_and(|n| n.ends_with(".csv")))
        .map(|a| String::from_utf8(a.contents().to_vec()).unwrap())
        .expect("the CSV");
    assert!(csv.len() > 3 * 4096, "the CSV spans pages: {} bytes", csv.len());
    let data_lines: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(data_lines.len(), 80);
    wait_until("every queued message is sent", Duration::from_secs(15), || async {
        app.store
            .outbox_entries(None, Utc::now() - chrono::Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    email.stop().await;
    promoterd::housekeeping::run_once(&app.core).await.unwrap();

    let all = stored_bytes(&app).await;
    assert!(!holds(&all, &code), "the invite code is in the database file");
    assert!(!holds(&all, &token), "the reply token is in the database file");
    for line in &data_lines {
        assert!(
            !holds(&all, line),
            "a row of the buyer CSV is in the database file: {line}"
        );
    }
    assert!(
        !holds(&all, csv.lines().next().unwrap()),
        "the CSV header is in the database file"
    );
}

#[tokio::test]
async fn a_message_given_up_on_keeps_its_content_a_week_for_the_operator_then_loses_it() {
    let clock = Clock::fixed(Utc.with_ymd_and_hms(2099, 5, 1, 12, 0, 0).unwrap());
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    app.ok(OWNER, "invite gone@promo.test summer-fest").await;
    let mail = queued(&app, "gone@promo.test", "invite").await.remove(0);
    let code = app.invite_code("gone@promo.test").await;
    app.store
        .mark_attempt_failed(mail.id, "550 5.1.1 no such user", None, clock.now())
        .await
        .unwrap();
    clock.advance(chrono::Duration::days(7) - chrono::Duration::minutes(1));
    let chores = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(chores.scrubbed_messages, 0);
    let entry = app.store.outbox_entry(mail.id).await.unwrap().unwrap();
    assert!(entry.body.contains(&code), "the operator still sees what failed");
    clock.advance(chrono::Duration::minutes(2));
    let chores = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(chores.scrubbed_messages, 1);
    let entry = app.store.outbox_entry(mail.id).await.unwrap().unwrap();
    assert_eq!(entry.body, "");
    assert_eq!(entry.last_error.as_deref(), Some("550 5.1.1 no such user"));
    assert_eq!(entry.recipient, "gone@promo.test");
    let dump = app.dump().await;
    assert!(!dump.contains(&code), "the code is gone from every table");
}

/// A message an older version sent kept its content; the hourly chores drop it.
#[tokio::test]
async fn messages_sent_before_the_upgrade_lose_their_content_at_the_next_chores() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "invite old@promo.test summer-fest").await;
    let mail = queued(&app, "old@promo.test", "invite").await.remove(0);
    let code = app.invite_code("old@promo.test").await;
    // As the previous version left it: sent, content kept, never scrubbed.
    let db = app.db().await;
    db.exec(
        &format!(
            "UPDATE outbox SET sent_at = '2026-11-01T10:00:00Z' WHERE id = {}",
            mail.id.get()
        ),
        &[],
    )
    .await;
    db.close().await;
    assert!(app.dump().await.contains(&code));
    let chores = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert!(chores.scrubbed_messages >= 1, "{chores:?}");
    assert!(
        !app.dump().await.contains(&code),
        "the sent invite still holds its code"
    );
    // Pending messages keep theirs: they have yet to be sent.
    app.ok(OWNER, "invite new@promo.test summer-fest").await;
    promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert!(!queued(&app, "new@promo.test", "invite").await[0].body.is_empty());
}

#[tokio::test]
async fn applied_chat_updates_are_forgotten_after_a_week() {
    // The table of applied update ids (repeats refused) grew without end before.
    let clock = Clock::fixed(Utc.with_ymd_and_hms(2099, 5, 1, 12, 0, 0).unwrap());
    let app = TestApp::with_clock(clock.clone()).await;
    let tg = promoterd::commands::Platform::Telegram;
    assert!(app.store.record_chat_update(tg, "100", clock.now()).await.unwrap());
    clock.advance(chrono::Duration::days(2));
    assert!(app.store.record_chat_update(tg, "101", clock.now()).await.unwrap());
    clock.advance(chrono::Duration::days(5) + chrono::Duration::minutes(1));
    let chores = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(chores.forgotten_chat_updates, 1);
    assert!(!app.store.chat_update_seen(tg, "100").await.unwrap());
    assert!(
        app.store.chat_update_seen(tg, "101").await.unwrap(),
        "a newer one is kept"
    );
    let again = promoterd::housekeeping::run_once(&app.core).await.unwrap();
    assert_eq!(again.forgotten_chat_updates, 0);
}
