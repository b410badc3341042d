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

/// Longest wait for a session: TCP, TLS, the greeting, EHLO, STARTTLS and AUTH (under
/// the 20 s a send may take in all, so that a stuck session is named as such).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
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

    /// No session could be opened: the message was never offered, the server (or our
    /// settings for it) is what failed.
    pub fn is_no_session(&self) -> bool {
        matches!(self, SmtpError::Connect { .. })
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

    /// Whether a session is kept for the next mail (none: the next send opens one).
    pub fn has_kept(&self) -> bool {
        !self.idle.lock().expect("smtp idle lock").is_empty()
    }

    /// Lets go of the sessions idle past the limit (the sender calls it when it wakes
    /// with nothing to send, so a quiet daemon holds no stale sockets).
    pub fn prune(&self) {
        self.idle
            .lock()
            .expect("smtp idle lock")
            .retain(|(_, since)| since.elapsed() < IDLE_LIMIT);
    }

    /// Keeps a sound connection for the next mail (lettre closes one on any error
    /// reply); connections idle past the limit are let go.
    fn keep(&self, conn: AsyncSmtpConnection) {
        self.prune();
        let mut idle = self.idle.lock().expect("smtp idle lock");
        if !conn.has_broken() && idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    /// The most recently used kept connection, checked with `NOOP` when it has been
    /// idle a while. When that one fails its check, the older ones are let go with it.
    async fn kept(&self) -> Option<AsyncSmtpConnection> {
        self.prune();
        let (mut conn, since) = self.idle.lock().expect("smtp idle lock").pop()?;
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
    /// with 535) is [`SmtpError::Connect`], on which the sender pauses the outbox
    /// without charging the mail an attempt, instead of giving up every mail in it.
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
mod tests;
