//! The Telegram front-end: real teloxide code against the local fake Bot API.

use super::fake_telegram::{FakeTelegram, TOKEN};
use super::support::*;
use promoterd::commands::{Access, COMMANDS, Platform};
use promoterd::telegram::Telegram;
use serde_json::json;
use std::sync::Arc;

/// Links a Telegram user to `email` through connect + the mailed code.
async fn link(app: &TestApp, user: &str, email: &str) {
    app.link_chat(Platform::Telegram, user, email).await;
}

async fn start(
    app: &TestApp,
    fake: &FakeTelegram,
    secret: Option<&str>,
) -> (Arc<Telegram>, tokio::sync::watch::Sender<bool>) {
    let tg = Telegram::connect(app.core.clone(), TOKEN, Some(&fake.url), secret.map(String::from))
        .await
        .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    if secret.is_none() {
        tokio::spawn(tg.clone().poll(1, rx));
    }
    (tg, stop)
}

/// The database without the table of applied update ids.
async fn dump_without_updates(app: &TestApp) -> String {
    let d = app.dump().await;
    let (head, tail) = d.split_once("## chat_updates\n").unwrap();
    format!("{head}{}", &tail[tail.find("## ").unwrap()..])
}

fn text_of(call: &super::fake_telegram::Call) -> String {
    call.params["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn start_with_an_invite_code_links_the_account_and_bad_codes_change_nothing() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    let fake = FakeTelegram::start().await;
    let (_tg, _stop) = start(&app, &fake, None).await;

    fake.push_text(1, 3001, &format!("/start {code}"), None);
    let sent = fake.wait_for(3001, &["sendmessage"], 1).await;
    let welcome = text_of(&sent[0]);
    assert!(
        welcome.contains("Welcome!") && welcome.contains("https://go.acme.test/t/"),
        "{welcome}"
    );
    assert_eq!(sent[0].params["parse_mode"], "HTML");
    let who = app.chat(Platform::Telegram, "3001", "whoami").await.to_plain();
    assert!(who.contains("cara@promo.test"), "{who}");

    let before = dump_without_updates(&app).await;
    fake.push_text(2, 3002, "/start bogusbogusbogus", None);
    assert!(text_of(&fake.wait_for(3002, &["sendmessage"], 1).await[0]).contains("invite code is not valid"));
    fake.push_text(3, 3003, &format!("/start {code}"), None);
    assert!(text_of(&fake.wait_for(3003, &["sendmessage"], 1).await[0]).contains("already been accepted"));
    assert_eq!(before, dump_without_updates(&app).await, "refused codes change nothing");

    fake.push_text(4, 3004, "/start", None);
    assert!(text_of(&fake.wait_for(3004, &["sendmessage"], 1).await[0]).contains("/connect"));
}

#[tokio::test]
async fn promoters_and_organizers_use_their_commands_with_files() {
    let app = TestApp::new().await;
    app.world().await;
    link(&app, "4001", BEN).await;
    link(&app, "4100", OWNER).await;
    let ben_link = link_code(&app.ok(BEN, "mylink").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,ticket_type,quantity,unit_price_minor,currency\n\
         T1,summer-fest,paid,2099-05-01T10:00:00Z,{ben_link},Tess <Buyer>,t@buyer.test,VIP,2,12950,EUR\n"
    );
    std::fs::write(app.path("o.csv"), csv).unwrap();
    assert!(app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]).ok);
    let fake = FakeTelegram::start().await;
    let (_tg, _stop) = start(&app, &fake, None).await;

    fake.push_text(10, 4001, "/mystats", None);
    let stats = text_of(&fake.wait_for(4001, &["sendmessage"], 1).await[0]);
    assert!(
        stats.contains("<b>Tickets</b>: 2") && stats.contains("259.00 EUR"),
        "{stats}"
    );
    assert!(!stats.contains("Tess"), "no buyer data for promoters");

    fake.push_text(11, 4001, "/mylink", None);
    let photo = fake.wait_for(4001, &["sendphoto"], 1).await;
    assert!(photo[0].files[0].2.starts_with(b"\x89PNG"), "a PNG QR code");
    let texts = fake.wait_for(4001, &["sendmessage"], 2).await;
    assert!(text_of(&texts[1]).contains(&format!("https://go.acme.test/t/{ben_link}")));

    fake.push_text(12, 4001, "/newlink <b>&🎉", None);
    let reply = text_of(&fake.wait_for(4001, &["sendmessage"], 3).await[2]);
    assert!(reply.contains("&lt;b&gt;&amp;🎉"), "escaped HTML: {reply}");

    fake.push_text(13, 4001, "/export", None);
    assert!(text_of(&fake.wait_for(4001, &["sendmessage"], 4).await[3]).contains("is for organizers"));
    fake.push_text(14, 4001, "/invite x@y.test", None);
    assert!(text_of(&fake.wait_for(4001, &["sendmessage"], 5).await[4]).contains("is for organizers"));
    assert!(
        fake.calls().iter().all(|c| c.method != "senddocument"),
        "no file for a promoter"
    );

    fake.push_text(20, 4100, "/stats summer-fest", None);
    let table = text_of(&fake.wait_for(4100, &["sendmessage"], 1).await[0]);
    assert!(table.contains("<pre>") && table.contains(BEN), "{table}");
    fake.push_text(21, 4100, "/export summer-fest", None);
    let doc = fake.wait_for(4100, &["senddocument"], 1).await;
    let (_, name, bytes) = &doc[0].files[0];
    assert!(name.ends_with(".csv"));
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((&rows[0][0], &rows[0][8]), ("T1", "Tess <Buyer>"));

    // A linked user who blocked the bot is marked unreachable; writing again clears it.
    app.store
        .mark_chat_unreachable(Platform::Telegram, "4001", "blocked", chrono::Utc::now())
        .await
        .unwrap();
    fake.push_text(25, 4001, "/help", None);
    fake.wait_for(4001, &["sendmessage"], 6).await;
    assert!(!app.store.chat_unreachable(Platform::Telegram, "4001").await.unwrap());
    // In a group, a bare command that is none of ours is another bot's (Telegram gives
    // every bot in a group every command): no answer. Then, in order, one of ours.
    fake.push_text(29, 4001, "/weather Berlin", Some(-9001));
    // In a group, personal numbers are never shown.
    fake.push_text(30, 4001, "/mystats@promo_bot", Some(-9001));
    let answers = fake.wait_for(-9001, &["sendmessage"], 1).await;
    let group = text_of(&answers[0]);
    assert!(
        group.contains("Message me privately") && !group.contains("259"),
        "{group}"
    );
    assert_eq!(answers.len(), 1, "only /mystats is answered: {answers:?}");
    assert!(
        answers[0].params.get("message_thread_id").is_none(),
        "a plain group has no topics"
    );
    // In a forum supergroup, the answer goes to the topic the command came from.
    fake.push_topic_text(31, 4001, "/help", -9002, 7);
    let in_topic = fake.wait_for(-9002, &["sendmessage"], 1).await;
    assert!(!text_of(&in_topic[0]).is_empty(), "{:?}", in_topic[0]);
    assert_eq!(in_topic[0].params["message_thread_id"], 7, "{:?}", in_topic[0]);
}

#[tokio::test]
async fn set_my_commands_carries_exactly_the_declared_commands() {
    let app = TestApp::new().await;
    app.world().await;
    link(&app, "5100", OWNER).await;
    let fake = FakeTelegram::start().await;
    let (_tg, _stop) = start(&app, &fake, None).await;
    let calls: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "setmycommands")
        .collect();
    let names = |c: &super::fake_telegram::Call| -> Vec<String> {
        c.params["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["command"].as_str().unwrap().to_string())
            .collect()
    };
    let default = calls
        .iter()
        .find(|c| c.params.get("scope").is_none_or(|s| s.is_null()))
        .expect("a default-scope call");
    let expected: Vec<String> = COMMANDS
        .iter()
        .filter(|c| !matches!(c.access, Access::Organizer | Access::Owner))
        .map(|c| c.name.to_string())
        .collect();
    assert_eq!(names(default), expected);
    let organizer = calls
        .iter()
        .find(|c| c.params["scope"] == json!({"type": "chat", "chat_id": 5100}))
        .expect("an organizer-chat call");
    assert_eq!(
        names(organizer),
        COMMANDS.iter().map(|c| c.name.to_string()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn webhook_mode_checks_the_secret_and_applies_each_update_once() {
    let app = TestApp::new().await;
    app.world().await;
    let fake = FakeTelegram::start().await;
    let (tg, _stop) = start(&app, &fake, Some("hook-secret_123")).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server =
        promoterd::http::HttpServer::start_with(app.core.clone(), &app.config(), listener, tg.webhook_router())
            .await
            .unwrap();
    let url = format!("http://{}/telegram/webhook", server.addr);
    let update = json!({"update_id": 99, "message": {"message_id": 1, "date": 1_800_000_000,
        "chat": {"id": 6001, "type": "private", "first_name": "X"},
        "from": {"id": 6001, "is_bot": false, "first_name": "X"}, "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}});
    let c = reqwest::Client::new();
    let wrong = c
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "nope")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = c.post(&url).json(&update).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(fake.calls().iter().all(|c| c.method != "sendmessage"));
    for _ in 0..3 {
        let res = c
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", "hook-secret_123")
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let sent = fake.calls().into_iter().filter(|c| c.method == "sendmessage").count();
    assert_eq!(sent, 1, "a repeated update_id is applied once");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured() {
    let app = TestApp::new().await;
    let fake = FakeTelegram::start().await;
    let (_tg, _stop) = start(&app, &fake, None).await;
    fake.rate_limit_next(1);
    fake.push_text(1, 7001, "/help", None);
    let attempts = fake.wait_for(7001, &["sendmessage"], 2).await;
    let waited = attempts[1].at.duration_since(attempts[0].at);
    assert!(waited >= std::time::Duration::from_secs(1), "retried after {waited:?}");
    assert!(text_of(&attempts[1]).contains("promoterd commands"));
}

#[tokio::test]
async fn a_chart_arrives_as_a_photo_with_its_summary_as_caption() {
    let app = TestApp::new().await;
    app.world().await;
    link(&app, "4201", BEN).await;
    let ben_link = link_code(&app.ok(BEN, "mylink").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n\
         C1,summer-fest,paid,{},{ben_link},VIP,3,12950,EUR\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    std::fs::write(app.path("c.csv"), csv).unwrap();
    assert!(app.bin(&["import-orders", app.path("c.csv").to_str().unwrap()]).ok);
    let fake = FakeTelegram::start().await;
    let (_tg, _stop) = start(&app, &fake, None).await;

    fake.push_text(30, 4201, "/chart summer-fest 14", None);
    let photo = fake.wait_for(4201, &["sendphoto"], 1).await;
    let caption = photo[0].params["caption"].as_str().unwrap_or_default();
    assert!(
        caption.starts_with("Summer Fest, 14 days: 3 tickets, best day"),
        "{caption}"
    );
    let (_, name, bytes) = &photo[0].files[0];
    assert_eq!(name, "chart-summer-fest.png");
    assert_eq!(png_size(bytes).0, 1200);
}
