//! One test per "no" of the permission matrix: the refusal is clear and nothing changes.

use super::support::*;
use promoterd::commands::Platform;

#[tokio::test]
async fn a_promoter_cannot_invite_or_revoke() {
    let app = TestApp::new().await;
    app.world().await;
    let t = refused(
        &app,
        ANA,
        "invite zed@x.test summer-fest",
        "is for organizers of Acme Events",
    )
    .await;
    assert!(t.contains("mystats"), "points the promoter to what they can do: {t}");
    refused(&app, BEN, "invite zed@x.test", "is for organizers of Acme Events").await;
    refused(&app, ANA, &format!("revoke {BEN} summer-fest"), "is for organizers").await;
    refused(&app, ANA, "promoters", "is for organizers").await;
    refused(&app, ANA, "invites", "is for organizers").await;
}

#[tokio::test]
async fn a_promoter_cannot_export() {
    let app = TestApp::new().await;
    app.world().await;
    refused(&app, ANA, "export summer-fest", "is for organizers").await;
    refused(&app, BEN, "export", "is for organizers").await;
}

#[tokio::test]
async fn a_promoter_cannot_see_another_promoters_stats_or_event_totals() {
    let app = TestApp::new().await;
    app.world().await;
    refused(&app, ANA, &format!("stats summer-fest {BEN}"), "is for organizers").await;
    refused(&app, ANA, "stats summer-fest", "is for organizers").await;
    refused(&app, BEN, "orglinks summer-fest", "is for organizers").await;
    // `mystats` answers only for the asker's own membership.
    let ben = app.ok(BEN, "mystats").await;
    assert!(ben.starts_with("Your sales — Summer Fest"), "{ben}");
}

#[tokio::test]
async fn a_promoter_never_sees_buyer_data() {
    let app = TestApp::new().await;
    app.world().await;
    let link = link_code(&app.ok(BEN, "mylink").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,buyer_phone,ticket_type,quantity,unit_price_minor,currency\n\
         Q1,summer-fest,paid,2099-05-01T10:00:00Z,{link},Quinn Private,quinn@private.test,+1 555 0100,VIP,1,12950,EUR\n"
    );
    std::fs::write(app.path("o.csv"), csv).unwrap();
    assert!(app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]).ok);
    for line in ["myorders", "mystats", "links", "whoami", "help"] {
        let text = app.ok(BEN, line).await;
        for secret in ["Quinn", "quinn@private.test", "555 0100"] {
            assert!(!text.contains(secret), "`{line}` shows buyer data `{secret}`:\n{text}");
        }
    }
    assert!(
        app.ok(BEN, "myorders").await.contains("Q1"),
        "the order itself is listed"
    );
    // The organizer does see the buyer.
    let out = app.ok(OWNER, "export summer-fest").await;
    let file = saved_file(&out);
    assert!(std::fs::read_to_string(file).unwrap().contains("quinn@private.test"));
}

#[tokio::test]
async fn a_promoter_cannot_create_or_edit_events_ticket_types_or_org_links() {
    let app = TestApp::new().await;
    app.world().await;
    refused(
        &app,
        ANA,
        "newevent ana-party 2099-01-01 https://x.test/p Ana Party",
        "is for organizers",
    )
    .await;
    refused(&app, ANA, "editevent summer-fest name Hijacked", "is for organizers").await;
    refused(&app, BEN, "newtickettype summer-fest 1 Free", "is for organizers").await;
    refused(&app, BEN, "orglink summer-fest sponsor", "is for organizers").await;
    refused(&app, ANA, "setleaderboard on", "is for organizers").await;
}

#[tokio::test]
async fn only_the_owner_invites_collaborators() {
    let app = TestApp::new().await;
    app.world().await;
    refused(
        &app,
        ADMIN,
        "inviteadmin zed@acme.test",
        "Only the owner of Acme Events",
    )
    .await;
    refused(&app, ANA, "inviteadmin zed@acme.test", "is for organizers").await;
    // An admin may invite promoters.
    app.ok(ADMIN, "invite zed@promo.test summer-fest").await;
}

#[tokio::test]
async fn an_unlinked_chat_account_can_only_link() {
    let app = TestApp::new().await;
    app.world().await;
    for line in [
        "mystats",
        "stats summer-fest",
        "invite x@y.test",
        "export",
        "mylink",
        "events",
    ] {
        let before = app.dump().await;
        let r = app.chat(Platform::Telegram, "777", line).await;
        assert!(r.is_error, "{line}");
        assert!(r.to_plain().contains("not linked"), "{line}: {}", r.to_plain());
        assert_eq!(before, app.dump().await, "{line} changed the database");
    }
    // Linking: connect mails a code, verify links the account.
    let r = app.chat(Platform::Telegram, "777", &format!("connect {ANA}")).await;
    assert!(!r.is_error, "{}", r.to_plain());
    let mail = app
        .store
        .pending_messages_to(ANA)
        .await
        .unwrap()
        .into_iter()
        .rfind(|m| m.kind == "verify")
        .unwrap();
    let code = code_after(&mail.body, "Your code: ");
    let wrong = app.chat(Platform::Telegram, "777", "verify AAAAAAAA").await;
    assert!(wrong.to_plain().contains("4 attempt(s) left"), "{}", wrong.to_plain());
    // Another account cannot use Ana's code.
    let other = app.chat(Platform::Telegram, "888", &format!("verify {code}")).await;
    assert!(other.is_error && other.to_plain().contains("nothing to verify"));
    let ok = app.chat(Platform::Telegram, "777", &format!("verify {code}")).await;
    assert!(!ok.is_error, "{}", ok.to_plain());
    let stats = app.chat(Platform::Telegram, "777", "mystats summer-fest").await;
    assert!(!stats.is_error && stats.private, "{}", stats.to_plain());
}

#[tokio::test]
async fn strangers_and_unaccepted_invitees_get_nothing() {
    let app = TestApp::new().await;
    app.world().await;
    refused(
        &app,
        "nobody@else.test",
        "stats summer-fest",
        "not an organizer or promoter here",
    )
    .await;
    refused(&app, "nobody@else.test", "mystats", "not an organizer or promoter here").await;
    app.ok(OWNER, "invite pending@promo.test summer-fest").await;
    refused(
        &app,
        "pending@promo.test",
        "mylink summer-fest",
        "You are not a promoter of `summer-fest`",
    )
    .await;
    refused(&app, "pending@promo.test", "mylink", "not an active promoter yet").await;
    // A revoked promoter loses access.
    app.ok(OWNER, &format!("revoke {BEN} summer-fest")).await;
    refused(
        &app,
        BEN,
        "mystats summer-fest",
        "You are not a promoter of `summer-fest`",
    )
    .await;
}

#[tokio::test]
async fn leaderboard_shows_ranks_and_names_only_when_enabled() {
    let app = TestApp::new().await;
    app.world().await;
    refused(
        &app,
        ANA,
        "leaderboard summer-fest",
        "leaderboard of Acme Events is off",
    )
    .await;
    app.ok(OWNER, "setleaderboard on").await;
    let board = app.ok(ANA, "leaderboard summer-fest").await;
    assert!(board.contains("← you"), "{board}");
    assert!(
        !board.contains("Tickets") && !board.contains(BEN) && !board.contains(ANA),
        "ranks and names only:\n{board}"
    );
    let organizer_view = app.ok(OWNER, "leaderboard summer-fest").await;
    assert!(organizer_view.contains("Tickets"), "{organizer_view}");
}

#[tokio::test]
async fn an_organizer_of_another_organization_sees_nothing_of_this_one() {
    let app = TestApp::new().await;
    app.world().await;
    let out = app.bin(&["org", "create", "Rival Shows", "--owner", "rival@rival.test"]);
    assert!(out.ok, "{out:?}");
    for line in [
        "stats summer-fest",
        "export summer-fest",
        "promoters summer-fest",
        "editevent summer-fest name Mine",
        "orglink summer-fest x",
    ] {
        refused(&app, "rival@rival.test", line, "You have no event `summer-fest`").await;
    }
    // Their own organization is empty, not ours.
    let promoters = app.ok("rival@rival.test", "promoters").await;
    assert!(!promoters.contains(ANA), "{promoters}");
}

#[tokio::test]
async fn invites_link_chat_accounts_only_to_the_invited_person() {
    let app = TestApp::new().await;
    app.world().await;
    // A new invitee accepts from Telegram: the account is linked to them.
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    let r = app.chat(Platform::Telegram, "501", &format!("accept {code}")).await;
    assert!(!r.is_error, "{}", r.to_plain());
    let who = app.chat(Platform::Telegram, "501", "whoami").await.to_plain();
    assert!(who.contains("cara@promo.test") && who.contains("user501"), "{who}");
    // That account cannot take an invite addressed to someone else.
    app.ok(OWNER, "invite dora@promo.test").await;
    let code = app.invite_code("dora@promo.test").await;
    let before = app.dump().await;
    let r = app.chat(Platform::Telegram, "501", &format!("accept {code}")).await;
    assert!(
        r.is_error && r.to_plain().contains("linked to cara@promo.test"),
        "{}",
        r.to_plain()
    );
    assert_eq!(before, app.dump().await);
    // A forwarded invite for an address that already has an account cannot be used by
    // an unlinked account: it must link by mailed code first.
    app.ok(
        OWNER,
        "newevent winter-ball 2099-12-12 https://tickets.acme.test/winter Winter Ball",
    )
    .await;
    app.ok(OWNER, &format!("invite {BEN} winter-ball")).await;
    let code = app.invite_code(BEN).await;
    let before = app.dump().await;
    let r = app.chat(Platform::Discord, "9001", &format!("accept {code}")).await;
    assert!(
        r.is_error && r.to_plain().contains(&format!("connect {BEN}")),
        "{}",
        r.to_plain()
    );
    assert_eq!(before, app.dump().await);
}

#[tokio::test]
async fn organizer_answers_with_personal_data_are_private() {
    let app = TestApp::new().await;
    app.world().await;
    // Link a Discord account to the owner.
    app.link_chat(Platform::Discord, "42", OWNER).await;
    app.ok(OWNER, "setleaderboard on").await;
    for line in [
        "stats summer-fest",
        "export summer-fest",
        "promoters",
        "invites",
        "orglinks summer-fest",
        "leaderboard summer-fest",
        "whoami",
    ] {
        let r = app.chat(Platform::Discord, "42", line).await;
        assert!(!r.is_error, "{line}: {}", r.to_plain());
        assert!(r.private, "{line} must be answered privately");
    }
    let r = app.chat(Platform::Discord, "42", "events").await;
    assert!(!r.private, "an event list is not personal");
}

/// Issue 21's commands: an unlinked chat account gets none, an account that holds only
/// the membership of a redeemed invite gets neither `mydata` nor `leave` (they act on
/// the whole person), and a rival organizer's `forgetbuyer` reaches only their own
/// organization. Each refusal leaves the database as it was.
#[tokio::test]
async fn buyer_data_commands_stay_within_their_audience() {
    let app = TestApp::new().await;
    app.world().await;
    for line in [
        "mydata",
        "leave",
        "audit",
        "retention never",
        "forgetbuyer zoe@buyer.test",
    ] {
        chat_refused(&app, Platform::Telegram, "777", line, "not linked").await;
    }
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    let r = app.chat(Platform::Telegram, "501", &format!("accept {code}")).await;
    assert!(!r.is_error, "{}", r.to_plain());
    for line in ["mydata", "leave summer-fest"] {
        chat_refused(&app, Platform::Telegram, "501", line, "connect cara@promo.test").await;
    }
    // A rival organizer's erasure request touches their organization only.
    let ben = link_code(&app.ok(BEN, "mylink").await);
    std::fs::write(
        app.path("o.csv"),
        format!(
            "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,ticket_type,quantity,unit_price_minor,currency\n\
             Z1,summer-fest,paid,2099-05-01T10:00:00Z,{ben},Zoe,zoe@buyer.test,General Admission,1,4900,EUR\n"
        ),
    )
    .unwrap();
    assert!(app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]).ok);
    let out = app.bin(&["org", "create", "Rival Shows", "--owner", "rival@rival.test"]);
    assert!(out.ok, "{out:?}");
    let before = app.dump().await;
    let reply = app.ok("rival@rival.test", "forgetbuyer zoe@buyer.test").await;
    assert!(reply.contains("No order of Rival Shows"), "{reply}");
    let after = app.dump().await;
    assert_eq!(
        TestApp::dump_section(&before, "orders"),
        TestApp::dump_section(&after, "orders")
    );
}
