//! `promoterd run`: opens the database, starts the enabled front-ends, and stops cleanly.

use crate::config::Config;
use anyhow::Context;

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

/// Takes the PostgreSQL database for this daemon (None on SQLite, whose file lock does
/// it): one daemon per database in this release, as per SQLite file, since the jobs that
/// must run once (mail polling, digests, the outbox) do not take leases yet.
async fn hold_database(
    store: &crate::store::Store,
    config: &Config,
) -> anyhow::Result<Option<crate::store::DatabaseHold>> {
    match store
        .hold_database()
        .await
        .context("taking the database's daemon lock")?
    {
        crate::store::Hold::Held(h) => Ok(Some(h)),
        crate::store::Hold::NotNeeded => Ok(None),
        crate::store::Hold::Taken => anyhow::bail!(
            "another promoterd daemon runs on {}; stop it first (one daemon per database in this release)",
            config.database_name()
        ),
    }
}

/// Opens the database for this daemon alone: on SQLite the file's lock is taken before
/// migrating; on PostgreSQL the database's advisory lock once it is open.
async fn open_held(
    config: &Config,
) -> anyhow::Result<(
    crate::store::Store,
    (Option<crate::backup::DaemonLock>, Option<crate::store::DatabaseHold>),
)> {
    let lock = (config.database_url().is_none())
        .then(|| crate::backup::DaemonLock::acquire(&config.database_path()))
        .transpose()?;
    let store = open_database(config).await?;
    // Before migrating: a second daemon (a newer release, say) changes nothing under the first.
    let hold = hold_database(&store, config).await?;
    prepare(&store).await?;
    Ok((store, (lock, hold)))
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let shutdown = Shutdown::install().context("installing signal handlers")?;
    crate::config::checkout_secrets_ready(&config.checkout).map_err(anyhow::Error::msg)?;
    let (store, _held) = open_held(&config).await?;
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
