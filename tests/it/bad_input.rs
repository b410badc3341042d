//! Bad input gets a clear answer and changes nothing, asserted on the database.

use super::support::*;
use promoterd::clock::Clock;

#[tokio::test]
async fn malformed_commands_are_explained() {
    let app = TestApp::new().await;
    app.world().await;
    refused(&app, OWNER, "frobnicate", "Unknown command `frobnicate`").await;
    refused(&app, OWNER, "stat summer-fest", "Did you mean `stats`?").await;
    refused(&app, OWNER, "invite", "Missing email").await;
    refused(
        &app,
        OWNER,
        "invite not-an-email summer-fest",
        "is not an email address",
    )
    .await;
    refused(
        &app,
        OWNER,
        "invite zed@x.test no-such-event",
        "You have no event `no-such-event`",
    )
    .await;
    refused(&app, OWNER, "stats no-such-event", "You have no event `no-such-event`").await;
    refused(&app, OWNER, "newtickettype summer-fest -5 Free", "is not a price").await;
    refused(
        &app,
        OWNER,
        "newevent summer-fest 2099-01-01 https://x.test/ Again",
        "The short name `summer-fest` is taken",
    )
    .await;
    refused(
        &app,
        OWNER,
        "newevent Bad_Slug 2099-01-01 https://x.test/ X",
        "is not a short name",
    )
    .await;
    refused(
        &app,
        OWNER,
        "newevent later \"next friday\" https://x.test/ X",
        "is not a date and time",
    )
    .await;
    refused(
        &app,
        OWNER,
        "newevent later 2099-01-01 javascript:alert(1) X",
        "http(s)://",
    )
    .await;
    refused(&app, OWNER, "editevent summer-fest colour red", "field must be one of").await;
    refused(
        &app,
        OWNER,
        "newtickettype summer-fest 10 VIP",
        "already has a ticket type named VIP",
    )
    .await;
    refused(&app, OWNER, &format!("invite {ANA}"), "already a promoter").await;
    refused(&app, OWNER, "resend nobody@x.test", "no pending invite").await;
    refused(&app, OWNER, "setleaderboard maybe", "one of: on, off").await;
    refused(&app, ANA, "newlink main summer-fest", "`main` is your main link").await;
    app.ok(ANA, "newlink tiktok summer-fest").await;
    refused(
        &app,
        ANA,
        "newlink TikTok summer-fest",
        "already have a link labelled `TikTok`",
    )
    .await;
}

#[tokio::test]
async fn invite_codes_are_single_use_and_bound_to_the_address() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    refused(&app, "cara@promo.test", "accept not!a!code", "is not a valid code").await;
    refused(
        &app,
        "cara@promo.test",
        "accept abcdefghjkmnpqrstuvwxyz2345",
        "invite code is not valid",
    )
    .await;
    refused(&app, ANA, &format!("accept {code}"), "sent to another address").await;
    app.ok("cara@promo.test", &format!("accept {code}")).await;
    refused(
        &app,
        "cara@promo.test",
        &format!("accept {code}"),
        "already been accepted",
    )
    .await;
    refused(
        &app,
        "cara@promo.test",
        &format!("ignore {code}"),
        "already been accepted",
    )
    .await;
    // A resend makes the old code worthless.
    app.ok(OWNER, "invite dan@promo.test").await;
    let old = app.invite_code("dan@promo.test").await;
    app.ok(OWNER, "resend dan@promo.test").await;
    let new = app.invite_code("dan@promo.test").await;
    assert_ne!(old, new);
    refused(
        &app,
        "dan@promo.test",
        &format!("accept {old}"),
        "invite code is not valid",
    )
    .await;
    // A cancelled invite cannot be accepted.
    app.ok(OWNER, "cancelinvite dan@promo.test").await;
    refused(&app, "dan@promo.test", &format!("accept {new}"), "cancelled").await;
}

#[tokio::test]
async fn an_expired_invite_is_refused() {
    let clock = Clock::fixed(chrono::Utc::now());
    let app = TestApp::with_clock(clock.clone()).await;
    app.create_org();
    app.ok(OWNER, &format!("invite {ANA}")).await;
    let code = app.invite_code(ANA).await;
    clock.advance(chrono::Duration::days(15));
    refused(&app, ANA, &format!("accept {code}"), "This invite has expired").await;
    // The sweep marks it expired; a new invite is then possible.
    let mut tx = app.store.write().await.unwrap();
    assert_eq!(app.store.expire_invites(&mut tx, clock.now()).await.unwrap(), 1);
    tx.commit().await.unwrap();
    app.ok(OWNER, &format!("invite {ANA}")).await;
}

#[tokio::test]
async fn malformed_order_imports_change_nothing() {
    let app = TestApp::new().await;
    app.world().await;
    let header = "order_id,event,status,ordered_at,ref,buyer_name,ticket_type,quantity,unit_price_minor,currency";
    let cases = [
        (
            "unknown event",
            format!("{header}\nX1,nope,paid,2099-05-01T10:00:00Z,,N,GA,1,100,EUR\n"),
            "unknown event `nope`",
        ),
        (
            "negative quantity",
            format!("{header}\nX1,summer-fest,paid,2099-05-01T10:00:00Z,,N,GA,-2,100,EUR\n"),
            "quantity -2",
        ),
        (
            "absurd price",
            format!("{header}\nX1,summer-fest,paid,2099-05-01T10:00:00Z,,N,GA,1,99999999999,EUR\n"),
            "unit price",
        ),
        (
            "other currency",
            format!("{header}\nX1,summer-fest,paid,2099-05-01T10:00:00Z,,N,GA,1,100,USD\n"),
            "differs from the event's currency EUR",
        ),
        (
            "bad status",
            format!("{header}\nX1,summer-fest,shipped,2099-05-01T10:00:00Z,,N,GA,1,100,EUR\n"),
            "status `shipped`",
        ),
        (
            "bad time",
            format!("{header}\nX1,summer-fest,paid,tomorrow,,N,GA,1,100,EUR\n"),
            "RFC 3339",
        ),
        (
            "unknown column",
            "order_id,colour\nX1,red\n".to_string(),
            "unknown column `colour`",
        ),
        (
            "not a number",
            format!("{header}\nX1,summer-fest,paid,2099-05-01T10:00:00Z,,N,GA,lots,100,EUR\n"),
            "quantity `lots`",
        ),
    ];
    for (name, csv, needle) in cases {
        // One good order in the same file: all or nothing.
        let csv = format!("{csv}G1,summer-fest,paid,2099-05-01T10:00:00Z,,Good,GA,1,100,EUR\n");
        let csv = if name == "unknown column" {
            "order_id,colour\nX1,red\n".to_string()
        } else {
            csv
        };
        std::fs::write(app.path("bad.csv"), &csv).unwrap();
        let before = app.dump().await;
        let out = app.bin(&["import-orders", app.path("bad.csv").to_str().unwrap()]);
        assert_eq!(out.code, Some(2), "{name}: {out:?}");
        assert!(
            out.stderr.contains(needle),
            "{name}: expected `{needle}` in {}",
            out.stderr
        );
        assert!(out.stderr.contains("Nothing was imported"), "{name}");
        assert_eq!(before, app.dump().await, "{name} changed the database");
    }
}

#[tokio::test]
async fn connect_requests_are_rate_limited() {
    let app = TestApp::new().await;
    app.world().await;
    for i in 0..3 {
        let r = app
            .chat(
                promoterd::commands::Platform::Telegram,
                "600",
                &format!("connect {ANA}"),
            )
            .await;
        assert!(!r.is_error, "request {i}: {}", r.to_plain());
    }
    let before = app.dump().await;
    let r = app
        .chat(
            promoterd::commands::Platform::Telegram,
            "600",
            &format!("connect {ANA}"),
        )
        .await;
    assert!(
        r.is_error && r.to_plain().contains("Too many link requests"),
        "{}",
        r.to_plain()
    );
    // Another account cannot flood the same address either.
    let r = app
        .chat(
            promoterd::commands::Platform::Telegram,
            "601",
            &format!("connect {ANA}"),
        )
        .await;
    assert!(r.is_error && r.to_plain().contains("Too many link requests"));
    assert_eq!(before, app.dump().await);
}

#[tokio::test]
async fn all_digit_event_names_are_refused() {
    let app = TestApp::new().await;
    app.world().await;
    refused(
        &app,
        OWNER,
        "newevent 2027 2099-01-01 https://x.test/ X",
        "is not a short name",
    )
    .await;
}

#[tokio::test]
async fn a_changed_order_without_a_newer_updated_at_is_a_conflict_not_a_silent_no_op() {
    let app = TestApp::new().await;
    app.world().await;
    let header = "order_id,event,status,ordered_at,ticket_type,quantity,refunded_quantity,unit_price_minor,currency";
    std::fs::write(
        app.path("a.csv"),
        format!("{header}\nU1,summer-fest,paid,2099-05-01T10:00:00Z,VIP,2,0,12950,EUR\n"),
    )
    .unwrap();
    assert!(app.bin(&["import-orders", app.path("a.csv").to_str().unwrap()]).ok);
    // A refund row without updated_at: same time as the stored state, other content.
    std::fs::write(
        app.path("b.csv"),
        format!("{header}\nU1,summer-fest,paid,2099-05-01T10:00:00Z,VIP,2,1,12950,EUR\n"),
    )
    .unwrap();
    let before = app.dump().await;
    let out = app.bin(&["import-orders", app.path("b.csv").to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("send the time of the change in updated_at"),
        "{}",
        out.stderr
    );
    assert_eq!(before, app.dump().await);
    // Re-importing the identical file changes nothing at all.
    let out = app.bin(&["import-orders", app.path("a.csv").to_str().unwrap()]);
    assert!(out.ok && out.stdout.contains("1 unchanged"), "{out:?}");
    assert_eq!(before, app.dump().await);
}

#[tokio::test]
async fn one_chat_account_cannot_flood_the_bot() {
    let app = TestApp::new().await;
    for i in 0..30 {
        let r = app.chat(promoterd::commands::Platform::Discord, "4242", "help").await;
        assert!(!r.is_error, "command {i}");
    }
    let r = app.chat(promoterd::commands::Platform::Discord, "4242", "help").await;
    assert!(r.is_error && r.to_plain().contains("Slow down"), "{}", r.to_plain());
    let other = app.chat(promoterd::commands::Platform::Discord, "4243", "help").await;
    assert!(!other.is_error, "others are not slowed down");
}
