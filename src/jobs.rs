//! The jobs only one daemon at a time may run on a database: mail polling and sending,
//! chat polling, the Discord gateway, the chat outbox drains, the digest scheduler, the
//! hourly chores, scheduled backups and the pretix voucher keeper. The daemon that
//! holds the jobs lease runs them; the others stand by, serve HTTP, and take over
//! within [`RETRY`] of its end.

use crate::commands::Core;
use crate::config::Config;
use crate::discord::{DiscordFrontend, DiscordJobs};
use crate::store::{Lease, LeaseName};
use crate::telegram::{TelegramFrontend, TelegramJobs};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often a standing-by daemon tries to take the lease.
pub const RETRY: Duration = Duration::from_secs(2);
/// How often the holder checks that its lease still stands.
pub const CHECK: Duration = Duration::from_secs(2);

/// What the jobs run with.
#[derive(Clone)]
pub struct Setup {
    pub core: Core,
    pub config: Config,
    pub telegram: Option<Arc<TelegramFrontend>>,
    pub discord: Option<Arc<DiscordFrontend>>,
}

/// The jobs while this daemon runs them.
struct Running {
    email: Option<crate::email::EmailFrontend>,
    telegram: Option<TelegramJobs>,
    discord: Option<DiscordJobs>,
    stop: watch::Sender<bool>,
    scheduler: JoinHandle<()>,
    housekeeping: JoinHandle<()>,
    backups: Option<JoinHandle<()>>,
    /// Keeps pretix vouchers in step with the links, when a pretix connection has an
    /// API token: one daemon, so a voucher is never made twice.
    vouchers: Option<JoinHandle<()>>,
}

impl Running {
    async fn start(ctx: &Setup) -> anyhow::Result<Running> {
        // What can fail is read first: a failure must leave no job running without
        // the lease's `Running` to stop it.
        let shops = Arc::new(
            crate::checkout::Connections::from_config(&ctx.config.checkout).context("[[checkout]] connections")?,
        );
        let backup = ctx
            .config
            .backup_dir()
            .map(|dir| {
                anyhow::Ok((
                    dir,
                    crate::config::parse_every(&ctx.config.backup.every).context("backup.every")?,
                ))
            })
            .transpose()?;
        let (stop, rx) = watch::channel(false);
        let email = crate::email::EmailFrontend::start(&ctx.core, &ctx.config)?;
        let telegram = ctx.telegram.as_ref().map(|t| t.start_jobs());
        let discord = match &ctx.discord {
            Some(d) => Some(d.start_jobs().await?),
            None => None,
        };
        let scheduler = tokio::spawn(crate::digest::scheduler(ctx.core.clone(), rx.clone()));
        let housekeeping = tokio::spawn(crate::housekeeping::every_hour(ctx.core.clone()));
        let backups = match backup {
            Some((dir, every)) => {
                tracing::info!(dir = %dir.display(), every = %ctx.config.backup.every, keep = ctx.config.backup.keep, "backups: scheduled");
                Some(tokio::spawn(crate::backup::scheduled(
                    ctx.core.store.clone(),
                    dir,
                    every,
                    ctx.config.backup.keep as usize,
                    rx,
                )))
            }
            None => {
                tracing::info!("backups: none scheduled ([backup] dir is empty); `promoterd backup <file>` takes one");
                None
            }
        };
        let vouchers = shops.of(crate::domain::Shop::Pretix).any(|c| c.api.is_some()).then(|| {
            tokio::spawn(crate::checkout::vouchers::run(
                ctx.core.store.clone(),
                ctx.core.clock.clone(),
                shops.clone(),
                ctx.core.links_changed.clone(),
            ))
        });
        Ok(Running {
            email,
            telegram,
            discord,
            stop,
            scheduler,
            housekeeping,
            backups,
            vouchers,
        })
    }

    /// Stops every job after its current piece of work.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.scheduler.await;
        if let Some(b) = self.backups {
            let _ = b.await;
        }
        if let Some(email) = self.email {
            email.stop().await;
        }
        if let Some(t) = self.telegram {
            t.stop().await;
        }
        if let Some(d) = self.discord {
            d.stop().await;
        }
        self.housekeeping.abort();
        if let Some(v) = self.vouchers {
            v.abort();
        }
    }
}

/// Runs the jobs whenever this daemon holds the lease, until `shutdown` turns true.
/// The first attempt is made before it returns its task, so a daemon alone on its
/// database starts with its jobs running, and an error starting them (a bad mail
/// setting) stops the daemon's start.
pub async fn lead(ctx: Setup, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<JoinHandle<()>> {
    let first = take(&ctx).await?;
    if first.is_none() {
        tracing::info!(
            "jobs: another daemon runs them; standing by (this one serves HTTP, and takes over within seconds of that daemon's end)"
        );
    }
    Ok(tokio::spawn(async move {
        let mut current = first;
        loop {
            match current.take() {
                Some((lease, running)) => {
                    if !hold(lease, running, &mut shutdown).await {
                        return;
                    }
                }
                None => {
                    tokio::select! {
                        _ = shutdown.changed() => return,
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
            current = match take(&ctx).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "jobs: could not start them; trying again");
                    None
                }
            };
        }
    }))
}

/// Takes the lease if it is free and starts the jobs.
async fn take(ctx: &Setup) -> anyhow::Result<Option<(Lease, Running)>> {
    let lease = match ctx.core.store.try_lease(LeaseName::Jobs).await {
        Ok(Some(lease)) => lease,
        Ok(None) => {
            tracing::debug!("jobs: another daemon runs them; standing by");
            return Ok(None);
        }
        Err(e) => {
            tracing::warn!(error = %e, "jobs: could not ask for the lease");
            return Ok(None);
        }
    };
    let running = Running::start(ctx).await?;
    if ctx.core.store.is_postgres() {
        tracing::info!("jobs: this daemon runs them (mail, chat, outbox, digests, chores)");
    }
    Ok(Some((lease, running)))
}

/// Runs the jobs while the lease stands; false once shutting down.
async fn hold(mut lease: Lease, running: Running, shutdown: &mut watch::Receiver<bool>) -> bool {
    let lost = loop {
        tokio::select! {
            _ = shutdown.changed() => break false,
            _ = tokio::time::sleep(CHECK) => {
                if !lease.held().await {
                    break true;
                }
            }
        }
    };
    running.stop().await;
    if lost {
        tracing::error!(
            "jobs: the lease was lost (its database connection broke); stopped them until it is taken again"
        );
    }
    lost
}
