//! What an outside attack found (issue 14): each test failed on the code before its fix.
//! Revokes that leave access behind, invite codes that take over an email identity,
//! invites answered by the wrong account, and leaked ids.

use super::support::*;
use chrono::{DateTime, Utc};
use promoterd::clock::Clock;
use promoterd::commands::Platform;

/// A home whose bot has an address (mail stays queued: no servers needed), with the
/// configuration text also passed through `edit`.
async fn mail_home(edit: Option<&str>) -> TestApp {
    mail_home_at(Clock::system(), edit).await
}

/// [`mail_home`] on the given clock.
async fn mail_home_at(clock: Clock, edit: Option<&str>) -> TestApp {
    let extra = edit.unwrap_or("").to_string();
    TestApp::custom(clock, move |t| {
        t.edit("[email]\n", &format!("[email]\nfrom = \"bot@bot.test\"\n{extra}"))
    })
    .await
}

/// Runs one raw mail through the inbound handler, as the IMAP poller does.
async fn inbound(app: &TestApp, raw: &str, uid: u32) -> bool {
    let settings = promoterd::email::handle::InboundSettings {
        bot_address: "bot@bot.test".into(),
        mailbox: "INBOX".into(),
        require_authentication_results: app.config().email.require_authentication_results.clone(),
    };
    let pos = promoterd::email::handle::MailPosition { uid_validity: 1, uid };
    promoterd::email::handle::process(&app.core, &settings, raw.as_bytes(), pos)
        .await
        .unwrap()
}

/// A client's reply from `from` to a queued mail of ours.
fn reply_mail(from: &str, to: &promoterd::store::OutboxRow, answer: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: {}\r\nMessage-ID: {id}\r\nIn-Reply-To: {}\r\nSubject: Re: {}\r\n\r\n{answer}\r\n",
        to.reply_to.as_deref().unwrap(),
        to.message_id.as_deref().unwrap(),
        to.subject
    )
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Ben promotes `summer-fest` and, later invited to the whole organization, every event.
async fn ben_at_two_levels(app: &TestApp) -> String {
    app.world().await;
    let event_link = link_code(&app.ok(BEN, "mylink summer-fest").await);
    app.ok(OWNER, &format!("invite {BEN}")).await;
    let code = app.invite_code(BEN).await;
    app.ok(BEN, &format!("accept {code}")).await;
    event_link
}

#[tokio::test]
async fn an_organization_wide_revoke_ends_every_membership_of_that_person() {
    let app = TestApp::new().await;
    let event_link = ben_at_two_levels(&app).await;
    app.ok(OWNER, "setleaderboard on").await;
    assert!(app.store.live_link_target(&event_link).await.unwrap().is_some());

    let reply = app.ok(OWNER, &format!("revoke {BEN}")).await;
    assert!(
        reply.contains("all events") && reply.contains("summer-fest"),
        "the reply lists both memberships it ended:\n{reply}"
    );
    assert!(
        app.store.live_link_target(&event_link).await.unwrap().is_none(),
        "the event-level link must stop redirecting"
    );
    refused(
        &app,
        BEN,
        "mystats summer-fest",
        "You are not a promoter of `summer-fest`",
    )
    .await;
    refused(
        &app,
        BEN,
        "mylink summer-fest",
        "You are not a promoter of `summer-fest`",
    )
    .await;
    let board = app.ok(OWNER, "leaderboard summer-fest").await;
    assert!(
        !board.contains("ben"),
        "a revoked promoter leaves the leaderboard:\n{board}"
    );
    let promoters = app.ok(OWNER, "promoters").await;
    assert!(
        !promoters.lines().any(|l| l.contains(BEN) && l.contains("active")),
        "{promoters}"
    );
    // Nothing left to revoke: a clear answer and no change.
    refused(
        &app,
        OWNER,
        &format!("revoke {BEN}"),
        "is not a promoter of Acme Events",
    )
    .await;
}

#[tokio::test]
async fn an_event_revoke_ends_only_that_event() {
    let app = TestApp::new().await;
    ben_at_two_levels(&app).await;
    let reply = app.ok(OWNER, &format!("revoke {BEN} summer-fest")).await;
    assert!(reply.contains("summer-fest"), "{reply}");
    // The organization-wide membership still covers summer-fest.
    app.ok(BEN, "mystats summer-fest").await;
}

#[tokio::test]
async fn the_event_membership_speaks_for_its_event_over_the_organization_wide_one() {
    let app = TestApp::new().await;
    let event_link = ben_at_two_levels(&app).await;
    // Both memberships cover summer-fest; its own is the more specific, in either spelling.
    for line in ["mylink summer-fest", "mylink acme-events/summer-fest"] {
        assert_eq!(link_code(&app.ok(BEN, line).await), event_link, "{line}");
    }
    // Ending the event membership leaves the organization-wide one, with a link of its own.
    app.ok(OWNER, &format!("revoke {BEN} summer-fest")).await;
    let org_link = link_code(&app.ok(BEN, "mylink summer-fest").await);
    assert_ne!(org_link, event_link);
}

#[tokio::test]
async fn an_invite_redeemed_from_chat_grants_that_membership_and_nothing_that_comes_to_the_address_later() {
    let clock = Clock::fixed(utc("2027-06-01T06:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let cara = "cara@promo.test";
    app.ok(OWNER, &format!("invite {cara} summer-fest")).await;
    let code = app.invite_code(cara).await;
    // Someone with the forwarded code redeems it from an unlinked Telegram account.
    let r = app.chat(Platform::Telegram, "666", &format!("accept {code}")).await;
    assert!(!r.is_error, "{}", r.to_plain());
    let r = app.chat(Platform::Telegram, "666", "mystats summer-fest").await;
    assert!(!r.is_error, "the redeemed membership works: {}", r.to_plain());

    // Later the owner makes that address an admin, and its owner accepts by mail.
    app.ok(OWNER, &format!("inviteadmin {cara}")).await;
    let code = app.invite_code(cara).await;
    app.ok(cara, &format!("accept {code}")).await;
    app.ok(cara, "stats summer-fest").await;

    // The chat account holds only the membership it redeemed.
    for line in [
        "stats summer-fest",
        "export summer-fest",
        "promoters",
        "invite x@y.test summer-fest",
    ] {
        chat_refused(&app, Platform::Telegram, "666", line, &format!("connect {cara}")).await;
    }
    // An organization-wide membership that arrives at the address later is not the account's either.
    app.ok(OWNER, &format!("invite {cara}")).await;
    let code = app.invite_code(cara).await;
    app.ok(cara, &format!("accept {code}")).await;
    app.ok(
        OWNER,
        "newevent winter-ball 2099-12-12 https://tickets.acme.test/winter Winter Ball",
    )
    .await;
    app.ok(cara, "mystats winter-ball").await;
    let r = app.chat(Platform::Telegram, "666", "mystats winter-ball").await;
    assert!(r.is_error, "{}", r.to_plain());
    // No organizer menu and no organizer digest for that account.
    assert!(
        !app.store
            .organizer_chat_accounts(promoterd::commands::Platform::Telegram)
            .await
            .unwrap()
            .contains(&"666".to_string())
    );
    app.ok(cara, "digest daily").await;
    clock.advance(chrono::Duration::hours(2)); // 09:00 in Berlin
    app.core.run_digests().await.unwrap();
    let outbox = TestApp::dump_section(&app.dump().await, "outbox");
    assert!(
        !outbox
            .lines()
            .any(|l| l.contains("'666'") && l.contains("organizer digest")),
        "the organizer digest must not reach the invite-linked account:\n{outbox}"
    );
    assert!(
        queued(&app, cara, "digest")
            .await
            .iter()
            .any(|m| m.subject.contains("organizer")),
        "it goes to the address on record"
    );

    // Full linking stays connect + verify, and then the account acts as the person.
    app.link_chat(Platform::Telegram, "666", cara).await;
    let r = app.chat(Platform::Telegram, "666", "stats summer-fest").await;
    assert!(!r.is_error, "{}", r.to_plain());
}

#[tokio::test]
async fn an_unlinked_chat_account_cannot_decline_someone_elses_invite() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    let before = app.dump().await;
    let r = app.chat(Platform::Discord, "31337", &format!("ignore {code}")).await;
    assert!(r.is_error, "{}", r.to_plain());
    assert!(
        r.to_plain().contains("reply `ignore` to the invite mail"),
        "{}",
        r.to_plain()
    );
    assert_eq!(before, app.dump().await);
    // The invitee still can.
    app.ok("cara@promo.test", &format!("accept {code}")).await;
}

#[tokio::test]
async fn only_the_owner_resends_or_cancels_an_organizer_invite() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "inviteadmin carl@acme.test").await;
    refused(&app, ADMIN, "resend carl@acme.test", "Only the owner").await;
    refused(&app, ADMIN, "cancelinvite carl@acme.test", "Only the owner").await;
    app.ok(OWNER, "resend carl@acme.test").await;
    // Promoter invites stay the admins' business.
    app.ok(ADMIN, "invite zed@promo.test summer-fest").await;
    app.ok(ADMIN, "resend zed@promo.test summer-fest").await;
}

#[tokio::test]
async fn after_resend_a_reply_to_the_first_invite_mail_no_longer_accepts() {
    let app = mail_home(None).await;
    app.world().await;
    let cara = "cara@promo.test";
    app.ok(OWNER, &format!("invite {cara} summer-fest")).await;
    let first = queued(&app, cara, "invite").await.remove(0);
    app.ok(OWNER, &format!("resend {cara} summer-fest")).await;
    let second = queued(&app, cara, "invite").await.pop().unwrap();
    assert_ne!(first.reply_to, second.reply_to);

    let before = TestApp::dump_section(&app.dump().await, "memberships");
    inbound(&app, &reply_mail(cara, &first, "accept", "<r1@promo.test>"), 1).await;
    assert_eq!(
        before,
        TestApp::dump_section(&app.dump().await, "memberships"),
        "a reply to the replaced invite mail must not accept"
    );
    let answer = queued(&app, cara, "error").await;
    assert!(
        answer.iter().any(|m| m.body.contains("replaced by a newer invite")),
        "{answer:?}"
    );
    inbound(&app, &reply_mail(cara, &second, "accept", "<r2@promo.test>"), 2).await;
    app.ok(cara, "mystats summer-fest").await;
}

#[tokio::test]
async fn leaderboard_names_show_no_address_and_no_id() {
    let app = TestApp::new().await;
    app.world().await;
    let newcomers = ["dee@promo.test", "eve@promo.test", "fay@promo.test"];
    for who in newcomers {
        app.ok(OWNER, &format!("invite {who} summer-fest")).await;
        let code = app.invite_code(who).await;
        app.ok(who, &format!("accept {code}")).await;
    }
    app.ok(OWNER, &format!("revoke {ANA}")).await;
    app.ok(OWNER, &format!("revoke {BEN} summer-fest")).await;
    app.ok(OWNER, "setleaderboard on").await;
    let board = app.ok("dee@promo.test", "leaderboard summer-fest").await;
    for who in newcomers {
        let local = who.split('@').next().unwrap();
        assert!(
            board.contains(local),
            "{local} is named by the address's local part:\n{board}"
        );
    }
    assert!(!board.contains("@promo.test"), "no address is shown:\n{board}");
    assert!(!board.contains("Promoter #"), "{board}");
}

/// A mail from `from` that starts a new thread (no reply token).
fn new_thread(from: &str, subject: &str, headers: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: bot@bot.test\r\nMessage-ID: <{}@elsewhere.test>\r\nSubject: {subject}\r\n{headers}\r\n{body}\r\n",
        promoterd::codes::link_code()
    )
}

#[tokio::test]
async fn forged_mail_from_unknown_addresses_gets_one_plain_answer_a_day_and_none_when_it_fails_dmarc() {
    let clock = Clock::fixed(utc("2027-03-01T10:00:00Z"));
    let app = mail_home_at(clock.clone(), None).await;
    app.world().await;
    let victim = "victim@elsewhere.test";
    let spam = "Cheap watches http://spam.example";
    assert!(inbound(&app, &new_thread(victim, spam, "", "accept"), 1).await);
    let answers = queued(&app, victim, "error").await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(
        answers[0].subject, "Your mail to promoterd",
        "a fixed subject, never the forger's"
    );
    assert!(!answers[0].body.contains("spam.example"));
    // Two hours later (the old limit was one an hour): nothing more that day.
    clock.advance(chrono::Duration::hours(2));
    assert!(inbound(&app, &new_thread(victim, spam, "", "accept"), 2).await);
    assert_eq!(queued(&app, victim, "error").await.len(), 1);
    clock.advance(chrono::Duration::hours(23));
    assert!(inbound(&app, &new_thread(victim, spam, "", "accept"), 3).await);
    assert_eq!(queued(&app, victim, "error").await.len(), 2, "one a day");
    // A mail our server saw fail DMARC gets no answer at all.
    let other = "other@elsewhere.test";
    let failed =
        "Authentication-Results: mx.bot.test; spf=pass smtp.mailfrom=x.test; dmarc=fail header.from=elsewhere.test\r\n";
    assert!(inbound(&app, &new_thread(other, spam, failed, "accept"), 4).await);
    assert!(queued(&app, other, "error").await.is_empty());
    // A person we know still hears back within the hour, about their own mail.
    assert!(inbound(&app, &new_thread(BEN, "Re: my stats", "", "newlink x"), 5).await);
    let ben = queued(&app, BEN, "error").await;
    assert_eq!(ben.len(), 1);
    assert_eq!(
        ben[0].subject, "Re: my stats",
        "a person we know gets their own subject back"
    );
}

#[tokio::test]
async fn an_export_for_an_attachment_stops_at_the_cap() {
    let app = TestApp::custom(Clock::system(), |t| {
        t.edit("max_attachment_bytes = 8388608", "max_attachment_bytes = 2000")
    })
    .await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let mut csv = String::from(
        "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,ticket_type,quantity,unit_price_minor,currency\n",
    );
    for i in 0..40 {
        csv.push_str(&format!(
            "C{i},summer-fest,paid,2099-05-01T10:00:00Z,{code},Buyer {i},b{i}@buyers.test,VIP,1,12950,EUR\n"
        ));
    }
    let path = app.path("orders.csv");
    std::fs::write(&path, csv).unwrap();
    assert!(app.bin(&["import-orders", path.to_str().unwrap()]).ok);
    let text = refused(&app, OWNER, "export summer-fest", "larger than 1 MB").await;
    assert!(text.contains("promoterd export"), "{text}");
    // The operator's export streams to a file and has no such cap.
    let out = app.path("all.csv");
    assert!(
        app.bin(&["export", "--event", "summer-fest", "--out", out.to_str().unwrap()])
            .ok
    );
    assert_eq!(std::fs::read_to_string(out).unwrap().lines().count(), 41);
}

#[test]
fn webhook_secrets_from_the_environment_need_sixteen_characters_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("promoterd.toml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"), &config).unwrap();
    let run = |secrets: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_promoterd"))
            .arg("--config")
            .arg(&config)
            .arg("migrate")
            .env("PROMOTERD_WEBHOOK_SECRETS", secrets)
            .output()
            .unwrap()
    };
    let out = run("short,also-short");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PROMOTERD_WEBHOOK_SECRETS") && err.contains("16 characters"),
        "{err}"
    );
    assert!(run("whsec-0123456789abcdef").status.success());
}

#[tokio::test]
async fn short_names_are_unique_per_organization_and_never_tell_of_another() {
    let app = TestApp::new().await;
    app.world().await;
    let rival = "rival@rival.test";
    assert!(app.bin(&["org", "create", "Rival Shows", "--owner", rival]).ok);
    // Another organization's short name is free here, and nothing says it exists.
    let created = app
        .ok(
            rival,
            "newevent summer-fest 2099-07-01 https://rival.test/t Rival Summer",
        )
        .await;
    assert!(!created.contains("taken"), "{created}");
    refused(
        &app,
        rival,
        "newevent summer-fest 2099-07-02 https://rival.test/u Again",
        "Rival Shows already has an event of that name",
    )
    .await;
    // Each organizer reaches their own event by the bare name.
    assert!(app.ok(rival, "stats summer-fest").await.contains("Rival Summer"));
    assert!(app.ok(OWNER, "stats summer-fest").await.contains("Summer Fest"));
    // Someone organizing both is asked which, and the qualified name works.
    app.ok(rival, &format!("inviteadmin {ADMIN}")).await;
    let code = app.invite_code(ADMIN).await;
    app.ok(ADMIN, &format!("accept {code}")).await;
    refused(
        &app,
        ADMIN,
        "stats summer-fest",
        "acme-events/summer-fest or rival-shows/summer-fest",
    )
    .await;
    assert!(
        app.ok(ADMIN, "stats rival-shows/summer-fest")
            .await
            .contains("Rival Summer")
    );
    // The order webhook: a bare name two organizations use is refused with nothing
    // stored; the qualified name lands in that organization's event.
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    let body = |event: &str, id: &str| {
        serde_json::json!({
            "id": format!("dlv-{id}"), "type": "order.created",
            "order": {"id": id, "event": event, "created_at": "2099-05-01T10:00:00Z",
                      "updated_at": "2099-05-01T10:00:00Z",
                      "lines": [{"ticket_type": "GA", "quantity": 1, "unit_price": 100, "currency": "EUR"}]}
        })
        .to_string()
    };
    let before = app.dump().await;
    let b = body("summer-fest", "AMB-1");
    let (status, answer) = super::http::post_order(
        &base,
        &b,
        Some(super::http::signature(NEW_SECRET, super::http::now(), &b)),
    )
    .await;
    assert_eq!(
        (status.as_u16(), answer["error"].as_str()),
        (422, Some("ambiguous_event")),
        "{answer}"
    );
    assert_eq!(before, app.dump().await);
    let b = body("rival-shows/summer-fest", "AMB-2");
    let (status, answer) = super::http::post_order(
        &base,
        &b,
        Some(super::http::signature(NEW_SECRET, super::http::now(), &b)),
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{answer}");
    server.stop().await.unwrap();
    assert!(app.ok(rival, "stats summer-fest").await.contains("GA"));
}

#[tokio::test]
async fn the_database_and_its_wal_files_are_readable_by_their_owner_only() {
    if sqlite_only("the database file's permissions") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::new().await;
    app.world().await;
    let db = app.config().database_path();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path} holds buyers' data");
    }
}
