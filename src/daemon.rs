//! `promoterd run`: opens the database, starts the enabled front-ends, and stops cleanly.

use crate::config::Config;
use anyhow::Context;

/// Opens and migrates the database named by the configuration.
pub async fn open_store(config: &Config) -> anyhow::Result<crate::store::Store> {
    let path = config.database_path();
    let store = crate::store::Store::open_with(&path, config.database.synchronous == "full")
        .await
        .with_context(|| format!("opening the database {}", path.display()))?;
    store.migrate().await.context("applying migrations")?;
    let dated = store.fill_sale_days().await.context("dating orders for charts")?;
    if dated > 0 {
        tracing::info!(orders = dated, "orders stored before charts existed got their sale day");
    }
    Ok(store)
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let shutdown = Shutdown::install().context("installing signal handlers")?;
    crate::config::checkout_secrets_ready(&config.checkout).map_err(anyhow::Error::msg)?;
    let _lock = crate::backup::DaemonLock::acquire(&config.database_path())?;
    let store = open_store(&config).await?;
    tracing::info!(database = %config.database_path().display(), "database ready");
    if config.webhook_secrets().is_empty() && config.checkout.is_empty() {
        tracing::info!(
            "order webhook: off (no secrets in [webhook], no PROMOTERD_WEBHOOK_SECRETS, no [[checkout]] connection)"
        );
    }
    for c in &config.checkout {
        tracing::info!(organization = %c.organization, kind = %c.kind, source = %c.source(), "checkout connection");
    }
    let mut core = crate::commands::Core::new(store.clone(), crate::clock::Clock::system(), config.core_settings());
    let telegram = crate::telegram::TelegramFrontend::start(&core, &config).await?;
    if let Some(t) = &telegram
        && core.settings.telegram_bot.is_none()
    {
        core.settings.telegram_bot = Some(t.telegram.username().to_string());
    }
    let discord = crate::discord::DiscordFrontend::start(&core, &config).await?;
    let mut extra = axum::Router::new();
    if let Some(r) = discord.as_ref().and_then(crate::discord::DiscordFrontend::router) {
        extra = extra.merge(r);
    }
    if let Some(r) = telegram.as_ref().and_then(crate::telegram::TelegramFrontend::router) {
        extra = extra.merge(r);
    }
    let housekeeping = tokio::spawn(crate::housekeeping::every_hour(core.clone()));
    let (stop_scheduler, scheduler_stop) = tokio::sync::watch::channel(false);
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    let email = crate::email::EmailFrontend::start(&core, &config)?;
    let scheduler = tokio::spawn(crate::digest::scheduler(core.clone(), scheduler_stop.clone()));
    let backups = match config.backup_dir() {
        Some(dir) => {
            let every = crate::config::parse_every(&config.backup.every).context("backup.every")?;
            tracing::info!(dir = %dir.display(), every = %config.backup.every, keep = config.backup.keep, "backups: scheduled");
            Some(tokio::spawn(crate::backup::scheduled(
                store.clone(),
                dir,
                every,
                config.backup.keep as usize,
                scheduler_stop,
            )))
        }
        None => {
            tracing::info!("backups: none scheduled ([backup] dir is empty); `promoterd backup <file>` takes one");
            None
        }
    };
    let http = crate::http::HttpServer::start_with(core, &config, listener, extra).await?;
    tracing::info!(address = %http.addr, "http: listening");
    tracing::info!("promoterd ready");
    shutdown.wait().await;
    tracing::info!("shutting down");
    http.stop().await?;
    let _ = stop_scheduler.send(true);
    let _ = scheduler.await;
    if let Some(b) = backups {
        let _ = b.await;
    }
    if let Some(email) = email {
        email.stop().await;
    }
    if let Some(telegram) = telegram {
        telegram.stop().await;
    }
    if let Some(discord) = discord {
        discord.stop().await;
    }
    housekeeping.abort();
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
