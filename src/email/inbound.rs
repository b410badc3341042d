//! The IMAP poller: fetches new mail by UID (never at or below the stored cursor),
//! processes each message exactly once, then flags or moves it; IDLE with a polling
//! fallback, reconnecting with backoff.

use super::handle::{InboundSettings, MailPosition, process};
use crate::commands::Core;
use anyhow::{Context, anyhow};
use async_imap::Session;
use futures::TryStreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// How to reach the mailbox.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub user: String,
    pub password: String,
    pub processed_folder: Option<String>,
    pub poll: Duration,
    /// Larger mail is skipped unread (`[email] max_mail_bytes`).
    pub max_mail_bytes: u32,
    pub inbound: InboundSettings,
}

/// How long the server has to answer one IMAP command (the greeting, LOGIN, SELECT,
/// IDLE's start and end) before the connection is given up and made again.
const IMAP_REPLY: Duration = Duration::from_secs(60);
/// How long a stop waits for the message in hand; then the connection is dropped
/// (a message's effects and its record commit together, so none is half done).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// `step`, or an error if the server has not answered it within [`IMAP_REPLY`].
async fn answered<T>(step: &str, f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::time::timeout(IMAP_REPLY, f)
        .await
        .map_err(|_| anyhow!("{step}: no answer from the IMAP server in {} s", IMAP_REPLY.as_secs()))?
}

/// Returns [`STOP_GRACE`] after `stop` turned true (or its sender is gone).
async fn stop_then_grace(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    tokio::time::sleep(STOP_GRACE).await;
}

/// Runs until `stop` turns true.
pub async fn poller(core: Core, s: ImapSettings, mut stop: watch::Receiver<bool>) {
    let mut failures = 0u32;
    let mut broken: HashMap<u32, u32> = HashMap::new();
    loop {
        let started = std::time::Instant::now();
        // A server that stops answering must not hold up a stop.
        let result = tokio::select! {
            r = connect_and_run(&core, &s, stop.clone(), &mut broken) => r,
            () = stop_then_grace(stop.clone()) => break,
        };
        if *stop.borrow() {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            failures = 0; // it worked for a while: a new outage is news again
        }
        match result {
            Ok(()) => failures = 0,
            Err(e) => {
                if failures == 0 {
                    tracing::warn!(error = %format!("{e:#}"), "email: IMAP connection lost; reconnecting with backoff");
                }
                failures += 1;
            }
        }
        let wait = Duration::from_secs(2u64.saturating_pow(failures.min(8)).min(300));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
}

async fn connect_and_run(
    core: &Core,
    s: &ImapSettings,
    stop: watch::Receiver<bool>,
    broken: &mut HashMap<u32, u32>,
) -> anyhow::Result<()> {
    let tcp = answered("connecting", async {
        TcpStream::connect((s.host.as_str(), s.port))
            .await
            .with_context(|| format!("connecting to {}:{}", s.host, s.port))
    })
    .await?;
    if s.tls {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(s.host.clone())?;
        let tls = answered("TLS handshake", async {
            tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .context("TLS handshake")
        })
        .await?;
        run(core, s, async_imap::Client::new(tls), stop, broken).await
    } else {
        run(core, s, async_imap::Client::new(tcp), stop, broken).await
    }
}

async fn run<T>(
    core: &Core,
    s: &ImapSettings,
    mut client: async_imap::Client<T>,
    mut stop: watch::Receiver<bool>,
    broken: &mut HashMap<u32, u32>,
) -> anyhow::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    answered("greeting", async {
        client
            .read_response()
            .await
            .context("reading the greeting")?
            .ok_or_else(|| anyhow!("no greeting"))
    })
    .await?;
    let mut session = answered("LOGIN", async {
        client
            .login(&s.user, &s.password)
            .await
            .map_err(|(e, _)| e)
            .context("IMAP login")
    })
    .await?;
    if let Some(folder) = &s.processed_folder {
        // Creating an existing folder fails harmlessly.
        let _ = session.create(folder).await;
    }
    let idle_supported = answered("CAPABILITY", async {
        session.capabilities().await.context("CAPABILITY")
    })
    .await?
    .has_str("IDLE");
    tracing::info!(host = %s.host, mailbox = %s.inbound.mailbox, idle = idle_supported, "email: IMAP connected");
    loop {
        let mailbox = answered("SELECT", async {
            session.select(&s.inbound.mailbox).await.context("SELECT")
        })
        .await?;
        let validity = mailbox.uid_validity.unwrap_or(0);
        drain(core, s, &mut session, validity, broken).await?;
        if *stop.borrow() {
            let _ = session.logout().await;
            return Ok(());
        }
        if !idle_supported {
            // No IDLE on this server: poll.
            tokio::select! {
                _ = tokio::time::sleep(s.poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let mut idle = session.idle();
        answered("IDLE", async { idle.init().await.context("IDLE") }).await?;
        let (wait, interrupt) = idle.wait_with_timeout(s.poll);
        tokio::select! {
            r = wait => { r.context("waiting in IDLE")?; }
            _ = stop.changed() => drop(interrupt),
        }
        session = answered("ending IDLE", async { idle.done().await.context("ending IDLE") }).await?;
    }
}

/// Attempts at a message whose processing fails before it is recorded as failed.
const MAX_FAILURES: u32 = 3;

/// Fetches and processes everything above the stored cursor, in UID order.
async fn drain<T>(
    core: &Core,
    s: &ImapSettings,
    session: &mut Session<T>,
    validity: u32,
    broken: &mut HashMap<u32, u32>,
) -> anyhow::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let last = cursor(core, s, validity).await?;
    let todo = list_new(session, last).await?;
    // Bodies are fetched several at a time (one round trip), then processed in UID order.
    let mut rest = todo.as_slice();
    while !rest.is_empty() {
        let (batch, after) = rest.split_at(batch_len(rest));
        rest = after;
        let bodies = fetch_bodies(s, session, batch).await?;
        process_batch(core, s, session, validity, batch, bodies, broken).await?;
    }
    Ok(())
}

/// The last UID handled in the mailbox, or 0 when none is stored or the mailbox's
/// UIDVALIDITY changed.
async fn cursor(core: &Core, s: &ImapSettings, validity: u32) -> anyhow::Result<u32> {
    Ok(match core.store.imap_state(&s.inbound.mailbox).await? {
        Some((v, last)) if v == validity => last,
        Some(_) => {
            tracing::warn!("email: UIDVALIDITY changed; re-reading the mailbox (Message-IDs prevent double effects)");
            0
        }
        None => 0,
    })
}

/// (UID, size) of every message above `last`, in UID order.
async fn list_new<T>(session: &mut Session<T>, last: u32) -> anyhow::Result<Vec<(u32, u32)>>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let listed: Vec<_> = session
        .uid_fetch(format!("{}:*", last + 1), "(UID RFC822.SIZE)")
        .await
        .context("UID FETCH sizes")?
        .try_collect()
        .await
        .context("reading the message list")?;
    // `N:*` always returns the highest message, even below N: filter in code.
    let mut todo: Vec<(u32, u32)> = listed
        .iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .filter(|(uid, _)| *uid > last)
        .collect();
    todo.sort_unstable();
    todo.dedup();
    Ok(todo)
}

/// How many of the next messages one fetch takes: at most [`FETCH_BATCH`], and no more
/// once [`FETCH_BYTES`] are reached (always at least one).
fn batch_len(todo: &[(u32, u32)]) -> usize {
    let mut n = 0;
    let mut bytes = 0u64;
    while n < todo.len() && n < FETCH_BATCH && (n == 0 || bytes < FETCH_BYTES) {
        bytes += u64::from(todo[n].1);
        n += 1;
    }
    n
}

/// The bodies of a batch's messages in one round trip, by UID; mail over the size limit
/// is not fetched.
async fn fetch_bodies<T>(
    s: &ImapSettings,
    session: &mut Session<T>,
    batch: &[(u32, u32)],
) -> anyhow::Result<HashMap<u32, Vec<u8>>>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let wanted: Vec<String> = batch
        .iter()
        .filter(|(_, size)| *size <= s.max_mail_bytes)
        .map(|(uid, _)| uid.to_string())
        .collect();
    let mut bodies: HashMap<u32, Vec<u8>> = HashMap::new();
    if !wanted.is_empty() {
        let fetched: Vec<_> = session
            .uid_fetch(wanted.join(","), "(UID BODY.PEEK[])")
            .await
            .context("UID FETCH")?
            .try_collect()
            .await
            .context("reading messages")?;
        for f in &fetched {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                bodies.insert(uid, body.to_vec());
            }
        }
    }
    Ok(bodies)
}

/// Processes a batch in UID order, then marks it done. A message that fails is retried
/// on the next pass (what came before it is marked done, and the pass ends), until it
/// has failed [`MAX_FAILURES`] times; then it is skipped for good.
async fn process_batch<T>(
    core: &Core,
    s: &ImapSettings,
    session: &mut Session<T>,
    validity: u32,
    batch: &[(u32, u32)],
    mut bodies: HashMap<u32, Vec<u8>>,
    broken: &mut HashMap<u32, u32>,
) -> anyhow::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut done = Vec::with_capacity(batch.len());
    for &(uid, size) in batch {
        let pos = MailPosition {
            uid_validity: validity,
            uid,
        };
        if size > s.max_mail_bytes {
            skip(core, s, pos, &format!("too large: {size} bytes")).await?;
        } else {
            let raw = bodies.remove(&uid).unwrap_or_default();
            if let Err(e) = process(core, &s.inbound, &raw, pos).await {
                let n = broken.entry(uid).or_default();
                *n += 1;
                if *n < MAX_FAILURES {
                    mark_done(s, session, &done).await?;
                    return Err(e.into());
                }
                tracing::error!(uid, error = %e, "email: giving up on a message that keeps failing");
                skip(core, s, pos, &format!("failed: {e}")).await?;
            }
        }
        broken.remove(&uid);
        done.push(uid);
    }
    mark_done(s, session, &done).await
}

/// Messages fetched per round trip, and the size after which a batch stops growing.
const FETCH_BATCH: usize = 50;
const FETCH_BYTES: u64 = 20 * 1024 * 1024;

/// Moves processed messages to the processed folder, or flags them seen.
async fn mark_done<T>(s: &ImapSettings, session: &mut Session<T>, uids: &[u32]) -> anyhow::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    if uids.is_empty() {
        return Ok(());
    }
    let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    match &s.processed_folder {
        Some(folder) => session.uid_mv(set, folder).await.context("UID MOVE")?,
        None => {
            let _: Vec<_> = session
                .uid_store(set, "+FLAGS (\\Seen)")
                .await
                .context("UID STORE")?
                .try_collect()
                .await?;
        }
    }
    Ok(())
}

/// Records a message as handled without running it (too large, or failing for good).
async fn skip(core: &Core, s: &ImapSettings, pos: MailPosition, why: &str) -> anyhow::Result<()> {
    let now = core.clock.now();
    let key = format!("uid:{}:{}", pos.uid_validity, pos.uid);
    let mut tx = core.store.write().await?;
    core.store
        .record_processed(
            &mut tx,
            &key,
            &s.inbound.mailbox,
            pos.uid_validity,
            pos.uid,
            "skipped",
            None,
            why,
            now,
        )
        .await?;
    core.store
        .set_imap_state(&mut tx, &s.inbound.mailbox, pos.uid_validity, pos.uid)
        .await?;
    tx.commit().await?;
    Ok(())
}
