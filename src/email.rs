//! The email front-end: mail out through SMTP (lettre) from the outbox, replies in by
//! polling an IMAP mailbox (async-imap), read with mail-parser.

pub mod authres;
mod bounce_text;
pub mod classify;
pub mod handle;
mod html;
pub mod inbound;
mod message;
pub mod outbound;
mod quote_headers;
mod smtp;
pub mod thread;
pub mod visible;

use crate::commands::Core;
use crate::config::Config;
use anyhow::Context;
use lettre::message::Mailbox;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running email tasks.
#[derive(Debug)]
pub struct EmailFrontend {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl EmailFrontend {
    /// Starts the sender (with SMTP configured) and the poller (with IMAP configured);
    /// `None` with one log line when neither can run.
    pub fn start(core: &Core, config: &Config) -> anyhow::Result<Option<EmailFrontend>> {
        let Some(bot) = config.email.from.clone() else {
            tracing::info!("email: off (no `from` address in [email]); mail stays queued in the outbox");
            return Ok(None);
        };
        let (stop, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        match config.smtp_url() {
            Some(url) => {
                let smtp = smtp::Smtp::from_url(&url).context("[email] smtp_url")?;
                let from: Mailbox = format!("{} <{bot}>", config.email.from_name)
                    .parse()
                    .context("[email] from")?;
                tasks.push(tokio::spawn(outbound::sender(core.clone(), smtp, from, rx.clone())));
                tracing::info!("email: sending through SMTP");
            }
            None => tracing::info!("email: sending off (no smtp_url); mail stays queued in the outbox"),
        }
        match (config.imap_host(), config.imap_password()) {
            (Some(host), Some(password)) => {
                let folder = config.email.processed_folder.trim();
                let s = inbound::ImapSettings {
                    host,
                    port: config.email.imap_port,
                    tls: config.email.imap_tls,
                    user: config.email.imap_user.clone().unwrap_or_else(|| bot.clone()),
                    password,
                    processed_folder: (!folder.is_empty()).then(|| folder.to_string()),
                    poll: Duration::from_secs(config.email.poll_seconds.max(1)),
                    max_mail_bytes: config.email.max_mail_bytes,
                    inbound: handle::InboundSettings {
                        bot_address: bot.to_lowercase(),
                        mailbox: config.email.mailbox.clone(),
                        require_authentication_results: config.email.require_authentication_results.clone(),
                    },
                };
                tasks.push(tokio::spawn(inbound::poller(core.clone(), s, rx)));
            }
            _ => tracing::info!("email: replies off (no imap_host or imap_password)"),
        }
        Ok(Some(EmailFrontend { stop, tasks }))
    }

    /// Stops the tasks after their current message.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
