//! The running Discord front-end: the bot and its endpoint route on every daemon, the
//! gateway and the outbox drain only where the jobs run (`jobs.rs`).

use super::{Discord, Handler};
use crate::commands::Core;
use crate::config::Config;
use anyhow::Context as _;
use axum::Router;
use serenity::all::GatewayIntents;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// The Discord front-end: the bot (and, in endpoint mode, its route), and the jobs only
/// one daemon runs (the gateway, the outbox drain) when this daemon runs them.
#[derive(Debug)]
pub struct DiscordFrontend {
    pub discord: Arc<Discord>,
    /// What the gateway connects with, in gateway mode.
    gateway: Option<Gateway>,
    jobs: Option<DiscordJobs>,
}

#[derive(Debug, Clone)]
struct Gateway {
    token: String,
    app_id: u64,
    proxy: Option<String>,
}

/// Discord's running jobs: the gateway (in gateway mode) and the outbox drain.
#[derive(Debug)]
pub struct DiscordJobs {
    stop: tokio::sync::watch::Sender<bool>,
    outbox: JoinHandle<()>,
    gateway: Option<JoinHandle<()>>,
    shards: Option<Arc<serenity::gateway::ShardManager>>,
}

impl DiscordJobs {
    /// Stops the drain and closes the gateway connection.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.outbox.await;
        if let Some(s) = self.shards {
            s.shutdown_all().await;
        }
        if let Some(g) = self.gateway {
            let _ = g.await;
        }
    }
}

impl DiscordFrontend {
    /// Starts Discord with its jobs when a token is configured; `None` with one log line
    /// otherwise.
    pub async fn start(core: &Core, config: &Config) -> anyhow::Result<Option<DiscordFrontend>> {
        let mut frontend = Self::start_receiving(core, config).await?;
        if let Some(f) = &mut frontend {
            f.jobs = Some(f.start_jobs().await?);
        }
        Ok(frontend)
    }

    /// Makes the bot and registers its commands, without the jobs only one daemon runs:
    /// every daemon can answer interactions at the endpoint.
    pub async fn start_receiving(core: &Core, config: &Config) -> anyhow::Result<Option<DiscordFrontend>> {
        let Some(token) = config.discord_token() else {
            tracing::info!("discord: off (no bot_token in [discord] and no PROMOTERD_DISCORD_TOKEN)");
            return Ok(None);
        };
        let app_id = config
            .discord
            .application_id
            .context("[discord] application_id is needed with a bot_token")?;
        let endpoint = config.discord.mode == "endpoint";
        if endpoint && config.discord.public_key.is_none() {
            anyhow::bail!("[discord] mode = \"endpoint\" needs public_key");
        }
        let http = Discord::http_client(&token, app_id, config.discord.api_proxy.as_deref());
        let discord = Discord::new(
            core.clone(),
            http.clone(),
            config.discord.public_key.as_deref().filter(|_| endpoint),
        )?;
        match discord.register(config.discord.guild_id).await {
            Ok(n) => {
                tracing::info!(commands = n, guild = ?config.discord.guild_id, "discord: slash commands registered");
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "discord: registering commands failed"),
        }
        if endpoint {
            tracing::info!("discord: interactions endpoint at /discord/interactions");
        } else {
            tracing::info!("discord: gateway mode");
        }
        Ok(Some(DiscordFrontend {
            discord,
            gateway: (!endpoint).then(|| Gateway {
                token,
                app_id,
                proxy: config.discord.api_proxy.clone(),
            }),
            jobs: None,
        }))
    }

    /// Starts the jobs only one daemon runs: the outbox drain and, in gateway mode, the
    /// gateway connection.
    pub async fn start_jobs(&self) -> anyhow::Result<DiscordJobs> {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let outbox = tokio::spawn(self.discord.clone().drain_outbox(rx));
        let Some(g) = &self.gateway else {
            return Ok(DiscordJobs {
                stop,
                outbox,
                gateway: None,
                shards: None,
            });
        };
        // Through the proxy too: `GET /gateway` (the websocket URL) and the answers.
        let gateway_http = Discord::http(&g.token, g.app_id, g.proxy.as_deref());
        let mut client = serenity::client::ClientBuilder::new_with_http(gateway_http, GatewayIntents::empty())
            .event_handler(Handler {
                discord: self.discord.clone(),
            })
            .await
            .context("building the Discord gateway client")?;
        let shards = client.shard_manager.clone();
        let gateway = tokio::spawn(async move {
            if let Err(e) = client.start().await {
                tracing::error!(error = %e, "discord: gateway stopped");
            }
        });
        Ok(DiscordJobs {
            stop,
            outbox,
            gateway: Some(gateway),
            shards: Some(shards),
        })
    }

    /// The endpoint route, in endpoint mode.
    pub fn router(&self) -> Option<Router> {
        self.discord
            .verifier
            .is_some()
            .then(|| self.discord.clone().endpoint_router())
    }

    /// Stops the jobs it started itself.
    pub async fn stop(self) {
        if let Some(jobs) = self.jobs {
            jobs.stop().await;
        }
    }
}
