//! Display names (issue 15.5): a promoter sets theirs; until then the chat name or the
//! address's local part; never the address for other promoters; refusals change nothing.

use super::support::*;
use promoterd::commands::Platform;

#[tokio::test]
async fn the_leaderboard_shows_chosen_names_and_local_parts_never_addresses() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "setleaderboard on").await;
    let before = app.ok(ANA, "leaderboard summer-fest").await;
    assert!(before.contains("ana") && before.contains("ben"), "{before}");
    assert!(
        !before.contains("@promo.test") && !before.contains("Promoter #"),
        "{before}"
    );
    let said = app.ok(BEN, "name  Ben   the Promoter ").await;
    assert!(said.contains("Others now see you as Ben the Promoter"), "{said}");
    let after = app.ok(ANA, "leaderboard summer-fest").await;
    assert!(after.contains("Ben the Promoter"), "{after}");
    assert!(!after.contains(BEN), "{after}");
    let mine = app.ok(BEN, "name").await;
    assert!(mine.contains("Ben the Promoter (the name you set)"), "{mine}");
    let list = app.ok(OWNER, "promoters summer-fest").await;
    assert!(
        list.contains("Ben the Promoter") && list.contains(BEN),
        "organizers see both:\n{list}"
    );
    let who = app.ok(ANA, "whoami").await;
    assert!(who.contains("ana (what others see"), "{who}");
}

#[tokio::test]
async fn a_chat_name_is_the_default_until_the_person_sets_one() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "setleaderboard on").await;
    app.ok(OWNER, "invite cleo@promo.test summer-fest").await;
    let code = app.invite_code("cleo@promo.test").await;
    // `chat` sends as username `user<id>`.
    let reply = app.chat(Platform::Telegram, "77", &format!("accept {code}")).await;
    assert!(!reply.is_error, "{}", reply.to_plain());
    let board = app.ok(ANA, "leaderboard summer-fest").await;
    assert!(board.contains("user77") && !board.contains("cleo"), "{board}");
    app.ok("cleo@promo.test", "name Cleo").await;
    let board = app.ok(ANA, "leaderboard summer-fest").await;
    assert!(board.contains("Cleo") && !board.contains("user77"), "{board}");
}

#[tokio::test]
async fn misleading_names_and_half_linked_accounts_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    app.world().await;
    refused(&app, BEN, "name ana@promo.test", "may not contain an email address").await;
    refused(&app, BEN, "name Ben ← you", "arrows").await;
    refused(&app, BEN, "name A\u{200B}na", "invisible").await;
    refused(&app, BEN, "name [boss@acme.test]", "may not contain an email address").await;
    refused(&app, BEN, "name boss@acme.test.", "may not contain an email address").await;
    refused(&app, BEN, &format!("name {}", "x".repeat(41)), "at most 40").await;
    // Linked by an invite code only: the account may not rename the person.
    app.ok(OWNER, "invite cleo@promo.test summer-fest").await;
    let code = app.invite_code("cleo@promo.test").await;
    let reply = app.chat(Platform::Discord, "88", &format!("accept {code}")).await;
    assert!(!reply.is_error, "{}", reply.to_plain());
    chat_refused(
        &app,
        Platform::Discord,
        "88",
        "name Someone Else",
        "linked by an invite code",
    )
    .await;
    chat_refused(&app, Platform::Telegram, "99", "name Nobody", "connect").await;
}
