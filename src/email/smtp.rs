//! The SMTP connections the sender uses: opened with `TCP_NODELAY` (lettre 0.11 leaves
//! Nagle's algorithm on) and kept between messages, with lettre's protocol code on top.
//!
//! lettre writes a message's body and its closing `.` in two writes. With Nagle on, the
//! second waits for the server's acknowledgement of the first, which a server delays
//! by up to 40 ms (Linux) while it waits for the rest: every message paid that wait
//! (lettre/lettre#1159, merged upstream after 0.11.23). The URL forms are lettre's.

use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Longest wait for a session: TCP, TLS, the greeting, EHLO, STARTTLS and AUTH.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection idle this long is let go rather than used (servers drop idle sessions
/// after a few minutes; lettre's pool uses the same limit).
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// A connection idle this long is checked with `NOOP` before it carries a message.
const CHECK_AFTER: Duration = Duration::from_secs(5);
/// Longest wait for the answer to a check (`NOOP`).
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// Most connections kept open between messages (the sender has 8 in flight).
const MAX_IDLE: usize = 8;

/// How the connection is encrypted.
#[derive(Clone)]
enum Tls {
    /// `smtp://host` (port 25): plain, for a relay on the same machine.
    None,
    /// `smtp://…?tls=required` (port 587): STARTTLS, or no session at all.
    Required(TlsParameters),
    /// `smtp://…?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic(TlsParameters),
    /// `smtps://` (port 465): TLS from the first byte.
    Wrapper,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tls::None => "none",
            Tls::Required(_) => "STARTTLS required",
            Tls::Opportunistic(_) => "STARTTLS if offered",
            Tls::Wrapper => "TLS (smtps)",
        })
    }
}

/// Why a message was not handed to the server.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("{0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The session could not be opened (TCP, TLS, greeting, EHLO, STARTTLS, AUTH).
    #[error("opening an SMTP session with {target}: {detail}")]
    Connect { target: String, detail: String },
}

impl SmtpError {
    /// The server refused the message for good (a 5xx): trying again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SmtpError::Smtp(e) if e.is_permanent())
    }
}

/// The outgoing mail server of `smtp_url`, and the connections kept to it.
#[derive(Clone)]
pub struct Smtp {
    host: String,
    port: u16,
    tls: Tls,
    hello: ClientId,
    credentials: Option<Credentials>,
    idle: Arc<Mutex<Vec<(AsyncSmtpConnection, Instant)>>>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// Reads `smtp://[user:pass@]host[:port][/ehlo-name][?tls=required|opportunistic]`
    /// or `smtps://…`, as lettre's `from_url` does (user and password percent-encoded).
    pub fn from_url(raw: &str) -> anyhow::Result<Smtp> {
        let url = url::Url::parse(raw).map_err(|e| anyhow::anyhow!("not a URL: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls_query = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let params = || TlsParameters::new(host.clone()).map_err(|e| anyhow::anyhow!("TLS for {host}: {e}"));
        let (tls, default_port) = match (url.scheme(), tls_query.as_deref()) {
            ("smtp", None) => (Tls::None, 25),
            ("smtp", Some("required")) => (Tls::Required(params()?), 587),
            ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
            ("smtps", _) => {
                server_name(&host).map_err(|e| anyhow::anyhow!(e))?;
                (Tls::Wrapper, 465)
            }
            (scheme, tls) => anyhow::bail!(
                "scheme `{scheme}` with tls={} (use smtp://, smtp://…?tls=required or smtps://)",
                tls.unwrap_or("(none)")
            ),
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| anyhow::anyhow!("the user or password is not UTF-8 once decoded"))
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        Ok(Smtp {
            port: url.port().unwrap_or(default_port),
            host,
            tls,
            hello,
            credentials,
            idle: Default::default(),
        })
    }

    /// Hands `message` to the server on a kept connection, or a new one. A kept one
    /// that fails short of a refusal (the server closed it after the last mail, or said
    /// 421) is replaced by a new one at once; lettre's pool sent `NOOP` before every
    /// mail instead, a round trip each. Should the server have taken the mail before
    /// the failure, the second try is the same message (same Message-ID), as any retry.
    pub async fn send(&self, message: &Message) -> Result<(), SmtpError> {
        let (envelope, bytes) = (message.envelope(), message.formatted());
        if let Some(mut conn) = self.kept().await {
            match conn.send(envelope, &bytes).await {
                Ok(_) => {
                    self.keep(conn);
                    return Ok(());
                }
                Err(e) if e.is_permanent() => {
                    self.keep(conn);
                    return Err(e.into());
                }
                Err(e) => tracing::debug!(error = %e, "a kept SMTP session failed; trying a new one"),
            }
        }
        let mut conn = self.connect().await?;
        let sent = conn.send(envelope, &bytes).await;
        self.keep(conn);
        sent.map(|_| ()).map_err(SmtpError::from)
    }

    /// Keeps a sound connection for the next mail (lettre closes one on any error
    /// reply); connections idle past the limit are let go.
    fn keep(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().expect("smtp idle lock");
        idle.retain(|(_, since)| since.elapsed() < IDLE_LIMIT);
        if !conn.has_broken() && idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    /// The most recently used kept connection, checked with `NOOP` when it has been
    /// idle a while. When that one fails its check, the older ones are let go with it.
    async fn kept(&self) -> Option<AsyncSmtpConnection> {
        let (mut conn, since) = {
            let mut idle = self.idle.lock().expect("smtp idle lock");
            idle.retain(|(_, since)| since.elapsed() < IDLE_LIMIT);
            idle.pop()?
        };
        if since.elapsed() < CHECK_AFTER || tokio::time::timeout(ANSWER_WAIT, conn.test_connected()).await == Ok(true) {
            return Some(conn);
        }
        self.idle.lock().expect("smtp idle lock").clear();
        None
    }

    fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The TCP connection under a session, Nagle's algorithm off.
    async fn tcp(&self) -> std::io::Result<TcpStream> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port)).await?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }

    /// A new session: TCP (without Nagle), TLS as configured, EHLO, AUTH. Whatever
    /// fails here is the session's fault, not the mail's: even a 5xx (a login refused
    /// with 535) is a temporary failure, so an operator's wrong password delays the
    /// outbox instead of giving up every mail in it.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let failed = |detail: String| SmtpError::Connect {
            target: self.target(),
            detail,
        };
        let refused = |e: lettre::transport::smtp::Error| failed(e.to_string());
        let opened = async {
            let tcp = self.tcp().await.map_err(|e| failed(e.to_string()))?;
            let stream: Box<dyn AsyncTokioStream> = match self.tls {
                Tls::Wrapper => Box::new(Wrapped(
                    tls_connector()
                        .connect(server_name(&self.host).map_err(failed)?, tcp)
                        .await
                        .map_err(|e| failed(format!("TLS handshake: {e}")))?,
                )),
                _ => Box::new(tcp),
            };
            let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
                .await
                .map_err(refused)?;
            match &self.tls {
                Tls::Required(p) => conn.starttls(p.clone(), &self.hello).await.map_err(refused)?,
                Tls::Opportunistic(p) if conn.can_starttls() => {
                    conn.starttls(p.clone(), &self.hello).await.map_err(refused)?;
                }
                _ => {}
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials).await.map_err(refused)?;
            }
            Ok(conn)
        };
        tokio::time::timeout(CONNECT_TIMEOUT, opened)
            .await
            .map_err(|_| failed(format!("no session within {CONNECT_TIMEOUT:?}")))?
    }
}

/// The TLS client for `smtps://`: the same roots and provider lettre uses.
fn tls_connector() -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn server_name(host: &str) -> Result<tokio_rustls::rustls::pki_types::ServerName<'static>, String> {
    tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("`{host}` is not a TLS server name: {e}"))
}

/// A TLS session as the stream lettre reads and writes.
#[derive(Debug)]
struct Wrapped(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for Wrapped {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for Wrapped {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Wrapped {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
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
        let smtp = Smtp::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        assert!(smtp.tcp().await.unwrap().nodelay().unwrap());
    }

    #[tokio::test]
    async fn messages_one_after_another_share_one_session() {
        let (port, seen) = server().await;
        let smtp = Smtp::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        for n in 0..3 {
            smtp.send(&message("ana@example.test", &format!("note {n}")))
                .await
                .unwrap();
        }
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
        let smtp = Smtp::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
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
        let smtp = Smtp::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        for n in 0..3 {
            smtp.send(&message("ana@example.test", &format!("note {n}")))
                .await
                .unwrap();
        }
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
    async fn a_server_that_is_not_there_is_a_temporary_failure() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let smtp = Smtp::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let e = smtp.send(&message("ana@example.test", "x")).await.unwrap_err();
        assert!(matches!(e, SmtpError::Connect { .. }), "{e}");
        assert!(!e.is_permanent());
    }
}
