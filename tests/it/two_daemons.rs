//! Several daemons on one PostgreSQL database (issue 20): both serve links and take
//! orders, a delivery posted to both is stored once, a link change made elsewhere
//! reaches both, and the jobs only one may run move to the other when their holder dies.

use super::fake_telegram::{FakeTelegram, TOKEN};
use super::http::{client, now, signature};
use super::support::*;
use promoterd::commands::Platform;
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A daemon started from the app's config, its log lines collected as they come.
struct Daemon {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(app: &TestApp) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_promoterd"))
            .arg("--config")
            .arg(&app.config)
            .arg("run")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(plain(&line));
            }
        });
        Daemon { child, log }
    }

    fn logged(&self, what: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(what))
    }

    /// The daemon's HTTP base URL, once it listens.
    async fn base(&self) -> String {
        wait_until("the daemon listens", Duration::from_secs(30), || async {
            let log = self.log.lock().unwrap();
            log.iter()
                .find(|l| l.contains("http: listening"))
                .and_then(|l| l.split("address=").nth(1))
                .map(|a| format!("http://{}", a.split_whitespace().next().unwrap_or_default()))
        })
        .await
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A log line without its terminal colours.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence runs to its final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `code` redirects on the daemon at `base`.
async fn redirects(base: &str, code: &str) -> bool {
    let res = client().get(format!("{base}/t/{code}")).send().await.unwrap();
    res.status() == StatusCode::FOUND
}

const HOOK_SECRET: &str = "two-daemons_hook";

/// A Telegram update: a private text message from `user`.
fn telegram_update(update_id: i64, user: u64, text: &str) -> serde_json::Value {
    let len = text.split_whitespace().next().unwrap_or_default().chars().count();
    json!({"update_id": update_id, "message": {"message_id": update_id, "date": 1_800_000_000,
        "chat": {"id": user, "type": "private", "first_name": "Boss"},
        "from": {"id": user, "is_bot": false, "first_name": "Boss"}, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len}]}})
}

fn delivery(id: &str, code: &str) -> String {
    json!({
        "id": format!("dlv-{id}"),
        "type": "order.created",
        "order": {
            "id": id, "event": "summer-fest", "ref": code,
            "created_at": "2099-05-01T10:00:00Z", "updated_at": "2099-05-01T10:00:00Z",
            "buyer": {"name": "Twice Posted", "email": "twice@buyer.test"},
            "lines": [{"ticket_type": "General Admission", "quantity": 2, "unit_price": 4900, "currency": "EUR"}],
        }
    })
    .to_string()
}

#[tokio::test]
async fn two_daemons_share_links_orders_and_hand_the_jobs_over() {
    if !on_postgres() {
        eprintln!("PostgreSQL only: several daemons on one SQLite file are refused (see cli.rs)");
        return;
    }
    // The table's own look comes seldom here: a change must arrive by notification.
    // Telegram in webhook mode: every daemon takes updates, so a command can be given
    // through one daemon in particular.
    let telegram = FakeTelegram::start().await;
    let app = TestApp::custom(promoterd::clock::Clock::system(), |t| {
        t.edit("link_refresh_seconds = 5", "link_refresh_seconds = 600").edit(
            "mode = \"polling\"",
            &format!(
                "mode = \"webhook\"\nbot_token = \"{TOKEN}\"\nwebhook_secret = \"{HOOK_SECRET}\"\napi_url = \"{}\"",
                telegram.url
            ),
        )
    })
    .await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let mut a = Daemon::start(&app);
    let (base_a, jobs_a) = (a.base().await, a.logged("jobs: this daemon runs them"));
    let mut b = Daemon::start(&app);
    let base_b = b.base().await;
    assert!(jobs_a, "the first daemon takes the jobs");
    assert!(
        b.logged("jobs: another daemon runs them; standing by"),
        "{:?}",
        b.log.lock().unwrap()
    );
    assert!(redirects(&base_a, &code).await && redirects(&base_b, &code).await);

    // The same delivery posted to both at once is stored once.
    let body = delivery("T1", &code);
    let sig = signature(NEW_SECRET, now(), &body);
    let post = |base: String| {
        let (body, sig) = (body.clone(), sig.clone());
        async move {
            client()
                .post(format!("{base}/webhooks/orders"))
                .header("content-type", "application/json")
                .header("Promoterd-Signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (sa, sb) = tokio::join!(post(base_a.clone()), post(base_b.clone()));
    assert!(sa.is_success() && sb.is_success(), "{sa} {sb}");
    let db = app.db().await;
    let stored: i64 = db
        .scalar("SELECT count(*) FROM orders WHERE external_id = 'T1'", &[])
        .await;
    let tickets: i64 = db
        .scalar(
            "SELECT CAST(sum(l.quantity) AS BIGINT) FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.external_id = 'T1'",
            &[],
        )
        .await;
    db.close().await;
    assert_eq!((stored, tickets), (1, 2), "one order of 2 tickets");

    // A promoter revoked through daemon A (the organizer's Telegram message, posted to
    // A's webhook) stops redirecting on both daemons within seconds, though their
    // tables look at the log only every 10 minutes: the log's notification wakes each.
    app.link_chat(Platform::Telegram, "7001", OWNER).await;
    let revoke = telegram_update(1, 7001, &format!("/revoke {BEN} summer-fest"));
    let res = client()
        .post(format!("{base_a}/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", HOOK_SECRET)
        .json(&revoke)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for base in [&base_a, &base_b] {
        wait_until("the revoked link stops redirecting", Duration::from_secs(3), || async {
            !redirects(base, &code).await
        })
        .await;
    }
    let off: i64 = app
        .db()
        .await
        .scalar(
            "SELECT count(*) FROM links WHERE code = $1 AND revoked_at IS NOT NULL",
            &[&code],
        )
        .await;
    assert_eq!(off, 1, "the revoke was applied (by daemon A)");

    // The jobs' holder dies: the other daemon takes them within seconds.
    a.kill();
    wait_until("the second daemon takes the jobs", Duration::from_secs(10), || async {
        b.logged("jobs: this daemon runs them")
    })
    .await;
    assert!(!redirects(&base_b, &code).await, "still off after the takeover");
    b.kill();
}

/// Both daemons configured to poll one mailbox: only the jobs' holder polls; killed
/// mid-mailbox, the other takes over, and every message is processed and answered once.
#[tokio::test]
async fn two_daemons_on_one_mailbox_answer_each_mail_once() {
    use super::email::{addr, inbox, mail_app, org_with_event, send, wait_processed};
    if !on_postgres() {
        eprintln!("PostgreSQL only: several daemons on one SQLite file are refused");
        return;
    }
    let (app, tag) = mail_app("two").await;
    let boss = addr("boss", &tag);
    org_with_event(&app, &boss).await;
    let bot = format!("bot-{tag}@example.test");
    let ids: Vec<String> = (1..=6).map(|i| format!("t{i}-{tag}@client.example")).collect();
    for (i, id) in ids.iter().enumerate() {
        let cmd = ["help", "stats summer-fest", "export summer-fest"][i % 3];
        let mail = format!(
            "From: <{boss}>\nTo: {bot}\nSubject: cmd {i}\nMessage-ID: <{id}>\nContent-Type: text/plain\n\n{cmd}\n"
        );
        send(&boss, &bot, &mail).await;
    }
    let mut a = Daemon::start(&app);
    a.base().await;
    let mut b = Daemon::start(&app);
    b.base().await;
    let (holder, other) = if a.logged("jobs: this daemon runs them") {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert!(
        other.logged("standing by"),
        "one daemon runs the jobs, the other stands by"
    );
    wait_processed(&app, 1).await;
    holder.kill(); // SIGKILL, mid-mailbox
    wait_until("the other daemon takes the jobs", Duration::from_secs(10), || async {
        other.logged("jobs: this daemon runs them")
    })
    .await;
    let rows = wait_processed(&app, 6).await;
    assert_eq!(rows.len(), 6, "each message processed once: {rows:?}");
    // A reply the killed daemon had claimed but not sent waits for its claim to lapse.
    let answered_within = promoterd::outbox_claim::EMAIL.hold + Duration::from_secs(20);
    let replies = wait_until("every message is answered", answered_within, || async {
        let mut by_id = std::collections::BTreeMap::<String, String>::new();
        for m in inbox(&boss).await {
            let p = mail_parser::MessageParser::default().parse(&m).unwrap();
            if let (Some(parent), Some(id)) = (p.in_reply_to().as_text(), p.message_id()) {
                by_id.insert(id.to_string(), parent.to_string());
            }
        }
        (by_id.len() >= 6).then_some(by_id)
    })
    .await;
    // A reply cut off between SMTP and its bookkeeping goes again with its Message-ID;
    // never a second, different reply.
    let mut got: Vec<String> = replies.into_values().collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want, "exactly one reply per message");
    assert_eq!(app.store.processed_mail().await.unwrap().len(), 6);
    other.kill();
}

/// The digest scheduler runs in one daemon at a time: digests due once are queued once,
/// by whichever daemon holds the jobs, also across a takeover.
#[tokio::test]
async fn two_daemons_queue_each_due_digest_once() {
    if !on_postgres() {
        eprintln!("PostgreSQL only: several daemons on one SQLite file are refused");
        return;
    }
    let app = TestApp::new().await;
    app.world().await;
    // Daily at midnight local: due at once (for people with us since before it), and
    // once until tomorrow.
    let db = app.db().await;
    db.exec("UPDATE people SET created_at = created_at - interval '2 days'", &[])
        .await;
    for who in [OWNER, BEN] {
        app.ok(who, "digest daily").await;
        app.ok(who, "digest hour 0").await;
    }
    let (mut a, mut b) = (Daemon::start(&app), Daemon::start(&app));
    a.base().await;
    b.base().await;
    let (holder, other) = if a.logged("jobs: this daemon runs them") {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert!(other.logged("standing by"), "one daemon runs the jobs");
    wait_until("the holder queues the due digests", Duration::from_secs(20), || async {
        holder.logged("scheduled messages queued")
    })
    .await;
    // One more becomes due, then the holder dies before its next pass (a minute away):
    // the other daemon's first pass queues this one and none of the others again.
    app.ok(ANA, "digest daily").await;
    app.ok(ANA, "digest hour 0").await;
    holder.kill();
    wait_until(
        "the other daemon queues the new digest",
        Duration::from_secs(20),
        || async { other.logged("scheduled messages queued") },
    )
    .await;
    for who in [OWNER, BEN, ANA] {
        let runs: i64 = db
            .scalar(
                "SELECT count(*) FROM digest_runs r JOIN people p ON p.id = r.person_id WHERE p.email = $1",
                &[who],
            )
            .await;
        let queued: i64 = db
            .scalar(
                "SELECT count(*) FROM outbox WHERE recipient = $1 AND kind = 'digest'",
                &[who],
            )
            .await;
        assert_eq!((runs, queued), (1, 1), "{who}: one digest claimed and queued");
    }
    db.close().await;
    other.kill();
}
