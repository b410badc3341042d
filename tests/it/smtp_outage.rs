//! A mail server that refuses the bot's login: the sender asks it once per round, the
//! mails keep their attempts and go out once a session opens, or are given up late.

use super::email::{addr, org_with_event};
use super::support::*;
use promoterd::clock::Clock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What the stand-in server saw, and whether it takes the login.
#[derive(Default)]
struct Server {
    logins: AtomicUsize,
    accept: AtomicBool,
    recipients: Mutex<Vec<String>>,
}

/// A small SMTP server on loopback speaking RFC 5321 and RFC 4954's `AUTH PLAIN`: it
/// answers a login 535 (as a provider answers a wrong password) until `accept` is set.
async fn stand_in() -> (u16, Arc<Server>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Arc::new(Server::default());
    let shared = server.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let server = shared.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 stand-in ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-stand-in\r\n250 AUTH PLAIN\r\n",
                        "AUTH" => {
                            server.logins.fetch_add(1, Ordering::SeqCst);
                            if server.accept.load(Ordering::SeqCst) {
                                b"235 2.7.0 accepted\r\n"
                            } else {
                                b"535 5.7.8 authentication failed\r\n"
                            }
                        }
                        "RCPT" => {
                            let to = line.split(['<', '>']).nth(1).unwrap_or("").to_string();
                            server.recipients.lock().unwrap().push(to);
                            b"250 ok\r\n"
                        }
                        "MAIL" | "NOOP" | "RSET" => b"250 ok\r\n",
                        "DATA" => {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                            }
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, server)
}

/// A test home mailing through the stand-in at `port` with a password it refuses at
/// first; replies off (no IMAP).
async fn app_at(port: u16, clock: Clock) -> (TestApp, String) {
    let tag = format!("login{}", promoterd::codes::link_code());
    let from = tag.clone();
    let app = TestApp::custom(clock, move |text| {
        text.edit(
            "[email]\n",
            &format!("[email]\nfrom = \"bot-{from}@example.test\"\nsmtp_url = \"smtp://bot:wrong@127.0.0.1:{port}\"\n"),
        )
    })
    .await;
    (app, tag)
}

/// Five people invited by mail; their addresses.
async fn five_invites(app: &TestApp, boss: &str, tag: &str) -> Vec<String> {
    org_with_event(app, boss).await;
    let people: Vec<String> = (0..5).map(|i| addr(&format!("p{i}"), tag)).collect();
    for who in &people {
        app.ok(boss, &format!("invite {who} summer-fest")).await;
    }
    people
}

/// The one invite mail to `who`.
async fn invite_to(app: &TestApp, who: &str) -> promoterd::store::OutboxStatus {
    let mut rows = app.store.outbox_of(who).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

#[tokio::test]
async fn a_refused_login_is_tried_once_a_round_and_the_mail_keeps_its_attempts() {
    let (port, server) = stand_in().await;
    let (app, tag) = app_at(port, Clock::system()).await;
    let boss = addr("boss", &tag);
    let people = five_invites(&app, &boss, &tag).await;
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    // The round ends when its claims are given back; the next is 30 s away.
    wait_until("the round gives its mail back", Duration::from_secs(20), || async {
        let mut rows = Vec::new();
        for who in &people {
            rows.push(invite_to(&app, who).await);
        }
        (server.logins.load(Ordering::SeqCst) > 0 && rows.iter().all(|r| r.claimed_until.is_none())).then_some(rows)
    })
    .await;
    assert_eq!(
        server.logins.load(Ordering::SeqCst),
        1,
        "one login for the round, not one per mail"
    );
    for who in &people {
        let row = invite_to(&app, who).await;
        assert_eq!(
            (row.attempts, row.sent_at, row.failed_at, row.last_error.as_deref()),
            (0, None, None, None),
            "{who}: the mail was never offered, so the attempt is not its own"
        );
    }
    assert!(server.recipients.lock().unwrap().is_empty());
    email.stop().await;

    // The password works again (here: the server takes it); a sender started now sends all.
    server.accept.store(true, Ordering::SeqCst);
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    wait_until("every invite is sent", Duration::from_secs(20), || async {
        let mut sent = 0;
        for who in &people {
            sent += usize::from(invite_to(&app, who).await.sent_at.is_some());
        }
        (sent == people.len()).then_some(())
    })
    .await;
    let mut got = server.recipients.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, people, "each invite once");
    for who in &people {
        assert_eq!(
            invite_to(&app, who).await.attempts,
            1,
            "{who}: sent at its first attempt"
        );
    }
    email.stop().await;
}

#[tokio::test]
async fn a_mail_that_found_no_session_for_15_hours_is_given_up_and_the_inviter_told() {
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let clock = Clock::fixed(at("2027-03-01T09:00:00Z"));
    let (port, server) = stand_in().await;
    let (app, tag) = app_at(port, clock.clone()).await;
    let boss = addr("boss", &tag);
    org_with_event(&app, &boss).await;
    let (late, fresh) = (addr("late", &tag), addr("fresh", &tag));
    app.ok(&boss, &format!("invite {late} summer-fest")).await;
    // 14 h 50 min later (the attempts' backoffs add up to 14 h 50 min 30 s): one more invite.
    clock.advance(chrono::Duration::minutes(14 * 60 + 50));
    app.ok(&boss, &format!("invite {fresh} summer-fest")).await;
    clock.advance(chrono::Duration::seconds(30));
    let before = app.store.outbox_of(&boss).await.unwrap().len();
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    let given_up = wait_until("the late invite is given up", Duration::from_secs(20), || async {
        let row = invite_to(&app, &late).await;
        row.failed_at.is_some().then_some(row)
    })
    .await;
    let error = given_up.last_error.unwrap_or_default();
    assert!(error.contains("535") && error.contains("14 h 50 min"), "{error}");
    assert_eq!(given_up.attempts, 1, "{error}");
    // The inviter is told (by mail, queued behind the outage); the newer invite waits.
    let notices = app.store.outbox_of(&boss).await.unwrap();
    assert_eq!(notices.len(), before + 1, "{notices:?}");
    assert_eq!(
        notices.last().map(|n| (n.kind.as_str(), n.sent_at)),
        Some(("notice", None))
    );
    wait_until("the round gives the rest back", Duration::from_secs(20), || async {
        let row = invite_to(&app, &fresh).await;
        row.claimed_until.is_none().then_some(row)
    })
    .await;
    let waiting = invite_to(&app, &fresh).await;
    assert_eq!((waiting.attempts, waiting.failed_at), (0, None), "{waiting:?}");
    assert_eq!(server.logins.load(Ordering::SeqCst), 1);
    email.stop().await;
}
