//! Gateway mode, the Discord default, over a real websocket: the daemon asks the REST
//! fake for the gateway URL, identifies with no intents, registers its commands, answers
//! a slash command pushed as INTERACTION_CREATE, and resumes after the connection drops.

use super::discord::command;
use super::fake_discord::{APP_ID, Call, FakeDiscord};
use super::fake_gateway::{FakeGateway, SESSION_ID};
use super::support::*;
use promoterd::clock::Clock;
use promoterd::commands::Platform;
use promoterd::discord::DiscordFrontend;
use serde_json::Value;
use std::time::Duration;

/// Waits for the daemon's answer to `interaction`: Create Interaction Response,
/// `POST /interactions/{id}/{token}/callback`.
async fn callback(rest: &FakeDiscord, interaction: &Value) -> Call {
    let path = format!(
        "/api/v10/interactions/{}/{}/callback",
        interaction["id"].as_str().unwrap(),
        interaction["token"].as_str().unwrap()
    );
    rest.wait_for(1, |c| c.method == "POST" && c.path == path)
        .await
        .remove(0)
}

#[tokio::test]
async fn gateway_mode_identifies_without_intents_answers_and_resumes_after_a_drop() {
    let rest = FakeDiscord::start().await;
    let gateway = FakeGateway::start().await;
    rest.set_gateway(&gateway.url);
    let proxy = rest.url.clone();
    let app = TestApp::custom(Clock::system(), move |t| {
        t.edit("# bot_token = \"...\"", "bot_token = \"Bot.TEST.token\"")
            .replace(
                "# application_id = 123456789012345678",
                &format!("application_id = {APP_ID}"),
            )
            .replace(
                "# api_proxy = \"http://127.0.0.1:9000\"",
                &format!("api_proxy = \"{proxy}\""),
            )
    })
    .await;
    let config = app.config();
    assert_eq!(config.discord.mode, "gateway", "the default mode");
    app.world().await;
    app.link_chat(Platform::Discord, "3100", OWNER).await;

    let frontend = DiscordFrontend::start(&app.core, &config)
        .await
        .unwrap()
        .expect("a bot token turns Discord on");

    // The declared commands are registered globally (no guild_id configured).
    let put = rest
        .wait_for(1, |c| {
            c.method == "PUT" && c.path == format!("/api/v10/applications/{APP_ID}/commands")
        })
        .await;
    assert_eq!(
        put[0].json,
        serde_json::to_value(promoterd::discord::commands::definitions()).unwrap()
    );

    // The websocket URL comes from the REST API; the connection asks for gateway v10.
    let identify = gateway.wait_for(1, "IDENTIFY (op 2)", |s| s.op == 2).await;
    assert!(
        rest.calls()
            .iter()
            .any(|c| c.method == "GET" && c.path.starts_with("/api/v10/gateway")),
        "{:#?}",
        rest.calls()
    );
    assert_eq!(gateway.paths(), ["/?v=10"]);
    // Intents: none. Interactions arrive whatever the intents; the bot reads no messages,
    // members or presences, so it asks for no privileged or guild intents either.
    assert_eq!(identify[0].d["intents"], 0, "{}", identify[0].d);
    assert!(identify[0].d["token"].as_str().unwrap().ends_with("Bot.TEST.token"));
    // The first heartbeat follows HELLO at once; the fake acknowledges it.
    gateway.wait_for(1, "a heartbeat (op 1)", |s| s.op == 1).await;

    // A slash command arrives over the websocket and is answered over REST.
    let first = command(3100, "events", &[]);
    gateway.dispatch("INTERACTION_CREATE", first.clone());
    let answer = callback(&rest, &first).await;
    assert_eq!(answer.json["type"], 4, "{}", answer.json);
    assert!(answer.json.to_string().contains("summer-fest"), "{}", answer.json);

    // The connection drops: the daemon reconnects and resumes its session where it was.
    let seq = gateway.seq();
    gateway.drop_connection();
    let resume = gateway.wait_for(1, "RESUME (op 6)", |s| s.op == 6).await;
    assert_eq!(
        (
            resume[0].conn,
            resume[0].d["session_id"].as_str(),
            resume[0].d["seq"].as_u64()
        ),
        (2, Some(SESSION_ID), Some(seq)),
        "{}",
        resume[0].d
    );
    assert_eq!(
        gateway.sent().iter().filter(|s| s.op == 2).count(),
        1,
        "resumed, not identified again"
    );
    assert_eq!(gateway.paths().len(), 2);

    // And carries on: the next slash command on the new connection is answered too.
    let second = command(3100, "events", &[]);
    gateway.dispatch("INTERACTION_CREATE", second.clone());
    let answer = callback(&rest, &second).await;
    assert_eq!(answer.json["type"], 4, "{}", answer.json);
    assert!(answer.json.to_string().contains("summer-fest"), "{}", answer.json);

    tokio::time::timeout(Duration::from_secs(10), frontend.stop())
        .await
        .expect("the gateway connection closes");
}
