//! Email end to end against real servers started by scripts/test.sh: Dovecot (IMAP,
//! LMTP) and an SMTP relay on loopback. Mail goes out through the outbox sender and
//! replies come back through the IMAP poller.

use super::support::*;
use futures::TryStreamExt;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, address::Envelope};
use mail_parser::{MessageParser, MimeHeaders};
use promoterd::clock::Clock;
use std::time::Duration;

fn port(var: &str) -> u16 {
    std::env::var(var)
        .unwrap_or_else(|_| {
            panic!("{var} is not set: run the tests with scripts/test.sh, which starts the mail servers")
        })
        .parse()
        .unwrap()
}

fn imap_port() -> u16 {
    port("PROMOTERD_TEST_IMAP_PORT")
}

fn smtp_port() -> u16 {
    port("PROMOTERD_TEST_SMTP_PORT")
}

/// A test home whose daemon mails as `bot-<tag>@example.test` through the test servers.
/// The tag is made unique per run, so mailboxes left by earlier runs never interfere.
pub(super) async fn mail_app(tag: &str) -> (TestApp, String) {
    mail_app_with(tag, |t| t).await
}

/// [`mail_app`], with the configuration text also passed through `edit`.
async fn mail_app_with(tag: &str, edit: impl FnOnce(String) -> String) -> (TestApp, String) {
    let (smtp, imap) = (smtp_port(), imap_port());
    let tag = format!("{tag}{}", promoterd::codes::link_code());
    let unique = tag.clone();
    let app = TestApp::custom(Clock::system(), move |text| {
        let text = text
            .edit(
                "[email]\n",
                &format!(
                    "[email]\nfrom = \"bot-{tag}@example.test\"\nsmtp_url = \"smtp://127.0.0.1:{smtp}\"\n\
                 imap_host = \"127.0.0.1\"\nimap_password = \"pass\"\n"
                ),
            )
            .edit("imap_port = 993", &format!("imap_port = {imap}"))
            .edit("imap_tls = true", "imap_tls = false")
            .edit("poll_seconds = 60", "poll_seconds = 1");
        edit(text)
    })
    .await;
    (app, unique)
}

pub(super) fn addr(who: &str, tag: &str) -> String {
    format!("{who}-{tag}@example.test")
}

/// Every message in a user's INBOX.
pub(super) async fn inbox(user: &str) -> Vec<Vec<u8>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", imap_port()))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    let mut s = client.login(user, "pass").await.map_err(|(e, _)| e).unwrap();
    let mailbox = s.select("INBOX").await.unwrap();
    let mut out = Vec::new();
    if mailbox.exists > 0 {
        let fetched: Vec<_> = s
            .fetch("1:*", "BODY.PEEK[]")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        out = fetched.iter().filter_map(|f| f.body().map(<[u8]>::to_vec)).collect();
    }
    s.logout().await.unwrap();
    out
}

/// Waits (bounded) until `user` has a mail whose raw text satisfies `pred`.
pub(super) async fn wait_mail(user: &str, pred: impl Fn(&str) -> bool) -> Vec<u8> {
    wait_until(
        &format!("a matching mail reaches {user}"),
        Duration::from_secs(15),
        || async {
            inbox(user)
                .await
                .into_iter()
                .find(|m| pred(&String::from_utf8_lossy(m)))
        },
    )
    .await
}

/// Waits (bounded) until the daemon has processed `n` inbound messages.
pub(super) async fn wait_processed(app: &TestApp, n: usize) -> Vec<(String, String, Option<String>, String)> {
    wait_until(
        &format!("the daemon has processed {n} mails"),
        Duration::from_secs(15),
        || async {
            let rows = app.store.processed_mail().await.unwrap();
            (rows.len() >= n).then_some(rows)
        },
    )
    .await
}

/// Sends a raw message through the test SMTP server.
pub(super) async fn send(from: &str, to: &str, raw: &str) {
    let t: AsyncSmtpTransport<Tokio1Executor> = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp_port())
        .build();
    let env = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    t.send_raw(&env, raw.replace('\n', "\r\n").as_bytes()).await.unwrap();
}

pub(super) struct Received {
    pub(super) reply_to: String,
    pub(super) message_id: String,
    pub(super) subject: String,
    pub(super) text: String,
}

pub(super) fn read(raw: &[u8]) -> Received {
    let m = MessageParser::default().parse(raw).unwrap();
    Received {
        reply_to: m
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        subject: m.subject().unwrap_or_default().to_string(),
        text: m.body_text(0).unwrap_or_default().into_owned(),
    }
}

/// A reply as a mail client writes it: the answer on top, the original quoted below.
fn client_reply(from: &str, to: &str, original: &Received, answer: &str, id: &str) -> String {
    let quoted: String = original.text.lines().map(|l| format!("> {l}\n")).collect();
    format!(
        "From: Someone <{from}>\nTo: {to}\nSubject: Re: {}\nMessage-ID: <{id}@client.example>\nIn-Reply-To: <{}>\n\
         References: <{}>\nDate: Mon, 23 Nov 2026 22:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n\
         {answer}\n\nOn Mon, 23 Nov 2026 at 21:00, promoterd <bot@example.test> wrote:\n{quoted}",
        original.subject, original.message_id, original.message_id
    )
}

pub(super) async fn org_with_event(app: &TestApp, owner: &str) {
    let out = app.bin(&["org", "create", "Acme Events", "--owner", owner]);
    assert!(out.ok, "{out:?}");
    app.ok(
        owner,
        "newevent summer-fest \"2099-06-01 18:00\" https://tickets.acme.test/summer Summer Fest",
    )
    .await;
}

#[tokio::test]
async fn invites_are_accepted_and_ignored_by_reply_and_nothing_else_counts() {
    let (app, tag) = mail_app("inv").await;
    let tag = tag.as_str();
    let (boss, ana, cara, mallory) = (
        addr("boss", tag),
        addr("ana", tag),
        addr("cara", tag),
        addr("mallory", tag),
    );
    org_with_event(&app, &boss).await;
    app.ok(&boss, &format!("invite {ana} summer-fest")).await;
    app.ok(&boss, &format!("invite {cara} summer-fest")).await;
    let gone = addr("gone", tag);
    app.ok(&boss, &format!("invite {gone} summer-fest")).await;
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();

    // The invite arrives, as a reply-able mail with a per-recipient token.
    let raw = wait_mail(&ana, |m| m.contains("invites you to promote")).await;
    let invite = read(&raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
    assert!(
        invite.reply_to.starts_with(&format!("bot-{tag}+")),
        "{}",
        invite.reply_to
    );
    assert!(invite.text.contains("/accept "), "{}", invite.text);

    // Ana replies `accept` from her mail client: she becomes a promoter and is told so.
    send(
        &ana,
        &invite.reply_to,
        &client_reply(&ana, &invite.reply_to, &invite, "Accept", "r1"),
    )
    .await;
    let confirmation = read(&wait_mail(&ana, |m| m.contains("Welcome!")).await);
    assert!(
        confirmation.text.contains("https://go.acme.test/t/"),
        "{}",
        confirmation.text
    );
    assert!(app.ok(&ana, "mystats summer-fest").await.contains("Your sales"));

    // Cara's invite: a forged reply from another address, and an auto-reply, change nothing.
    let cara_invite = read(&wait_mail(&cara, |m| m.contains("invites you to promote")).await);
    let before_promoters = app.ok(&boss, "promoters").await;
    send(
        &mallory,
        &cara_invite.reply_to,
        &client_reply(&mallory, &cara_invite.reply_to, &cara_invite, "accept", "r2"),
    )
    .await;
    let refusal = read(&wait_mail(&mallory, |m| m.contains("Nothing was done")).await);
    assert!(
        refusal.text.contains("not from the address the mail was sent to"),
        "{}",
        refusal.text
    );
    let auto = client_reply(&cara, &cara_invite.reply_to, &cara_invite, "accept", "r3").replace(
        "Subject: Re:",
        "Auto-Submitted: auto-replied\nSubject: Out of office Re:",
    );
    send(&cara, &cara_invite.reply_to, &auto).await;
    // A bounce for an address we mailed, quoting our mail's headers; and a forged one
    // about an address we never mailed that way.
    let gone_invite = read(&wait_mail(&gone, |m| m.contains("invites you to promote")).await);
    let forged = format!(
        "From: MAILER-DAEMON@example.test\nTo: bot-{tag}@example.test\nSubject: Undelivered\n\
         Message-ID: <forged-1@mx.example.test>\nX-Failed-Recipients: {boss}\n\nYour mail could not be delivered.\n"
    );
    send(
        "mailer-daemon@example.test",
        &format!("bot-{tag}@example.test"),
        &forged,
    )
    .await;
    let bounce = format!(
        "From: MAILER-DAEMON@example.test\nTo: bot-{tag}@example.test\nSubject: Undelivered Mail Returned to Sender\n\
         Message-ID: <bounce-1@mx.example.test>\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\n\
         Content-Type: text/plain\n\nYour mail could not be delivered.\naccept\n\n--B\nContent-Type: message/delivery-status\n\n\
         Reporting-MTA: dns; mx.example.test\n\nFinal-Recipient: rfc822; gone-{tag}@example.test\nAction: failed\nStatus: 5.1.1\n\n--B\n\
         Content-Type: text/rfc822-headers\n\nMessage-ID: <{}>\nTo: gone-{tag}@example.test\n\n--B--\n",
        gone_invite.message_id
    );
    send(
        "mailer-daemon@example.test",
        &format!("bot-{tag}@example.test"),
        &bounce,
    )
    .await;
    let rows = wait_processed(&app, 5).await;
    assert!(
        rows.iter()
            .any(|r| r.1 == "bounce" && r.3.contains("not about a mail of ours")),
        "{rows:?}"
    );
    assert!(
        !app.store.is_suppressed(&boss).await.unwrap(),
        "a forged bounce silences nobody"
    );
    assert!(rows.iter().any(|r| r.1 == "auto_reply" && r.3 == "ignored"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.1 == "bounce" && r.3.contains(&format!("gone-{tag}@example.test"))),
        "{rows:?}"
    );
    assert!(
        app.store
            .is_suppressed(&format!("gone-{tag}@example.test"))
            .await
            .unwrap()
    );
    assert_eq!(
        before_promoters,
        app.ok(&boss, "promoters").await,
        "no reply but Cara's own may change her invite"
    );

    // Cara declines by reply; the same token used again changes nothing more.
    send(
        &cara,
        &cara_invite.reply_to,
        &client_reply(&cara, &cara_invite.reply_to, &cara_invite, "ignore", "r4"),
    )
    .await;
    wait_mail(&cara, |m| m.contains("Invite declined")).await;
    let after_ignore = app.ok(&boss, "promoters").await;
    assert!(
        row(&after_ignore, &cara).contains(&"ignored".to_string()),
        "{after_ignore}"
    );
    send(
        &cara,
        &cara_invite.reply_to,
        &client_reply(&cara, &cara_invite.reply_to, &cara_invite, "accept", "r5"),
    )
    .await;
    wait_mail(&cara, |m| m.contains("This invite was declined")).await;
    assert_eq!(after_ignore, app.ok(&boss, "promoters").await);
    email.stop().await;
}

#[tokio::test]
async fn an_organizer_mails_export_and_gets_the_csv() {
    let (app, tag) = mail_app("exp").await;
    let tag = tag.as_str();
    let (boss, ana) = (addr("boss", tag), addr("ana", tag));
    org_with_event(&app, &boss).await;
    app.ok(&boss, &format!("invite {ana} summer-fest")).await;
    let code = app.invite_code(&ana).await;
    let link = link_code(&app.ok(&ana, &format!("accept {code}")).await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,ticket_type,quantity,unit_price_minor,currency\n\
         E1,summer-fest,paid,2099-05-01T10:00:00Z,{link},=cmd|' /C calc'!A0,e1@buyer.test,GA,2,4900,EUR\n\
         E2,summer-fest,paid,2099-05-01T11:00:00Z,{link},Ben Buyer,e2@buyer.test,VIP,1,9900,EUR\n\
         E3,summer-fest,paid,2099-05-01T12:00:00Z,,Direct Buyer,e3@buyer.test,GA,1,4900,EUR\n"
    );
    std::fs::write(app.path("o.csv"), csv).unwrap();
    assert!(app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]).ok);
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    // A new thread from the organizer's address on record.
    let mail = format!(
        "From: Boss <{boss}>\nTo: bot-{tag}@example.test\nSubject: export please\nMessage-ID: <x1@client.example>\n\
         Content-Type: text/plain; charset=utf-8\n\nexport summer-fest\n\n-- \nBoss, Acme Events\n"
    );
    send(&boss, &format!("bot-{tag}@example.test"), &mail).await;
    let raw = wait_mail(&boss, |m| m.contains("referred-buyers-summer-fest")).await;
    let msg = MessageParser::default().parse(&raw).unwrap();
    let attachment = msg.attachments().next().expect("a CSV attachment");
    assert!(attachment.attachment_name().unwrap().ends_with(".csv"));
    let mut rdr = csv::Reader::from_reader(attachment.contents());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.iter().map(|r| r[0].to_string()).collect::<Vec<_>>(), ["E1", "E2"]);
    assert_eq!(&rows[0][8], "'=cmd|' /C calc'!A0");
    assert_eq!(msg.in_reply_to().as_text(), Some("x1@client.example"));
    // A new thread (which anyone can forge with the organizer's From) may only read.
    let before = app.dump().await;
    let forged = format!(
        "From: Boss <{boss}>\nTo: bot-{tag}@example.test\nSubject: hi\nMessage-ID: <x3@client.example>\n\
         Content-Type: text/plain; charset=utf-8\n\ninvite attacker@evil.test summer-fest\n"
    );
    send(&boss, &format!("bot-{tag}@example.test"), &forged).await;
    let refusal = read(&wait_mail(&boss, |m| m.contains("needs a reply to a mail from promoterd")).await);
    assert!(refusal.text.contains("help, stats, export"), "{}", refusal.text);
    let after = app.dump().await;
    assert!(!after.contains("attacker@evil.test"), "no invite was created");
    let section = TestApp::dump_section;
    for table in ["invites", "memberships", "people", "events", "links"] {
        assert_eq!(section(&before, table), section(&after, table), "{table} changed");
    }
    // The same command from a promoter's address is refused: only organizers may start threads.
    let mail = mail
        .replace(&format!("From: Boss <{boss}>"), &format!("From: Ana <{ana}>"))
        .replace("x1@", "x2@");
    send(&ana, &format!("bot-{tag}@example.test"), &mail).await;
    let refusal = read(&wait_mail(&ana, |m| m.contains("Nothing was done")).await);
    assert!(
        refusal.text.contains("reply to a mail from promoterd"),
        "{}",
        refusal.text
    );
    email.stop().await;
}

#[tokio::test]
async fn a_daemon_killed_mid_mailbox_processes_each_message_exactly_once() {
    let (app, tag) = mail_app("kill").await;
    let tag = tag.as_str();
    let boss = addr("boss", tag);
    org_with_event(&app, &boss).await;
    let bot = format!("bot-{tag}@example.test");
    let ids: Vec<String> = (1..=6).map(|i| format!("k{i}-{tag}@client.example")).collect();
    for (i, id) in ids.iter().enumerate() {
        let cmd = [
            "help",
            "stats summer-fest",
            "export summer-fest",
            "help",
            "stats",
            "export",
        ][i];
        let mail = format!(
            "From: <{boss}>\nTo: {bot}\nSubject: cmd {i}\nMessage-ID: <{id}>\nContent-Type: text/plain\n\n{cmd}\n"
        );
        send(&boss, &bot, &mail).await;
    }
    wait_mail(&bot, |m| m.contains(&ids[5])).await;
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_promoterd"))
            .args(["run", "--config"])
            .arg(&app.config)
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut daemon = start();
    wait_processed(&app, 1).await;
    daemon.kill().unwrap(); // SIGKILL, mid-mailbox
    daemon.wait().unwrap();
    let mut daemon = start();
    let rows = wait_processed(&app, 6).await;
    // Wait until every message has its answer in the mailbox. A reply the killed
    // daemon had claimed but not recorded as sent waits for its claim to lapse.
    wait_until(
        "every message has its answer in the mailbox",
        promoterd::outbox_claim::EMAIL.hold + Duration::from_secs(15),
        || async {
            let answered: std::collections::BTreeSet<String> = inbox(&boss)
                .await
                .iter()
                .filter_map(|m| {
                    MessageParser::default()
                        .parse(m)
                        .and_then(|p| p.in_reply_to().as_text().map(String::from))
                })
                .collect();
            answered.len() >= 6
        },
    )
    .await;
    // Let the daemon finish anything in flight, then stop it cleanly.
    let pid = daemon.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(daemon.wait().unwrap().success());
    let rows_after = app.store.processed_mail().await.unwrap();
    assert_eq!(rows_after.len(), 6, "each message processed once: {rows_after:?}");
    assert_eq!(rows, rows_after);
    // A reply interrupted between SMTP and its bookkeeping is sent again with the same
    // Message-ID (at-least-once delivery); there is never a second, different reply.
    let mut by_id: std::collections::BTreeMap<String, String> = Default::default();
    for m in inbox(&boss).await {
        let p = MessageParser::default().parse(&m).unwrap();
        if let (Some(parent), Some(id)) = (p.in_reply_to().as_text(), p.message_id()) {
            by_id.insert(id.to_string(), parent.to_string());
        }
    }
    let mut got: Vec<String> = by_id.into_values().collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want, "exactly one reply per message");
    let dump = app.dump().await;
    let outbox = dump.split("## outbox\n").nth(1).unwrap().split("## ").next().unwrap();
    let replies_queued = outbox
        .lines()
        .filter(|l| l.contains(&format!("|'{boss}'|'reply'|")))
        .count();
    assert_eq!(replies_queued, 6, "six replies queued in the outbox:\n{outbox}");
}

#[tokio::test]
async fn a_digest_arrives_by_mail_and_replying_export_to_it_brings_the_csv() {
    let (app, tag) = mail_app("dig").await;
    let tag = tag.as_str();
    let boss = addr("boss", tag);
    org_with_event(&app, &boss).await;
    app.ok(&boss, "digest daily").await;
    app.ok(&boss, "digest hour 0").await;
    // The person joined today; the next due period is tomorrow's: run the daemon's parts
    // on a clock that is there.
    let tomorrow = Clock::fixed(chrono::Utc::now() + chrono::Duration::days(1));
    let later = promoterd::commands::Core::new(app.store.clone(), tomorrow, app.core.settings.clone());
    let email = promoterd::email::EmailFrontend::start(&later, &app.config())
        .unwrap()
        .unwrap();
    assert_eq!(later.run_digests().await.unwrap(), 1);
    let digest = read(&wait_mail(&boss, |m| m.contains("organizer digest")).await);
    assert!(
        digest.text.contains("Reply `export <event>`") && digest.text.contains("Reply `stop`"),
        "{}",
        digest.text
    );
    send(
        &boss,
        &digest.reply_to,
        &client_reply(&boss, &digest.reply_to, &digest, "export summer-fest", "d1"),
    )
    .await;
    let raw = wait_mail(&boss, |m| m.contains("referred-buyers-summer-fest")).await;
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert!(msg.attachments().next().is_some(), "the CSV is attached");
    email.stop().await;
}

#[tokio::test]
async fn a_mail_over_the_size_limit_is_skipped_unread_and_changes_nothing() {
    let (app, tag) = mail_app_with("big", |t| t.edit("max_mail_bytes = 10485760", "max_mail_bytes = 20000")).await;
    let tag = tag.as_str();
    let boss = addr("boss", tag);
    org_with_event(&app, &boss).await;
    let before = app.dump().await;
    let big = format!(
        "From: Boss <{boss}>\nTo: bot-{tag}@example.test\nSubject: numbers\nMessage-ID: <big1@client.example>\n\
         Content-Type: text/plain; charset=utf-8\n\nstats summer-fest\n\n{}\n",
        "padding padding padding padding padding padding padding padding\n".repeat(500)
    );
    send(&boss, &format!("bot-{tag}@example.test"), &big).await;
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    let processed = wait_processed(&app, 1).await;
    email.stop().await;
    assert_eq!(processed.len(), 1);
    let (_, kind, sender, outcome) = &processed[0];
    assert_eq!(
        (kind.as_str(), sender.as_deref()),
        ("skipped", None),
        "read unread: {outcome}"
    );
    assert!(outcome.starts_with("too large: "), "{outcome}");
    assert!(
        queued(&app, &boss, "reply").await.is_empty(),
        "no answer to an unread mail"
    );
    let section = TestApp::dump_section;
    let after = app.dump().await;
    for table in [
        "outbox",
        "invites",
        "memberships",
        "people",
        "events",
        "links",
        "audit_log",
    ] {
        assert_eq!(section(&before, table), section(&after, table), "{table} changed");
    }
}

#[tokio::test]
async fn a_mail_server_that_stops_answering_never_holds_up_a_stop() {
    // An IMAP server that takes the connection and never greets.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let (taken, mut accepted) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn);
            let _ = taken.send(());
        }
    });
    let imap = imap_port();
    let (app, _tag) = mail_app_with("silent", move |t| {
        t.edit(&format!("imap_port = {imap}"), &format!("imap_port = {port}"))
    })
    .await;
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), accepted.recv())
        .await
        .expect("the poller connects")
        .unwrap();
    // The poller waits for a greeting that never comes; a stop still ends it.
    let stopped = tokio::time::timeout(Duration::from_secs(20), email.stop()).await;
    assert!(stopped.is_ok(), "the stop waited on a server that does not answer");
}
