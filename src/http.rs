//! The HTTP server (axum): tracking-link redirects, the signed order webhook, health
//! and metrics. A front-end like the others: it calls the core and the store, never
//! the other way round.

mod clicks;
mod link_table;
mod redirect;
mod shops;
mod webhook;

pub use clicks::{Click, VisitorKey};
pub use link_table::{LOOKUPS_PER_SECOND, LinkCache};
pub use redirect::{is_preview_bot, target_url};
pub use webhook::{SignatureError, sign, verify_signature};

use crate::commands::Core;
use crate::config::Config;
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// What the handlers share.
#[derive(Debug)]
pub struct HttpState {
    pub core: Core,
    pub links: Arc<LinkCache>,
    clicks: mpsc::Sender<Click>,
    visitor_key: clicks::VisitorKey,
    trust_forwarded_for: bool,
    webhook: webhook::WebhookSettings,
    orders: crate::ingest::GroupCommit,
    events: Arc<crate::ingest::EventCache>,
    /// The organizations' shop connections.
    shops: Arc<crate::checkout::Connections>,
}

/// A running HTTP server; [`HttpServer::stop`] shuts it down gracefully.
#[derive(Debug)]
pub struct HttpServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The in-memory link table, for tests and the admin path.
    pub links: Arc<LinkCache>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    writer: JoinHandle<()>,
    order_writer: JoinHandle<()>,
    refresher: JoinHandle<()>,
    /// The operators' `/metrics` listener, when `[http] metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    metrics: Option<JoinHandle<std::io::Result<()>>>,
}

impl HttpServer {
    /// Starts serving on `listener`.
    pub async fn start(core: Core, config: &Config, listener: TcpListener) -> anyhow::Result<HttpServer> {
        Self::start_with(core, config, listener, Router::new()).await
    }

    /// Starts serving on `listener`, with the routes of front-ends (webhooks) added.
    pub async fn start_with(
        core: Core,
        config: &Config,
        listener: TcpListener,
        extra: Router,
    ) -> anyhow::Result<HttpServer> {
        let addr = listener.local_addr().context("reading the listening address")?;
        let store = core.store.clone();
        let visitor_key: [u8; 32] = store
            .setting_or_init("visitor_hash_key", || crate::codes::random_key().to_vec())
            .await?
            .try_into()
            .map_err(|_| anyhow::anyhow!("the stored visitor_hash_key is not 32 bytes"))?;
        let links = Arc::new(LinkCache::default());
        links
            .reload(&store, &core.metrics)
            .await
            .context("loading tracking links")?;
        let (tx, rx) = mpsc::channel(config.http.click_buffer);
        let (orders, order_writer) = crate::ingest::GroupCommit::start(store.clone(), core.clock.clone());
        let writer = tokio::spawn(clicks::writer(store.clone(), rx, core.metrics.clone()));
        let events = Arc::new(crate::ingest::EventCache::default());
        let shops =
            Arc::new(crate::checkout::Connections::from_config(&config.checkout).context("[[checkout]] connections")?);
        let refresher = tokio::spawn(link_table::refresher(
            links.clone(),
            events.clone(),
            store.clone(),
            core.metrics.clone(),
            Duration::from_secs(config.http.link_refresh_seconds.max(1)),
            core.links_changed.clone(),
        ));
        let state = Arc::new(HttpState {
            core,
            links: links.clone(),
            clicks: tx,
            visitor_key: clicks::VisitorKey::new(&visitor_key),
            trust_forwarded_for: config.http.trust_forwarded_for,
            webhook: webhook::WebhookSettings::from_config(config),
            orders,
            events,
            shops,
        });
        let (metrics_addr, metrics) = match config.http.metrics_listen.as_str() {
            "" => (None, None),
            listen => {
                let l = TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("listening for /metrics on {listen} ([http] metrics_listen)"))?;
                let addr = l.local_addr().context("reading the metrics address")?;
                let app = metrics_router(state.core.metrics.clone(), config.metrics_token());
                (Some(addr), Some(tokio::spawn(async move { axum::serve(l, app).await })))
            }
        };
        let app = router(state).merge(extra);
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await
        });
        Ok(HttpServer {
            addr,
            links,
            shutdown,
            server,
            writer,
            order_writer,
            refresher,
            metrics_addr,
            metrics,
        })
    }

    /// Stops accepting, lets in-flight requests finish, then writes buffered clicks.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        if let Some(m) = self.metrics {
            m.abort();
        }
        self.server
            .await
            .context("the HTTP server task")?
            .context("serving HTTP")?;
        // The router (and with it the last click sender) is gone: the writer drains and ends.
        self.writer.await.context("the click writer task")?;
        self.order_writer.await.context("the order writer task")?;
        self.refresher.abort();
        Ok(())
    }
}

/// The routes. Each handler records its own latency: a middleware around every route
/// costs the redirect more than its own work.
pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/t/{code}", get(redirect::redirect))
        .route("/webhooks/orders", post(webhook::orders))
        .route("/webhooks/orders/{organization}", post(webhook::orders_of))
        .route("/webhooks/{shop}", post(shops::signed))
        .route("/webhooks/{shop}/{segment}", post(shops::with_segment))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// The operators' listener: `/metrics` only, behind a bearer token when one is set. It
/// holds the metrics alone (not the click sender), so stopping never waits for it.
fn metrics_router(metrics: Arc<crate::metrics::Metrics>, token: Option<String>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(MetricsState { metrics, token })
}

#[derive(Clone)]
struct MetricsState {
    metrics: Arc<crate::metrics::Metrics>,
    token: Option<String>,
}

/// Runs `f`, recording its latency under `route`.
async fn timed(st: &HttpState, route: &'static str, f: impl std::future::Future<Output = Response>) -> Response {
    let start = Instant::now();
    let res = f.await;
    st.core.metrics.request(route, start.elapsed().as_secs_f64());
    res
}

async fn healthz(State(st): State<Arc<HttpState>>) -> Response {
    timed(&st, "healthz", async {
        health(st.orders.stopped_by_disk(), st.core.store.ping().await).into_response()
    })
    .await
}

/// What `/healthz` answers: not ok while order deliveries are refused for good (the
/// disk did not confirm a commit) or the database does not answer.
fn health(orders_stopped_by_disk: bool, database_answers: bool) -> (StatusCode, &'static str) {
    if orders_stopped_by_disk {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "order deliveries refused: the disk did not confirm a write (check the disk, then restart promoterd)\n",
        )
    } else if database_answers {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
    }
}

async fn metrics_text(State(m): State<MetricsState>, headers: header::HeaderMap) -> Response {
    if let Some(token) = &m.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    let start = Instant::now();
    let page = (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.metrics.render(),
    )
        .into_response();
    m.metrics.request("metrics", start.elapsed().as_secs_f64());
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_not_ok_while_the_order_writer_is_stopped_or_the_database_is_away() {
        assert_eq!(health(false, true), (StatusCode::OK, "ok\n"));
        let (status, text) = health(true, true);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(text.contains("disk did not confirm"), "{text}");
        assert_eq!(health(false, false).0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(health(true, false).0, StatusCode::SERVICE_UNAVAILABLE);
    }
}
