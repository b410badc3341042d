//! The SMTP sessions against a small SMTP server on loopback: reuse, refusals,
//! a refused login, a server that ends sessions or is not there.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[test]
fn the_url_forms_of_lettre_are_read_the_same() {
    let s = Smtp::from_url("smtp://bot%40example.com:p%40ss@smtp.example.com:2587?tls=required").unwrap();
    assert_eq!((s.host.as_str(), s.port), ("smtp.example.com", 2587));
    assert!(matches!(s.tls, Tls::Required(_)));
    assert!(s.credentials.is_some());
    let s = Smtp::from_url("smtp://smtp.example.com?tls=required").unwrap();
    assert_eq!(s.port, 587);
    let s = Smtp::from_url("smtp://smtp.example.com?tls=opportunistic").unwrap();
    assert!(matches!(s.tls, Tls::Opportunistic(_)));
    let s = Smtp::from_url("smtps://u:p@smtp.example.com").unwrap();
    assert!(matches!(s.tls, Tls::Wrapper));
    assert_eq!(s.port, 465);
    let s = Smtp::from_url("smtp://127.0.0.1").unwrap();
    assert!(matches!(s.tls, Tls::None));
    assert_eq!(s.port, 25);
    assert!(s.credentials.is_none());
    let s = Smtp::from_url("smtp://[::1]:2525/mail.example.org").unwrap();
    assert_eq!((s.host.as_str(), s.port), ("::1", 2525));
    assert_eq!(s.hello, ClientId::Domain("mail.example.org".into()));
}

#[test]
fn other_schemes_and_tls_values_are_refused() {
    for bad in [
        "http://smtp.example.com",
        "smtp://smtp.example.com?tls=maybe",
        "smtp://",
        "not a url",
    ] {
        assert!(Smtp::from_url(bad).is_err(), "{bad}");
    }
}

/// What the stand-in server saw: sessions opened and messages taken.
#[derive(Default)]
struct Seen {
    sessions: AtomicUsize,
    messages: Mutex<Vec<String>>,
}

/// A small SMTP server on loopback (RFC 5321's replies, no extensions); a `RCPT`
/// to `nouser-…` is refused with 550 as a real server refuses an unknown user.
/// With `one_per_session` it ends each session after the mail it took.
async fn server_with(one_per_session: bool) -> (u16, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            shared.sessions.fetch_add(1, Ordering::SeqCst);
            let seen = shared.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-test\r\n250 AUTH PLAIN\r\n",
                        // PLAIN with user `ana`, password `wrong`: refused.
                        "AUTH" if line.ends_with("AGFuYQB3cm9uZw==") => b"535 5.7.8 authentication failed\r\n",
                        "AUTH" => b"235 2.7.0 accepted\r\n",
                        "RCPT" if line.contains("nouser-") => b"550 5.1.1 user unknown\r\n",
                        "MAIL" | "RCPT" | "NOOP" | "RSET" => b"250 ok\r\n",
                        "DATA" => {
                            write.write_all(b"354 go ahead\r\n").await.unwrap();
                            let mut body = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                body.push_str(&l);
                                body.push('\n');
                            }
                            seen.messages.lock().unwrap().push(body);
                            if one_per_session {
                                let _ = write.write_all(b"250 queued\r\n").await;
                                return;
                            }
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, seen)
}

async fn server() -> (u16, Arc<Seen>) {
    server_with(false).await
}

/// The outgoing server at `port` on loopback, plain SMTP.
fn smtp_at(port: u16) -> Smtp {
    Smtp::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap()
}

/// Sends "note 0" to "note 2" to Ana, one after another; each must be taken.
async fn three_notes(smtp: &Smtp) {
    for n in 0..3 {
        smtp.send(&message("ana@example.test", &format!("note {n}")))
            .await
            .unwrap();
    }
}

fn message(to: &str, subject: &str) -> Message {
    Message::builder()
        .from("bot@example.test".parse().unwrap())
        .to(to.parse().unwrap())
        .subject(subject)
        .body(format!("about {subject}"))
        .unwrap()
}

#[tokio::test]
async fn the_sessions_socket_has_nagle_off() {
    let (port, _) = server().await;
    let smtp = smtp_at(port);
    assert!(smtp.tcp().await.unwrap().nodelay().unwrap());
}

#[tokio::test]
async fn messages_one_after_another_share_one_session() {
    let (port, seen) = server().await;
    three_notes(&smtp_at(port)).await;
    assert_eq!(seen.sessions.load(Ordering::SeqCst), 1);
    let messages = seen.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 3);
    for (n, m) in messages.iter().enumerate() {
        assert!(m.contains(&format!("Subject: note {n}")), "{m}");
    }
}

#[tokio::test]
async fn a_refusal_is_permanent_and_the_next_message_goes_on_a_new_session() {
    let (port, seen) = server().await;
    let smtp = smtp_at(port);
    let refused = smtp.send(&message("nouser-x@example.test", "lost")).await.unwrap_err();
    assert!(refused.is_permanent(), "{refused}");
    smtp.send(&message("ana@example.test", "kept")).await.unwrap();
    // lettre ends a session on an error reply; the next message opened another.
    assert_eq!(seen.sessions.load(Ordering::SeqCst), 2);
    let messages = seen.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("Subject: kept"));
}

#[tokio::test]
async fn a_session_the_server_ended_is_replaced_without_failing_the_mail() {
    let (port, seen) = server_with(true).await;
    three_notes(&smtp_at(port)).await;
    assert_eq!(seen.sessions.load(Ordering::SeqCst), 3);
    assert_eq!(seen.messages.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_refused_login_is_a_temporary_failure_of_the_session() {
    let (port, seen) = server().await;
    let wrong = Smtp::from_url(&format!("smtp://ana:wrong@127.0.0.1:{port}")).unwrap();
    let e = wrong.send(&message("ben@example.test", "x")).await.unwrap_err();
    assert!(matches!(e, SmtpError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("535"), "{e}");
    assert!(!e.is_permanent());
    assert!(seen.messages.lock().unwrap().is_empty());
    let right = Smtp::from_url(&format!("smtp://ana:right@127.0.0.1:{port}")).unwrap();
    right.send(&message("ben@example.test", "y")).await.unwrap();
    assert_eq!(seen.messages.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn sessions_idle_past_the_limit_are_let_go() {
    let (port, seen) = server().await;
    let smtp = smtp_at(port);
    smtp.send(&message("ana@example.test", "one")).await.unwrap();
    smtp.prune();
    assert_eq!(smtp.idle.lock().unwrap().len(), 1, "a fresh session is kept");
    // Aged past the limit, as a quiet minute would leave it.
    let aged = Instant::now()
        .checked_sub(IDLE_LIMIT)
        .expect("the clock is past a minute");
    smtp.idle.lock().unwrap()[0].1 = aged;
    smtp.prune();
    assert!(smtp.idle.lock().unwrap().is_empty());
    smtp.send(&message("ana@example.test", "two")).await.unwrap();
    assert_eq!(seen.sessions.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_temporary_failure() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let smtp = smtp_at(port);
    let e = smtp.send(&message("ana@example.test", "x")).await.unwrap_err();
    assert!(matches!(e, SmtpError::Connect { .. }), "{e}");
    assert!(!e.is_permanent());
}

#[test]
fn a_stuck_session_ends_before_the_send_it_is_for() {
    assert!(CONNECT_TIMEOUT < crate::outbox_claim::EMAIL.send_limit);
}
