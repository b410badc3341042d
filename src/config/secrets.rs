//! Secrets and addresses that may come from the environment instead of the file: a
//! value set in the file wins, an empty one counts as unset.

use super::Config;

fn env_or(value: &Option<String>, var: &str) -> Option<String> {
    value
        .clone()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
}

impl Config {
    /// The PostgreSQL database, from the file or the environment (None: the SQLite file).
    pub fn database_url(&self) -> Option<String> {
        env_or(&self.database.url, "PROMOTERD_DATABASE_URL")
    }

    /// The Telegram bot token, from the file or the environment.
    pub fn telegram_token(&self) -> Option<String> {
        env_or(&self.telegram.bot_token, "PROMOTERD_TELEGRAM_TOKEN")
    }

    /// The Telegram webhook secret, from the file or the environment.
    pub fn telegram_webhook_secret(&self) -> Option<String> {
        env_or(&self.telegram.webhook_secret, "PROMOTERD_TELEGRAM_WEBHOOK_SECRET")
    }

    /// The Discord bot token, from the file or the environment.
    pub fn discord_token(&self) -> Option<String> {
        env_or(&self.discord.bot_token, "PROMOTERD_DISCORD_TOKEN")
    }

    /// The SMTP URL, from the file or the environment.
    pub fn smtp_url(&self) -> Option<String> {
        env_or(&self.email.smtp_url, "PROMOTERD_SMTP_URL")
    }

    /// The webhook secrets, from the file or the environment.
    pub fn webhook_secrets(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .webhook
            .secrets
            .iter()
            .filter(|s| !s.trim().is_empty())
            .cloned()
            .collect();
        if s.is_empty()
            && let Ok(v) = std::env::var("PROMOTERD_WEBHOOK_SECRETS")
        {
            s = v
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect();
        }
        s
    }

    /// The bearer token `/metrics` requires, from the file or the environment.
    pub fn metrics_token(&self) -> Option<String> {
        env_or(&self.http.metrics_token, "PROMOTERD_METRICS_TOKEN")
    }

    /// The IMAP host, from the file or the environment.
    pub fn imap_host(&self) -> Option<String> {
        env_or(&self.email.imap_host, "PROMOTERD_IMAP_HOST")
    }

    /// The IMAP password, from the file or the environment.
    pub fn imap_password(&self) -> Option<String> {
        env_or(&self.email.imap_password, "PROMOTERD_IMAP_PASSWORD")
    }
}
