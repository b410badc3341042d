//! The TOML configuration: every key optional with defaults in code, unknown keys
//! refused by name, secrets also from environment variables.

mod backup;
mod checkout;
mod database;
mod secrets;

pub use backup::{BackupConfig, parse_every};
pub use checkout::{CheckoutConfig, KINDS as CHECKOUT_KINDS, secrets_ready as checkout_secrets_ready};
pub use database::DatabaseConfig;

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub programs: ProgramsConfig,
    pub telegram: TelegramConfig,
    pub discord: DiscordConfig,
    pub email: EmailConfig,
    pub webhook: WebhookConfig,
    pub backup: BackupConfig,
    /// `[[checkout]]`: organizations' shop connections.
    pub checkout: Vec<CheckoutConfig>,
    /// Directory of the config file; relative paths are resolved from it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Public base URL of this server; tracking links are `<public_url>/t/<code>`.
    pub public_url: String,
    /// Take the visitor address from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// Clicks buffered for the writer; beyond this, clicks are dropped and counted.
    pub click_buffer: usize,
    /// Seconds between looks at the link log for changes made by another process (the
    /// console).
    pub link_refresh_seconds: u64,
    /// Address `/metrics` is served on, apart from the public listener; empty: off.
    pub metrics_listen: String,
    /// Bearer token `/metrics` requires when set (or env `PROMOTERD_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            trust_forwarded_for: false,
            click_buffer: 65_536,
            link_refresh_seconds: 5,
            metrics_listen: "127.0.0.1:9464".into(),
            metrics_token: None,
        }
    }
}

/// `[webhook]`: orders from the checkout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Shared HMAC secrets; several during a rotation. Or env `PROMOTERD_WEBHOOK_SECRETS`
    /// (comma-separated). Without any, the webhook answers 503.
    pub secrets: Vec<String>,
    /// Name of the checkout; order ids are unique per source.
    pub source: String,
    /// Largest accepted difference between the signature time and ours.
    pub tolerance_seconds: u64,
    /// Largest accepted body.
    pub max_body_bytes: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            secrets: Vec::new(),
            source: "checkout".into(),
            tolerance_seconds: 300,
            max_body_bytes: 256 * 1024,
        }
    }
}

/// `[programs]`: rules of the promoter programs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProgramsConfig {
    pub invite_ttl_days: u32,
    pub verify_ttl_minutes: u32,
    pub max_links_per_promoter: u32,
    /// Largest file (a CSV export) sent as a chat or mail attachment, in bytes.
    pub max_attachment_bytes: u32,
    /// Most commands one chat account or email sender may run per minute (0: no limit).
    pub commands_per_minute: u32,
    /// Time zone of organizations created with `promoterd org create`.
    pub default_time_zone: String,
    /// Currency of organizations created with `promoterd org create`.
    pub default_currency: String,
}

impl Default for ProgramsConfig {
    fn default() -> Self {
        ProgramsConfig {
            invite_ttl_days: 14,
            verify_ttl_minutes: 30,
            max_links_per_promoter: 50,
            max_attachment_bytes: 8 << 20,
            commands_per_minute: 30,
            default_time_zone: "UTC".into(),
            default_currency: "EUR".into(),
        }
    }
}

/// `[telegram]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Bot token from @BotFather; or env `PROMOTERD_TELEGRAM_TOKEN`.
    pub bot_token: Option<String>,
    /// The bot's username, for `t.me/<bot>?start=<code>` invite links.
    pub bot_username: Option<String>,
    /// `polling` (works behind NAT) or `webhook` (on this server's `/telegram/webhook`).
    pub mode: String,
    /// Secret token of webhook mode; or env `PROMOTERD_TELEGRAM_WEBHOOK_SECRET`.
    pub webhook_secret: Option<String>,
    /// Bot API base URL (a self-hosted Bot API server); default Telegram's.
    pub api_url: Option<String>,
    /// Long-polling timeout: under the 17 s after which teloxide's HTTP client gives up
    /// on a request (a longer poll would fail every time it found nothing).
    pub poll_timeout_seconds: u32,
}

/// Longest `telegram.poll_timeout_seconds`: teloxide's client times a request out at 17 s.
pub const MAX_POLL_TIMEOUT_SECONDS: u32 = 15;

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            bot_token: None,
            bot_username: None,
            mode: "polling".into(),
            webhook_secret: None,
            api_url: None,
            poll_timeout_seconds: MAX_POLL_TIMEOUT_SECONDS,
        }
    }
}

/// `[discord]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// Bot token; or env `PROMOTERD_DISCORD_TOKEN`.
    pub bot_token: Option<String>,
    pub application_id: Option<u64>,
    /// Hex Ed25519 public key of the application (interactions endpoint mode).
    pub public_key: Option<String>,
    /// `gateway` (no public URL needed) or `endpoint` (`/discord/interactions`).
    pub mode: String,
    /// Register commands in this guild only (instant updates while testing).
    pub guild_id: Option<u64>,
    /// Send every REST request to this base URL instead of Discord's (tests, proxies).
    pub api_proxy: Option<String>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            bot_token: None,
            application_id: None,
            public_key: None,
            mode: "gateway".into(),
            guild_id: None,
            api_proxy: None,
        }
    }
}

/// `[email]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required` or `smtps://…`;
    /// or env `PROMOTERD_SMTP_URL`.
    pub smtp_url: Option<String>,
    /// The bot's address, e.g. `bot@example.com`; replies come to `bot+<token>@example.com`.
    pub from: Option<String>,
    /// Display name of the bot's address.
    pub from_name: String,
    /// IMAP host for replies; or env `PROMOTERD_IMAP_HOST`.
    pub imap_host: Option<String>,
    pub imap_port: u16,
    /// TLS from the first byte (port 993). Off only for loopback test servers.
    pub imap_tls: bool,
    /// IMAP login (default: the bot's address).
    pub imap_user: Option<String>,
    /// IMAP password; or env `PROMOTERD_IMAP_PASSWORD`.
    pub imap_password: Option<String>,
    /// The mailbox polled for replies.
    pub mailbox: String,
    /// Move processed mail to this folder; when empty, flag it \\Seen instead.
    pub processed_folder: String,
    /// Seconds between polls when IDLE is not available or quiet.
    pub poll_seconds: u64,
    /// Larger mail is recorded as skipped without being read.
    pub max_mail_bytes: u32,
    /// When set, commands need an Authentication-Results header from this authserv-id
    /// (our own mail server) with `dmarc=pass` or `dkim=pass`.
    pub require_authentication_results: Option<String>,
    /// Allow SMTP without TLS (`smtp://` without `?tls=`) or IMAP with `imap_tls = false`
    /// to a host that is not loopback: passwords and mail then cross the network in clear.
    pub allow_plaintext: bool,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            smtp_url: None,
            from: None,
            from_name: "promoterd".into(),
            imap_host: None,
            imap_port: 993,
            imap_tls: true,
            imap_user: None,
            imap_password: None,
            mailbox: "INBOX".into(),
            processed_folder: String::new(),
            poll_seconds: 60,
            max_mail_bytes: 10 * 1024 * 1024,
            require_authentication_results: None,
            allow_plaintext: false,
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The source error is printed once, by the error chain.
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

impl Config {
    /// Parses configuration text; `base_dir` resolves relative paths.
    pub fn parse(text: &str, path: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        c.base_dir = base_dir.to_path_buf();
        c.validate().map_err(|message| ConfigError::Parse {
            path: path.into(),
            message,
        })?;
        Ok(c)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::parse(&text, &path.display().to_string(), &base)
    }

    /// The Discord and Telegram sections.
    fn validate_chat(&self) -> Result<(), String> {
        if !matches!(self.discord.mode.as_str(), "gateway" | "endpoint") {
            return Err(format!(
                "discord.mode `{}` must be \"gateway\" or \"endpoint\"",
                self.discord.mode
            ));
        }
        if !matches!(self.telegram.mode.as_str(), "polling" | "webhook") {
            return Err(format!(
                "telegram.mode `{}` must be \"polling\" or \"webhook\"",
                self.telegram.mode
            ));
        }
        if !(1..=MAX_POLL_TIMEOUT_SECONDS).contains(&self.telegram.poll_timeout_seconds) {
            return Err(format!(
                "telegram.poll_timeout_seconds must be 1 to {MAX_POLL_TIMEOUT_SECONDS}: Telegram's client gives up on \
                 a request after 17 s, so a longer poll fails whenever nothing arrives"
            ));
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        if self.programs.default_time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "programs.default_time_zone `{}` is not an IANA time zone",
                self.programs.default_time_zone
            ));
        }
        url::Url::parse(&self.http.public_url).map_err(|e| format!("http.public_url: {e}"))?;
        if !matches!(self.database.synchronous.as_str(), "full" | "normal") {
            return Err(format!(
                "database.synchronous `{}` must be \"full\" or \"normal\"",
                self.database.synchronous
            ));
        }
        if let Some(url) = self.database_url()
            && !crate::store::is_postgres_url(&url)
        {
            return Err(
                "database.url must be a postgres:// URL (leave it out for the SQLite file in database.path)".into(),
            );
        }
        if self.database_url().is_some() && !self.backup.dir.as_os_str().is_empty() {
            return Err(
                "backup.dir: scheduled backups copy the SQLite file; on PostgreSQL back up with \
                        its own tools (pg_dump or base backups) and leave backup.dir empty"
                    .into(),
            );
        }
        if self.database.pool_size == 0 {
            return Err("database.pool_size must be at least 1".into());
        }
        self.validate_chat()?;
        if parse_every(&self.backup.every).is_none() {
            return Err(format!(
                "backup.every `{}` is not a time like \"30m\", \"6h\" or \"1d\" (one minute to a year)",
                self.backup.every
            ));
        }
        if self.backup.keep == 0 {
            return Err("backup.keep must be at least 1".into());
        }
        if self.http.click_buffer == 0 {
            return Err("http.click_buffer must be at least 1".into());
        }
        if self.webhook.secrets.iter().any(|s| !s.is_empty() && s.len() < 16) {
            return Err("webhook.secrets: each secret needs at least 16 characters".into());
        }
        // The same rule for secrets from the environment.
        if self.webhook_secrets().iter().any(|s| s.len() < 16) {
            return Err("PROMOTERD_WEBHOOK_SECRETS: each secret needs at least 16 characters".into());
        }
        checkout::validate(&self.checkout, &self.webhook_secrets(), &self.webhook.source)?;
        if !self.email.allow_plaintext {
            self.refuse_plaintext_mail()?;
        }
        if !self.http.metrics_listen.is_empty() && self.http.metrics_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "http.metrics_listen `{}` is not an address like 127.0.0.1:9464 (or \"\" for no metrics)",
                self.http.metrics_listen
            ));
        }
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "http.listen `{}` is not an address like 127.0.0.1:8080",
                self.http.listen
            ));
        }
        Ok(())
    }

    /// Plain SMTP or IMAP to a host that is not loopback is refused unless
    /// `[email] allow_plaintext` says so.
    fn refuse_plaintext_mail(&self) -> Result<(), String> {
        fn loopback(host: &str) -> bool {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        if let Some(url) = self.smtp_url()
            && let Ok(u) = url::Url::parse(&url)
            && u.scheme() == "smtp"
            && !u
                .query_pairs()
                .any(|(k, v)| k == "tls" && (v == "required" || v == "opportunistic"))
            && !u.host_str().is_some_and(loopback)
        {
            return Err(format!(
                "email.smtp_url: plain smtp:// to {} sends the password and mail in clear; use \
                 smtps://…:465 or smtp://…:587?tls=required, or set [email] allow_plaintext = true",
                u.host_str().unwrap_or("?")
            ));
        }
        if !self.email.imap_tls
            && let Some(host) = self.imap_host()
            && !loopback(&host)
        {
            return Err(format!(
                "email.imap_tls = false to {host} sends the password and mail in clear; use TLS (port 993), \
                 or set [email] allow_plaintext = true"
            ));
        }
        Ok(())
    }

    /// The directory of scheduled backups, resolved like the database; `None`: off.
    pub fn backup_dir(&self) -> Option<PathBuf> {
        if self.backup.dir.as_os_str().is_empty() {
            None
        } else if self.backup.dir.is_absolute() {
            Some(self.backup.dir.clone())
        } else {
            Some(self.base_dir.join(&self.backup.dir))
        }
    }

    /// The core's settings from this configuration.
    pub fn core_settings(&self) -> crate::commands::CoreSettings {
        crate::commands::CoreSettings {
            public_url: self.http.public_url.trim_end_matches('/').to_string(),
            invite_ttl: chrono::Duration::days(self.programs.invite_ttl_days.into()),
            verify_ttl: chrono::Duration::minutes(self.programs.verify_ttl_minutes.into()),
            max_links_per_promoter: self.programs.max_links_per_promoter.into(),
            max_attachment_bytes: self.programs.max_attachment_bytes as usize,
            telegram_bot: self.telegram.bot_username.clone(),
            bot_address: self.email.from.clone(),
            commands_per_minute: self.programs.commands_per_minute,
            shop_connections: self
                .checkout
                .iter()
                .filter_map(|c| Some((c.organization.clone(), crate::domain::Shop::from_stored(&c.kind).ok()?)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
