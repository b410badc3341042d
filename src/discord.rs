//! The Discord front-end (serenity): slash commands generated from the declarations,
//! answered over the gateway or the signed interactions endpoint through one path.

pub mod commands;
mod frontend;
pub mod render;

pub use frontend::{DiscordFrontend, DiscordJobs};

use crate::commands::{Core, Origin, Platform};
use crate::reply::Reply;
use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serenity::all::{
    ApplicationId, Command, CommandInteraction, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateMessage, GuildId, Http, HttpBuilder, Interaction, Nonce, UserId,
};
use serenity::interactions_endpoint::Verifier;
use std::sync::Arc;
use std::time::Duration;

/// Most attempts for one call Discord refuses with 429 or a transient error.
const MAX_RETRIES: u32 = 5;
/// How old a signed interaction may be.
const MAX_AGE_SECONDS: i64 = 300;

/// The Discord bot as the daemon runs it.
pub struct Discord {
    core: Core,
    pub http: Arc<Http>,
    verifier: Option<Verifier>,
}

impl std::fmt::Debug for Discord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discord").finish_non_exhaustive()
    }
}

/// Work that finishes a deferred answer (run after the defer was sent).
pub type FollowUp = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl Discord {
    /// A bot over `http`; `public_key` (hex) enables the signed endpoint.
    pub fn new(core: Core, http: Arc<Http>, public_key: Option<&str>) -> anyhow::Result<Arc<Self>> {
        let verifier = match public_key {
            Some(hex_key) => {
                let bytes: [u8; 32] = hex::decode(hex_key.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .context("[discord] public_key must be 64 hex digits")?;
                Some(
                    Verifier::try_new(bytes)
                        .map_err(|_| anyhow::anyhow!("[discord] public_key is not a valid Ed25519 key"))?,
                )
            }
            None => None,
        };
        Ok(Arc::new(Discord { core, http, verifier }))
    }

    /// An HTTP client; `proxy` sends every request to another base URL (tests).
    pub fn http_client(token: &str, application_id: u64, proxy: Option<&str>) -> Arc<Http> {
        Arc::new(Self::http(token, application_id, proxy))
    }

    fn http(token: &str, application_id: u64, proxy: Option<&str>) -> Http {
        let mut b = HttpBuilder::new(token).application_id(ApplicationId::new(application_id));
        if let Some(p) = proxy {
            // serenity's rate limiter ignores the proxy: it must be off when one is set.
            b = b.proxy(p.trim_end_matches('/')).ratelimiter_disabled(true);
        }
        b.build()
    }

    /// Registers the slash commands, in one guild (instant) or globally.
    pub async fn register(&self, guild: Option<u64>) -> anyhow::Result<usize> {
        let defs = commands::definitions();
        let n = defs.len();
        match guild {
            Some(g) => GuildId::new(g)
                .set_commands(&self.http, defs)
                .await
                .context("registering guild commands")?,
            None => Command::set_global_commands(&self.http, defs)
                .await
                .context("registering global commands")?,
        };
        Ok(n)
    }

    /// The one path from an interaction to its answer, for both modes: the response to
    /// send now, and for slow commands the follow-up to run after it.
    pub async fn handle_command(
        self: &Arc<Self>,
        cmd: CommandInteraction,
    ) -> (CreateInteractionResponse, Option<FollowUp>) {
        let origin = Origin::Chat {
            platform: Platform::Discord,
            user_id: cmd.user.id.get().to_string(),
            username: Some(cmd.user.name.clone()),
        };
        let _ = self
            .core
            .store
            .clear_chat_unreachable(Platform::Discord, &cmd.user.id.get().to_string())
            .await;
        let inv = match commands::invocation(&cmd) {
            Ok(inv) => inv,
            Err(e) => {
                return (
                    CreateInteractionResponse::Message(render::message(&Reply::error(e.0), true)),
                    None,
                );
            }
        };
        let private = crate::commands::spec::spec(inv.cmd).private;
        if crate::commands::spec::spec(inv.cmd).deferred {
            let me = self.clone();
            let work: FollowUp = Box::pin(async move {
                let reply = me.core.run(&origin, &inv).await;
                let ephemeral = private || reply.private || reply.is_error;
                if ephemeral && !private {
                    // The first follow-up takes the public deferral's place, whatever its
                    // own flags: it says only that the answer came privately, and the
                    // answer follows as a second, ephemeral message.
                    me.follow_up(&cmd, &Reply::text("Answered privately."), false).await;
                }
                me.follow_up(&cmd, &reply, ephemeral).await;
            });
            let defer = CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(private));
            return (defer, Some(work));
        }
        let reply = self.core.run(&origin, &inv).await;
        let ephemeral = private || reply.private || reply.is_error;
        (
            CreateInteractionResponse::Message(render::message(&reply, ephemeral)),
            None,
        )
    }

    async fn follow_up(&self, cmd: &CommandInteraction, reply: &Reply, ephemeral: bool) {
        for attempt in 1..=MAX_RETRIES {
            match cmd
                .create_followup(&self.http, render::followup(reply, ephemeral))
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    let wait = retry_wait(&e, attempt);
                    tracing::warn!(error = %e, attempt, "discord: follow-up failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        tracing::error!("discord: gave up on a follow-up message");
    }

    /// Sends a direct message; a user whose DMs are closed is recorded as unreachable.
    /// With a `nonce` (at most 25 characters), Discord drops a repeat of the same message
    /// sent within a few minutes: a resend after a crash is not shown twice.
    pub async fn send_dm(&self, user: u64, reply: &Reply, nonce: Option<&str>) -> anyhow::Result<bool> {
        let msg = || {
            let m = CreateMessage::new()
                .allowed_mentions(render::no_mentions())
                .embed(render::embed(reply));
            match nonce {
                Some(n) => m.nonce(Nonce::String(n.to_string())).enforce_nonce(true),
                None => m,
            }
        };
        for attempt in 1..=MAX_RETRIES {
            let result = async {
                let channel = UserId::new(user).create_dm_channel(&self.http).await?;
                channel.send_message(&self.http, msg()).await
            }
            .await;
            match result {
                Ok(_) => return Ok(true),
                Err(serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r)))
                    if r.error.code == 50007 || r.status_code.as_u16() == 403 =>
                {
                    let now = self.core.clock.now();
                    self.core
                        .store
                        .mark_chat_unreachable(Platform::Discord, &user.to_string(), "DMs closed", now)
                        .await?;
                    return Ok(false);
                }
                Err(e) if attempt < MAX_RETRIES => tokio::time::sleep(retry_wait(&e, attempt)).await,
                Err(e) => return Err(e).context("Discord DM"),
            }
        }
        Ok(false)
    }

    /// Delivers queued chat messages (digests, notifications) as DMs until `stop`.
    pub async fn drain_outbox(self: Arc<Self>, stop: tokio::sync::watch::Receiver<bool>) {
        let me = self.clone();
        crate::chat_outbox::drain(
            self.core.clone(),
            Platform::Discord,
            move |m, reply| {
                let me = me.clone();
                async move {
                    let user: u64 = m.recipient.parse().context("a Discord user id")?;
                    // The outbox row's id: a resend of this row is deduplicated by Discord.
                    let nonce = format!("promoterd-{}", m.id);
                    Ok(if me.send_dm(user, &reply, Some(&nonce)).await? {
                        crate::chat_outbox::Delivery::Delivered
                    } else {
                        crate::chat_outbox::Delivery::Unreachable
                    })
                }
            },
            stop,
        )
        .await;
    }

    /// The interactions-endpoint route (`POST /discord/interactions`).
    pub fn endpoint_router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/discord/interactions", axum::routing::post(endpoint))
            .with_state(self)
    }
}

/// How long to wait before retrying after `e`: Discord's 429 answers carry a
/// `retry_after` (the rate limiter honours the headers when it is on); otherwise back off.
fn retry_wait(e: &serenity::Error, attempt: u32) -> Duration {
    match e {
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 429 => {
            Duration::from_millis(1000 * u64::from(attempt))
        }
        _ => Duration::from_millis(250 * u64::from(attempt)),
    }
}

/// Fields Discord added to interactions over time that serenity 0.12 requires, with the
/// value their absence means. An interaction from an older API version (or a proxy that
/// drops them) is read with these filled in; a field a command really needs (its id,
/// token, user, data) is never made up.
type FieldDefault = fn() -> serde_json::Value;
const NEWER_INTERACTION_FIELDS: &[(&str, FieldDefault)] = &[
    ("entitlements", || serde_json::json!([])),
    ("locale", || serde_json::json!("en-US")),
    ("app_permissions", || serde_json::json!("0")),
    ("attachment_size_limit", || serde_json::json!(8_388_608)),
    ("authorizing_integration_owners", || serde_json::json!({})),
];

/// Reads an interaction as Discord documents it: missing optional or newer fields are
/// filled in (also a member's `flags`, `roles`, `deaf` and `mute`), unknown ones are
/// ignored.
pub fn read_interaction(body: &[u8]) -> Result<Interaction, serde_json::Error> {
    let mut v: serde_json::Value = serde_json::from_slice(body)?;
    if let Some(obj) = v.as_object_mut() {
        for (name, default) in NEWER_INTERACTION_FIELDS {
            obj.entry(*name).or_insert_with(default);
        }
        if let Some(member) = obj.get_mut("member").and_then(|m| m.as_object_mut()) {
            member.entry("flags").or_insert_with(|| serde_json::json!(0));
            member.entry("roles").or_insert_with(|| serde_json::json!([]));
            member.entry("deaf").or_insert_with(|| serde_json::json!(false));
            member.entry("mute").or_insert_with(|| serde_json::json!(false));
        }
    }
    serde_json::from_value(v)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

async fn endpoint(State(d): State<Arc<Discord>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(verifier) = &d.verifier else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (sig, ts) = (header("x-signature-ed25519"), header("x-signature-timestamp"));
    if verifier.verify(sig, ts, &body).is_err() {
        return refuse(StatusCode::UNAUTHORIZED, "invalid request signature");
    }
    let now = d.core.clock.now().timestamp();
    match ts.parse::<i64>() {
        Ok(t) if (now - t).abs() <= MAX_AGE_SECONDS => {}
        _ => return refuse(StatusCode::UNAUTHORIZED, "stale or malformed timestamp"),
    }
    let interaction: Interaction = match read_interaction(&body) {
        Ok(i) => i,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("unreadable interaction: {e}")),
    };
    match interaction {
        Interaction::Ping(_) => axum::Json(CreateInteractionResponse::Pong).into_response(),
        Interaction::Command(cmd) => {
            let now = d.core.clock.now();
            match d
                .core
                .store
                .record_chat_update(Platform::Discord, &cmd.id.get().to_string(), now)
                .await
            {
                Ok(true) => {}
                Ok(false) => return refuse(StatusCode::CONFLICT, "this interaction was already answered"),
                Err(e) => {
                    tracing::error!(error = %e, "discord: recording an interaction failed");
                    return refuse(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
                }
            }
            let (response, later) = d.handle_command(cmd).await;
            if let Some(work) = later {
                tokio::spawn(work);
            }
            axum::Json(response).into_response()
        }
        _ => refuse(StatusCode::BAD_REQUEST, "unsupported interaction type"),
    }
}

struct Handler {
    discord: Arc<Discord>,
}

#[serenity::async_trait]
impl serenity::all::EventHandler for Handler {
    async fn interaction_create(&self, ctx: serenity::all::Context, interaction: Interaction) {
        let Interaction::Command(cmd) = interaction else { return };
        let now = self.discord.core.clock.now();
        let (response, later) = match self
            .discord
            .core
            .store
            .record_chat_update(Platform::Discord, &cmd.id.get().to_string(), now)
            .await
        {
            Ok(true) => self.discord.handle_command(cmd.clone()).await,
            Ok(false) => {
                tracing::debug!(id = %cmd.id, "discord: an interaction seen before is not answered twice");
                return;
            }
            Err(e) => {
                // Without the record we cannot tell a redelivery: say so rather than act twice.
                tracing::error!(error = %e, command = %cmd.data.name, "discord: recording an interaction failed");
                let sorry = Reply::error(crate::error::CommandError::from(e).user_message());
                (CreateInteractionResponse::Message(render::message(&sorry, true)), None)
            }
        };
        if let Err(e) = cmd.create_response(&ctx.http, response).await {
            tracing::warn!(error = %e, "discord: answering an interaction failed");
            return;
        }
        if let Some(work) = later {
            tokio::spawn(work);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15.9: an interaction without the fields Discord added lately is read; one
    /// without what the command needs is not.
    #[test]
    fn interactions_without_newer_fields_are_read() {
        let minimal = serde_json::json!({
            "id": "1001", "application_id": "4242", "type": 2, "token": "tok", "version": 1,
            "channel_id": "555",
            "member": {"user": {"id": "7", "username": "ana", "discriminator": "0", "avatar": null},
                       "joined_at": "2026-01-01T00:00:00.000000+00:00", "permissions": "0",
                       "roles": [], "deaf": false, "mute": false},
            "guild_id": "99",
            "data": {"id": "7", "name": "help", "type": 1}
        });
        let read = read_interaction(minimal.to_string().as_bytes()).unwrap();
        let Interaction::Command(cmd) = read else {
            panic!("not a command")
        };
        assert_eq!((cmd.data.name.as_str(), cmd.user.id.get()), ("help", 7));
        let mut broken = minimal.clone();
        broken.as_object_mut().unwrap().remove("token");
        assert!(read_interaction(broken.to_string().as_bytes()).is_err());
    }
}
