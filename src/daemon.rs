//! `promoterd run`: opens the database, starts the enabled front-ends, and stops cleanly.

use crate::config::Config;
use anyhow::Context;
use std::sync::Arc;

/// Opens the database named by the configuration (PostgreSQL when `[database] url` is
/// set, else the SQLite file), without migrating.
pub async fn open_database(config: &Config) -> anyhow::Result<crate::store::Store> {
    let store = match config.database_url() {
        Some(url) => crate::store::Store::open_postgres(&url, config.database.pool_size).await,
        None => crate::store::Store::open_with(&config.database_path(), config.database.synchronous == "full").await,
    };
    store.with_context(|| format!("opening the database {}", config.database_name()))
}

/// Opens and migrates the database named by the configuration.
pub async fn open_store(config: &Config) -> anyhow::Result<crate::store::Store> {
    let store = open_database(config).await?;
    prepare(&store).await?;
    Ok(store)
}

/// Applies migrations and dates orders stored before sale days existed.
async fn prepare(store: &crate::store::Store) -> anyhow::Result<()> {
    store.migrate().await.context("applying migrations")?;
    let dated = store.fill_sale_days().await.context("dating orders for charts")?;
    if dated > 0 {
        tracing::info!(orders = dated, "orders stored before charts existed got their sale day");
    }
    Ok(())
}

/// Opens and migrates the database; on SQLite, the file's lock is taken first (one
/// daemon per file). Several daemons may share a PostgreSQL database: the jobs only one
/// may run take a lease (`jobs.rs`).
async fn open_locked(config: &Config) -> anyhow::Result<(crate::store::Store, Option<crate::backup::DaemonLock>)> {
    let lock = (config.database_url().is_none())
        .then(|| crate::backup::DaemonLock::acquire(&config.database_path()))
        .transpose()?;
    let store = open_store(config).await?;
    if lock.is_some() {
        // No other daemon can reach this file: claims are a dead process's leftovers.
        let released = store.release_all_claims().await.context("releasing outbox claims")?;
        if released > 0 {
            tracing::info!(
                messages = released,
                "outbox: messages claimed by a daemon that stopped are due again"
            );
        }
    }
    Ok((store, lock))
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let shutdown = Shutdown::install().context("installing signal handlers")?;
    crate::config::checkout_secrets_ready(&config.checkout).map_err(anyhow::Error::msg)?;
    let (store, _lock) = open_locked(&config).await?;
    tracing::info!(database = %config.database_name(), "database ready");
    if config.webhook_secrets().is_empty() && config.checkout.is_empty() {
        tracing::info!(
            "order webhook: off (no secrets in [webhook], no PROMOTERD_WEBHOOK_SECRETS, no [[checkout]] connection)"
        );
    }
    for c in &config.checkout {
        tracing::info!(organization = %c.organization, kind = %c.kind, source = %c.source(), "checkout connection");
    }
    let mut core = crate::commands::Core::new(store.clone(), crate::clock::Clock::system(), config.core_settings());
    let telegram = crate::telegram::TelegramFrontend::start_receiving(&core, &config)
        .await?
        .map(Arc::new);
    if let Some(t) = &telegram
        && core.settings.telegram_bot.is_none()
    {
        core.settings.telegram_bot = Some(t.telegram.username().to_string());
    }
    let discord = crate::discord::DiscordFrontend::start_receiving(&core, &config)
        .await?
        .map(Arc::new);
    let mut extra = axum::Router::new();
    if let Some(r) = discord.as_deref().and_then(crate::discord::DiscordFrontend::router) {
        extra = extra.merge(r);
    }
    if let Some(r) = telegram.as_deref().and_then(crate::telegram::TelegramFrontend::router) {
        extra = extra.merge(r);
    }
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    let (stop_jobs, jobs_stop) = tokio::sync::watch::channel(false);
    let jobs = crate::jobs::Setup {
        core: core.clone(),
        config: config.clone(),
        telegram,
        discord,
    };
    let jobs = crate::jobs::lead(jobs, jobs_stop).await?;
    let http = crate::http::HttpServer::start_with(core, &config, listener, extra).await?;
    tracing::info!(address = %http.addr, "http: listening");
    tracing::info!("promoterd ready");
    shutdown.wait().await;
    tracing::info!("shutting down");
    http.stop().await?;
    let _ = stop_jobs.send(true);
    let _ = jobs.await;
    store.close().await;
    Ok(())
}

/// SIGINT and SIGTERM handlers, registered before start-up so no signal is missed.
#[derive(Debug)]
pub struct Shutdown {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Registers the handlers.
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Shutdown {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves on the first SIGINT or SIGTERM.
    pub async fn wait(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}
