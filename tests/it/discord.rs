//! The Discord front-end: the signed interactions endpoint on real HTTP, and serenity's
//! HTTP client against the local fake REST API.

use super::fake_discord::{APP_ID, FakeDiscord};
use super::support::*;
use ed25519_dalek::{Signer, SigningKey};
use promoterd::commands::Platform;
use promoterd::discord::Discord;
use serde_json::{Value, json};
use std::sync::Arc;

struct Bot {
    key: SigningKey,
    base: String,
    fake: FakeDiscord,
    discord: Arc<Discord>,
    server: promoterd::http::HttpServer,
}

async fn bot(app: &TestApp) -> Bot {
    let key = SigningKey::from_bytes(&promoterd::codes::random_key());
    let public = hex::encode(key.verifying_key().to_bytes());
    let fake = FakeDiscord::start().await;
    let http = Discord::http_client("Bot.TEST.token", APP_ID, Some(&fake.url));
    let discord = Discord::new(app.core.clone(), http, Some(&public)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = promoterd::http::HttpServer::start_with(
        app.core.clone(),
        &app.config(),
        listener,
        discord.clone().endpoint_router(),
    )
    .await
    .unwrap();
    Bot {
        key,
        base: format!("http://{}", server.addr),
        fake,
        discord,
        server,
    }
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1_000);

/// A slash-command interaction as Discord sends it.
pub(super) fn command(user: u64, name: &str, options: &[(&str, &str)]) -> Value {
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    json!({
        "id": id.to_string(), "application_id": APP_ID.to_string(), "type": 2, "token": format!("tok{id}"), "version": 1,
        "channel_id": "555", "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608, "app_permissions": "0",
        "user": {"id": user.to_string(), "username": format!("user{user}"), "discriminator": "0", "global_name": "Ana <&>", "avatar": null},
        "data": {"id": "7", "name": name, "type": 1,
                 "options": options.iter().map(|(k, v)| json!({"name": k, "type": 3, "value": v})).collect::<Vec<_>>()}
    })
}

impl Bot {
    async fn post(&self, body: &Value, ts: i64, forge: bool) -> (u16, Value) {
        let raw = body.to_string();
        let mut sig = self.key.sign(format!("{ts}{raw}").as_bytes()).to_bytes();
        if forge {
            sig[0] ^= 1;
        }
        let res = reqwest::Client::new()
            .post(format!("{}/discord/interactions", self.base))
            .header("X-Signature-Ed25519", hex::encode(sig))
            .header("X-Signature-Timestamp", ts.to_string())
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn say(&self, user: u64, name: &str, options: &[(&str, &str)]) -> Value {
        let (status, body) = self
            .post(&command(user, name, options), chrono::Utc::now().timestamp(), false)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn embed_text(answer: &Value) -> String {
    answer.to_string()
}

const EPHEMERAL: u64 = 64;

/// Links a Discord user to `email` through connect + the mailed code.
async fn link(app: &TestApp, user: &str, email: &str) {
    app.link_chat(Platform::Discord, user, email).await;
}

#[tokio::test]
async fn the_endpoint_verifies_signatures_freshness_and_replays() {
    let app = TestApp::new().await;
    let b = bot(&app).await;
    let now = chrono::Utc::now().timestamp();
    let ping = json!({"id": "1", "application_id": APP_ID.to_string(), "type": 1, "token": "t", "version": 1});
    let (status, body) = b.post(&ping, now, false).await;
    assert_eq!((status, body["type"].as_u64()), (200, Some(1)), "PING → PONG");
    assert_eq!(b.post(&ping, now, true).await.0, 401, "bad signature");
    assert_eq!(b.post(&ping, now - 301, false).await.0, 401, "stale timestamp");
    let cmd = command(1, "help", &[]);
    assert_eq!(b.post(&cmd, now, false).await.0, 200);
    let (status, body) = b.post(&cmd, now, false).await;
    assert_eq!(status, 409, "a replayed interaction id is refused: {body}");
    b.server.stop().await.unwrap();
}

#[tokio::test]
async fn commands_answer_with_the_right_content_ephemeral_where_personal() {
    let app = TestApp::new().await;
    app.world().await;
    link(&app, "2001", BEN).await;
    link(&app, "2100", OWNER).await;
    let ben_link = link_code(&app.ok(BEN, "mylink").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,ticket_type,quantity,unit_price_minor,currency\n\
         D1,summer-fest,paid,2099-05-01T10:00:00Z,{ben_link},Dee Buyer,d@buyer.test,VIP,2,12950,EUR\n"
    );
    std::fs::write(app.path("o.csv"), csv).unwrap();
    assert!(app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]).ok);
    let b = bot(&app).await;

    let stats = b.say(2001, "mystats", &[]).await;
    assert_eq!(stats["type"], 4);
    assert_eq!(
        stats["data"]["flags"].as_u64().unwrap() & EPHEMERAL,
        EPHEMERAL,
        "personal numbers are ephemeral"
    );
    let fields = &stats["data"]["embeds"][0]["fields"];
    assert!(
        fields
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Tickets" && f["value"] == "2"),
        "{fields}"
    );
    assert!(
        fields
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "VIP" && f["value"].as_str().unwrap().contains("259.00 EUR"))
    );

    // mylink: deferred, then a follow-up with the QR image and the link.
    let deferred = b.say(2001, "mylink", &[]).await;
    assert_eq!(
        (deferred["type"].as_u64(), deferred["data"]["flags"].as_u64()),
        (Some(5), Some(EPHEMERAL))
    );
    let follow = b
        .fake
        .wait_for(1, |c| c.path.starts_with(&format!("/api/v10/webhooks/{APP_ID}/")))
        .await;
    assert!(
        follow[0]
            .files
            .iter()
            .any(|(n, bytes)| n.ends_with(".png") && bytes.starts_with(b"\x89PNG")),
        "{:?}",
        follow[0].json
    );
    assert!(
        follow[0]
            .json
            .to_string()
            .contains(&format!("https://go.acme.test/t/{ben_link}"))
    );
    assert_eq!(follow[0].json["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);

    // A promoter's /invite and /export are refused, ephemerally.
    for name in ["invite", "export"] {
        let opts: &[(&str, &str)] = if name == "invite" {
            &[("email", "x@y.test")]
        } else {
            &[]
        };
        let r = b.say(2001, name, opts).await;
        if r["type"] == 5 {
            let got = b.fake.wait_for(2, |c| c.path.contains("/webhooks/")).await;
            assert!(got[1].json.to_string().contains("is for organizers"), "{}", got[1].json);
        } else {
            assert!(embed_text(&r).contains("is for organizers"), "{r}");
            assert_eq!(r["data"]["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);
        }
    }
    let before = b.fake.calls().iter().filter(|c| c.path.contains("/webhooks/")).count();

    // A promoter's /recompute is deferred in public (an organizer's result is for the
    // channel) and refused: Discord shows the first follow-up in the deferral's place,
    // public whatever its flags, so it says only that the answer came privately, and the
    // refusal follows ephemerally.
    let r = b.say(2001, "recompute", &[("event", "summer-fest")]).await;
    assert_eq!(
        (r["type"].as_u64(), r["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL),
        (Some(5), 0)
    );
    let got = b.fake.wait_for(before + 2, |c| c.path.contains("/webhooks/")).await;
    let (public, refusal) = (&got[before].json, &got[before + 1].json);
    assert!(!public.to_string().contains("is for organizers"), "{public}");
    assert!(refusal.to_string().contains("is for organizers"), "{refusal}");
    assert_eq!(refusal["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);
    let before = before + 2;

    // The organizer's /stats (ephemeral embed) and /export (deferred CSV attachment).
    let stats = b.say(2100, "stats", &[("event", "summer-fest")]).await;
    assert_eq!(stats["data"]["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);
    assert!(embed_text(&stats).contains(BEN), "{stats}");
    let export = b.say(2100, "export", &[("event", "summer-fest")]).await;
    assert_eq!(export["type"], 5);
    let follow = b.fake.wait_for(before + 1, |c| c.path.contains("/webhooks/")).await;
    let (name, bytes) = follow
        .last()
        .unwrap()
        .files
        .iter()
        .find(|(n, _)| n.ends_with(".csv"))
        .expect("a CSV")
        .clone();
    assert!(name.starts_with("referred-buyers-summer-fest"));
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(bytes.as_slice())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!((rows.len(), &rows[0][0], &rows[0][8]), (1, "D1", "Dee Buyer"));
    b.server.stop().await.unwrap();
}

#[tokio::test]
async fn registration_sends_exactly_the_declared_commands() {
    let app = TestApp::new().await;
    let b = bot(&app).await;
    assert_eq!(
        b.discord.register(None).await.unwrap(),
        promoterd::commands::COMMANDS.len()
    );
    assert_eq!(
        b.discord.register(Some(99)).await.unwrap(),
        promoterd::commands::COMMANDS.len()
    );
    let calls = b.fake.calls();
    let global = calls
        .iter()
        .find(|c| c.method == "PUT" && c.path == format!("/api/v10/applications/{APP_ID}/commands"))
        .unwrap();
    let guild = calls
        .iter()
        .find(|c| c.path == format!("/api/v10/applications/{APP_ID}/guilds/99/commands"))
        .unwrap();
    let expected = serde_json::to_value(promoterd::discord::commands::definitions()).unwrap();
    assert_eq!(global.json, expected);
    assert_eq!(guild.json, expected);
    let names: Vec<&str> = global
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        promoterd::commands::COMMANDS.iter().map(|c| c.name).collect::<Vec<_>>()
    );
    b.server.stop().await.unwrap();
}

#[tokio::test]
async fn gateway_and_endpoint_share_one_path_and_429_is_honoured() {
    let app = TestApp::new().await;
    app.world().await;
    link(&app, "3100", OWNER).await;
    let b = bot(&app).await;
    // The gateway handler's path: a deserialized interaction straight into handle_command.
    let cmd: serenity::all::CommandInteraction = serde_json::from_value(command(3100, "events", &[])).unwrap();
    let (response, later) = b.discord.handle_command(cmd).await;
    assert!(later.is_none());
    let v = serde_json::to_value(&response).unwrap();
    assert!(v.to_string().contains("summer-fest"), "{v}");
    // A deferred follow-up that meets a 429 is retried after the wait.
    b.fake.rate_limit_next(1);
    let cmd: serenity::all::CommandInteraction =
        serde_json::from_value(command(3100, "export", &[("event", "summer-fest")])).unwrap();
    let (_, later) = b.discord.handle_command(cmd).await;
    later.expect("export is deferred").await;
    let tries = b.fake.wait_for(2, |c| c.path.contains("/webhooks/")).await;
    assert_eq!((tries[0].status, tries[1].status), (429, 200));
    assert!(tries[1].at.duration_since(tries[0].at) >= std::time::Duration::from_secs(1));
    b.server.stop().await.unwrap();
}

#[tokio::test]
async fn an_organizers_chart_is_deferred_then_arrives_as_an_embed_image_and_files() {
    let app = TestApp::new().await;
    app.world().await;
    link(&app, "2300", OWNER).await;
    let b = bot(&app).await;
    let deferred = b.say(2300, "chart", &[("event", "summer-fest"), ("days", "14")]).await;
    assert_eq!(
        (deferred["type"].as_u64(), deferred["data"]["flags"].as_u64()),
        (Some(5), Some(EPHEMERAL)),
        "drawing takes time: deferred, and private"
    );
    let follow = b
        .fake
        .wait_for(1, |c| c.path.starts_with(&format!("/api/v10/webhooks/{APP_ID}/")))
        .await;
    let names: Vec<&str> = follow[0].files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["chart-summer-fest.png", "funnel-summer-fest.png"]);
    for (_, bytes) in &follow[0].files {
        assert!(bytes.starts_with(b"\x89PNG"));
    }
    let embed = &follow[0].json["embeds"][0];
    assert_eq!(embed["image"]["url"], "attachment://chart-summer-fest.png", "{embed}");
    assert!(
        follow[0]
            .json
            .to_string()
            .contains("Summer Fest, 14 days: no tickets sold"),
        "{}",
        follow[0].json
    );
}
