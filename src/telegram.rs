//! The Telegram front-end (teloxide): long polling or a webhook on the daemon's HTTP
//! server, every declared command, deep-link invites, files, one rate-limited sender.

pub mod render;
mod text;

pub use text::{TelegramText, command_line};

use crate::commands::{Access, COMMANDS, Core, Origin, Platform, parse_line};
use crate::config::Config;
use crate::reply::Reply;
use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::payloads::setters::*;
use teloxide::prelude::Requester;
use teloxide::sugar::request::RequestLinkPreviewExt;
use teloxide::types::{
    BotCommand, BotCommandScope, ChatId, InputFile, Message, ParseMode, Recipient, ThreadId, Update, UpdateKind,
};
use teloxide::{ApiError, Bot};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The Telegram bot as the daemon runs it.
#[derive(Debug)]
pub struct Telegram {
    core: Core,
    bot: Bot,
    username: String,
    webhook_secret: Option<String>,
}

/// The header Telegram sends with webhook updates.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Most attempts for one outbound call that Telegram rate-limits.
const MAX_RETRIES: usize = 5;

impl Telegram {
    /// Connects to the Bot API (`getMe`) and registers the commands.
    pub async fn connect(
        mut core: Core,
        token: &str,
        api_url: Option<&str>,
        webhook_secret: Option<String>,
    ) -> anyhow::Result<Arc<Self>> {
        let mut bot = Bot::new(token);
        if let Some(url) = api_url {
            bot = bot.set_api_url(url::Url::parse(url.trim_end_matches('/')).context("[telegram] api_url")?);
        }
        let me = bot.get_me().await.context("Telegram getMe")?;
        let username = me.username.clone().unwrap_or_default();
        if core.settings.telegram_bot.is_none() && !username.is_empty() {
            core.settings.telegram_bot = Some(username.clone());
        }
        let tg = Arc::new(Telegram {
            core,
            bot,
            username,
            webhook_secret,
        });
        tg.register_commands().await?;
        Ok(tg)
    }

    /// The bot's username (for `t.me/<username>` links).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `setMyCommands`: organizer commands only in organizers' own chats.
    pub async fn register_commands(&self) -> anyhow::Result<()> {
        let everyone: Vec<BotCommand> = COMMANDS
            .iter()
            .filter(|c| !matches!(c.access, Access::Organizer | Access::Owner))
            .map(|c| BotCommand::new(c.name, c.help))
            .collect();
        let all: Vec<BotCommand> = COMMANDS.iter().map(|c| BotCommand::new(c.name, c.help)).collect();
        self.bot
            .set_my_commands(everyone)
            .await
            .context("Telegram setMyCommands")?;
        for chat in self.core.store.organizer_chat_accounts(Platform::Telegram).await? {
            let Ok(id) = chat.parse::<i64>() else { continue };
            let scope = BotCommandScope::Chat {
                chat_id: Recipient::Id(ChatId(id)),
            };
            // One organizer's chat failing (blocked bot) must not stop the others or the daemon.
            if let Err(e) = self.bot.set_my_commands(all.clone()).scope(scope).await {
                tracing::warn!(chat = id, error = %e, "telegram: setting an organizer's command menu failed");
            }
        }
        Ok(())
    }

    /// Applies one update, once: a repeated `update_id` is dropped.
    pub async fn handle_update(&self, update: Update) -> anyhow::Result<()> {
        let id = update.id.0.to_string();
        // Claimed before it is applied: a repeat, even a concurrent one, is dropped.
        if !self
            .core
            .store
            .record_chat_update(Platform::Telegram, &id, self.core.clock.now())
            .await?
        {
            return Ok(());
        }
        if let UpdateKind::Message(msg) = update.kind {
            self.handle_message(&msg).await?;
        }
        Ok(())
    }

    async fn handle_message(&self, msg: &Message) -> anyhow::Result<()> {
        let Some(from) = &msg.from else { return Ok(()) };
        if from.is_bot {
            return Ok(());
        }
        let private = msg.chat.is_private();
        let text = msg.text().unwrap_or("").trim();
        let chat = msg.chat.id;
        // A command sent in a forum topic is answered in that topic, not in General.
        let topic = msg.thread_id.filter(|_| msg.is_topic_message);
        let line = match command_line(text, &self.username) {
            TelegramText::NotACommand => {
                if private {
                    self.send_in(chat, topic, &Reply::text("Send /help for what I can do."))
                        .await?;
                }
                return Ok(());
            }
            TelegramText::ForAnotherBot => return Ok(()),
            TelegramText::Start => {
                let hello = Reply::text(format!(
                    "Hi {}! I run the promoter program of your event organizers.",
                    from.first_name
                ))
                .line("Got an invite? Tap its link, or send /accept <code>. Already a promoter or organizer? Link this account: /connect <your email>, then /verify <code>.")
                .line("Send /help for every command.");
                return self.send_in(chat, topic, &hello).await;
            }
            TelegramText::Line(line) => {
                // In a group every bot gets every `/command`: a bare one that is none of
                // ours is another bot's, and not answered.
                let word = text.split_whitespace().next().unwrap_or("");
                let name = line.split_whitespace().next().unwrap_or("");
                if !private && !word.contains('@') && crate::commands::spec::find(name).is_none() {
                    return Ok(());
                }
                line
            }
        };
        let origin = Origin::Chat {
            platform: Platform::Telegram,
            user_id: from.id.0.to_string(),
            username: from.username.clone().or_else(|| Some(from.first_name.clone())),
        };
        let reply = match parse_line(&line) {
            Err(e) => Reply::error(e.0),
            Ok(inv) if !private && crate::commands::spec::spec(inv.cmd).private => {
                Reply::text(format!("Message me privately for that: https://t.me/{}", self.username))
            }
            Ok(inv) => match self.core.run(&origin, &inv).await {
                r if r.private && !private => {
                    Reply::text(format!("Message me privately for that: https://t.me/{}", self.username))
                }
                r => r,
            },
        };
        // Whoever writes to the bot can be reached again.
        self.core
            .store
            .clear_chat_unreachable(Platform::Telegram, &from.id.0.to_string())
            .await?;
        self.send_in(chat, topic, &reply).await
    }

    /// Sends a reply: HTML text in parts under the limit, then files.
    pub async fn send(&self, chat: ChatId, reply: &Reply) -> anyhow::Result<()> {
        self.send_in(chat, None, reply).await
    }

    /// [`Telegram::send`], into a forum topic when `topic` names one.
    async fn send_in(&self, chat: ChatId, topic: Option<ThreadId>, reply: &Reply) -> anyhow::Result<()> {
        for part in render::render(reply) {
            self.call(chat, || {
                let m = self
                    .bot
                    .send_message(chat, part.clone())
                    .parse_mode(ParseMode::Html)
                    .disable_link_preview(true);
                match topic {
                    Some(t) => m.message_thread_id(t),
                    None => m,
                }
            })
            .await?;
        }
        for a in &reply.attachments {
            let file = InputFile::memory(a.data.clone()).file_name(a.filename.clone());
            if a.mime.starts_with("image/") {
                self.call(chat, || {
                    let m = self.bot.send_photo(chat, file.clone()).caption(a.caption.clone());
                    match topic {
                        Some(t) => m.message_thread_id(t),
                        None => m,
                    }
                })
                .await?;
            } else {
                self.call(chat, || {
                    let m = self.bot.send_document(chat, file.clone()).caption(a.caption.clone());
                    match topic {
                        Some(t) => m.message_thread_id(t),
                        None => m,
                    }
                })
                .await?;
            }
        }
        Ok(())
    }

    /// One API call with Telegram's rate limits honoured (retry after the given time) and
    /// blocked users recorded as unreachable instead of retried.
    async fn call<R, F>(&self, chat: ChatId, make: F) -> anyhow::Result<()>
    where
        F: Fn() -> R,
        R: std::future::IntoFuture<Output = Result<Message, RequestError>>,
    {
        for attempt in 0..MAX_RETRIES {
            match make().into_future().await {
                Ok(_) => return Ok(()),
                Err(RequestError::RetryAfter(s)) if attempt + 1 < MAX_RETRIES => {
                    tracing::info!(seconds = s.seconds(), "telegram: rate limited; waiting as asked");
                    tokio::time::sleep(s.duration()).await;
                }
                Err(RequestError::Api(
                    e @ (ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound),
                )) => {
                    tracing::info!(chat = chat.0, error = %e, "telegram: chat unreachable");
                    let now = self.core.clock.now();
                    self.core
                        .store
                        .mark_chat_unreachable(Platform::Telegram, &chat.0.to_string(), &e.to_string(), now)
                        .await?;
                    return Ok(());
                }
                Err(e) => return Err(e).context("Telegram API"),
            }
        }
        anyhow::bail!("Telegram kept rate-limiting after {MAX_RETRIES} attempts")
    }

    /// Delivers queued chat messages (digests, notifications) until `stop`.
    pub async fn drain_outbox(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let me = self.clone();
        crate::chat_outbox::drain(
            self.core.clone(),
            Platform::Telegram,
            move |m, reply| {
                let me = me.clone();
                async move {
                    let chat = ChatId(m.recipient.parse().context("a Telegram chat id")?);
                    // A stale mark must not turn a successful send into an email.
                    me.core
                        .store
                        .clear_chat_unreachable(Platform::Telegram, &m.recipient)
                        .await?;
                    me.send(chat, &reply).await?;
                    Ok(
                        if me.core.store.chat_unreachable(Platform::Telegram, &m.recipient).await? {
                            crate::chat_outbox::Delivery::Unreachable
                        } else {
                            crate::chat_outbox::Delivery::Delivered
                        },
                    )
                }
            },
            stop,
        )
        .await;
    }

    /// Long polling until `stop`: `getUpdates` with a server-side timeout.
    pub async fn poll(self: Arc<Self>, timeout: u32, mut stop: watch::Receiver<bool>) {
        let mut offset: i32 = 0;
        let mut failing = false;

        if let Ok(info) = self.bot.get_webhook_info().await
            && info.url.is_some()
        {
            let _ = self.bot.delete_webhook().await;
        }
        loop {
            let updates = tokio::select! {
                r = self.bot.get_updates().offset(offset).timeout(timeout) => r,
                _ = stop.changed() => break,
            };
            match updates {
                Ok(updates) => {
                    failing = false;
                    for u in updates {
                        offset = offset.max(u.id.0 as i32 + 1);
                        if let Err(e) = self.handle_update(u).await {
                            tracing::warn!(error = %format!("{e:#}"), "telegram: handling an update failed");
                        }
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "telegram: getUpdates failed; retrying");
                        failing = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(3)) => {}
                        _ = stop.changed() => break,
                    }
                }
            }
        }
    }

    /// The webhook route for the daemon's HTTP server (`POST /telegram/webhook`).
    pub fn webhook_router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/telegram/webhook", axum::routing::post(webhook))
            .with_state(self)
    }
}

async fn webhook(State(tg): State<Arc<Telegram>>, headers: HeaderMap, body: Bytes) -> Response {
    use subtle::ConstantTimeEq;
    let Some(secret) = &tg.webhook_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if given.len() != secret.len() || !bool::from(given.ct_eq(secret.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, "wrong secret token\n").into_response();
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        // Telegram would resend a refused update forever: take it and drop it.
        Err(e) => {
            tracing::warn!(error = %e, "telegram: an update could not be read; dropped");
            return StatusCode::OK.into_response();
        }
    };
    match tg.handle_update(update).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "telegram: handling a webhook update failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The Telegram front-end: the bot (and, in webhook mode, its route), and the jobs
/// only one daemon runs (long polling, the outbox drain) when this daemon runs them.
#[derive(Debug)]
pub struct TelegramFrontend {
    pub telegram: Arc<Telegram>,
    /// The long poll's timeout, in polling mode.
    poll_timeout: Option<u32>,
    jobs: Option<TelegramJobs>,
}

/// Telegram's running jobs: long polling (in polling mode) and the outbox drain.
#[derive(Debug)]
pub struct TelegramJobs {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    outbox: JoinHandle<()>,
}

impl TelegramJobs {
    /// Stops polling and the drain after their current message.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task {
            let _ = t.await;
        }
        let _ = self.outbox.await;
    }
}

impl TelegramFrontend {
    /// Starts Telegram with its jobs when a token is configured; `None` with one log
    /// line otherwise.
    pub async fn start(core: &Core, config: &Config) -> anyhow::Result<Option<TelegramFrontend>> {
        let mut frontend = Self::start_receiving(core, config).await?;
        if let Some(f) = &mut frontend {
            f.jobs = Some(f.start_jobs());
        }
        Ok(frontend)
    }

    /// Connects the bot (and sets its webhook in webhook mode) without starting the jobs
    /// only one daemon runs: every daemon can take webhook updates.
    pub async fn start_receiving(core: &Core, config: &Config) -> anyhow::Result<Option<TelegramFrontend>> {
        let Some(token) = config.telegram_token() else {
            tracing::info!("telegram: off (no bot_token in [telegram] and no PROMOTERD_TELEGRAM_TOKEN)");
            return Ok(None);
        };
        let webhook = config.telegram.mode == "webhook";
        let secret = config.telegram_webhook_secret();
        if webhook && secret.is_none() {
            anyhow::bail!("[telegram] mode = \"webhook\" needs webhook_secret (or PROMOTERD_TELEGRAM_WEBHOOK_SECRET)");
        }
        let tg = Telegram::connect(
            core.clone(),
            &token,
            config.telegram.api_url.as_deref(),
            secret.clone().filter(|_| webhook),
        )
        .await?;
        if webhook {
            let url = format!("{}/telegram/webhook", config.http.public_url.trim_end_matches('/'));
            tg.bot
                .set_webhook(url::Url::parse(&url)?)
                .secret_token(secret.unwrap_or_default())
                .await
                .context("Telegram setWebhook")?;
            tracing::info!(bot = %tg.username, %url, "telegram: webhook mode");
        } else {
            tracing::info!(bot = %tg.username, "telegram: long polling");
        }
        Ok(Some(TelegramFrontend {
            telegram: tg,
            poll_timeout: (!webhook).then_some(config.telegram.poll_timeout_seconds),
            jobs: None,
        }))
    }

    /// Starts the jobs only one daemon runs: long polling (in polling mode) and the
    /// outbox drain.
    pub fn start_jobs(&self) -> TelegramJobs {
        let (stop, rx) = watch::channel(false);
        let task = self
            .poll_timeout
            .map(|timeout| tokio::spawn(self.telegram.clone().poll(timeout, rx.clone())));
        let outbox = tokio::spawn(self.telegram.clone().drain_outbox(rx));
        TelegramJobs { stop, task, outbox }
    }

    /// The webhook route, in webhook mode.
    pub fn router(&self) -> Option<Router> {
        self.telegram
            .webhook_secret
            .is_some()
            .then(|| self.telegram.clone().webhook_router())
    }

    /// Stops the jobs it started itself.
    pub async fn stop(self) {
        if let Some(jobs) = self.jobs {
            jobs.stop().await;
        }
    }
}
