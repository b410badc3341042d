//! The shops' APIs promoterd calls: Stripe's line items and sessions, pretix's orders,
//! items and vouchers, Eventbrite's orders, Shopify's orders. One client per
//! connection, bounded in time and in the size of what it reads; a rate-limited call
//! (429) is tried again within a bounded wait.

use crate::domain::Shop;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;
use url::Url;

/// Largest API answer read (an order with its positions is a few kB).
const MAX_ANSWER: usize = 4 << 20;

/// Why an API call failed; `Display` is for the operator's log.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{shop} API unreachable: {detail}")]
    Unreachable { shop: &'static str, detail: String },
    #[error("{shop} API answered {status} for {path}")]
    Status {
        shop: &'static str,
        status: u16,
        path: String,
    },
    #[error("{shop} API answer is not what its documentation describes: {detail}")]
    Unexpected { shop: &'static str, detail: String },
    #[error("the address `{0}` is not on the connection's API")]
    Foreign(String),
}

impl ApiError {
    /// The shop says the thing asked for does not exist (deleted, or not ours).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { status: 404 | 410, .. })
    }
}

/// How long a call may wait out the shop's rate limit (429 Too Many Requests), in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// The sum of the waits between tries.
    pub budget: Duration,
    /// Tries in all, the first one included.
    pub tries: u32,
}

impl Patience {
    /// While a shop waits for the answer to its delivery: Shopify gives up after 5 s,
    /// so the waits stay well under that; past it the delivery answers 503 and the
    /// shop delivers again later.
    pub const DELIVERY: Patience = Patience {
        budget: Duration::from_millis(2_500),
        tries: 4,
    };
    /// `promoterd sync`, which nobody waits on but the operator.
    pub const SYNC: Patience = Patience {
        budget: Duration::from_secs(120),
        tries: 10,
    };
}

/// The first wait when the shop names none; it doubles with each try.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// One connection's API: its base address, token and HTTP client.
#[derive(Debug, Clone)]
pub struct ShopApi {
    shop: Shop,
    base: Url,
    client: reqwest::Client,
    patience: Patience,
    /// Names that do not change (pretix products), by API path.
    names: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

/// Most names remembered; past it the memory starts over.
const MAX_NAMES: usize = 10_000;

/// The API's documented address when the connection sets none.
fn default_base(shop: Shop) -> Option<&'static str> {
    match shop {
        Shop::Stripe => Some("https://api.stripe.com"),
        Shop::Eventbrite => Some("https://www.eventbriteapi.com/v3"),
        _ => None,
    }
}

impl ShopApi {
    /// A client for `shop` at `base` (or the shop's own address) with `token`.
    pub fn new(shop: Shop, base: Option<&str>, token: String) -> anyhow::Result<Self> {
        let base = base
            .or(default_base(shop))
            .ok_or_else(|| anyhow::anyhow!("a {} connection with a token needs api_base", shop.label()))?;
        let mut base = Url::parse(base.trim_end_matches('/')).map_err(|e| anyhow::anyhow!("api_base `{base}`: {e}"))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let (name, value) = match shop {
            Shop::Pretix => (AUTHORIZATION, format!("Token {token}")),
            Shop::Shopify => (HeaderName::from_static("x-shopify-access-token"), token),
            _ => (AUTHORIZATION, format!("Bearer {token}")),
        };
        let mut value =
            HeaderValue::from_str(&value).map_err(|_| anyhow::anyhow!("the API token is not a header value"))?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            // One HTTP/1.1 connection per request in flight, kept: the shop's API is
            // called once per delivery.
            .no_proxy()
            .http1_only()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(256)
            .user_agent(concat!("promoterd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ShopApi {
            shop,
            base,
            client,
            patience: Patience::DELIVERY,
            names: Default::default(),
        })
    }

    /// The same API, waiting out rate limits for as long as `patience` allows.
    pub fn with_patience(mut self, patience: Patience) -> Self {
        self.patience = patience;
        self
    }

    /// A name remembered under `key`.
    pub fn remembered(&self, key: &str) -> Option<String> {
        self.names.lock().expect("names lock").get(key).cloned()
    }

    /// Remembers a name that does not change.
    pub fn remember(&self, key: &str, name: &str) {
        let mut names = self.names.lock().expect("names lock");
        if names.len() >= MAX_NAMES {
            names.clear();
        }
        names.insert(key.to_string(), name.to_string());
    }

    /// `path` (relative, with its query) on the API.
    pub fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|_| ApiError::Foreign(path.chars().take(200).collect()))
    }

    /// An absolute address a delivery names (Eventbrite's `api_url`), only when it lies
    /// on this connection's API: the token never goes anywhere else.
    pub fn within(&self, address: &str) -> Result<Url, ApiError> {
        let foreign = || ApiError::Foreign(address.chars().take(200).collect());
        let u = Url::parse(address).map_err(|_| foreign())?;
        let same_origin = u.scheme() == self.base.scheme()
            && u.host_str() == self.base.host_str()
            && u.port_or_known_default() == self.base.port_or_known_default();
        if !same_origin
            || !u.path().starts_with(self.base.path())
            || u.path().contains("/../")
            || !u.username().is_empty()
        {
            return Err(foreign());
        }
        Ok(u)
    }

    /// GETs `url` and reads its JSON as `T`.
    pub async fn get<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, ApiError> {
        self.send(self.client.get(url.clone()), &url).await
    }

    /// POSTs `body` as JSON to `url` and reads the JSON answer as `T`.
    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        self.send(self.client.post(url.clone()).json(body), &url).await
    }

    /// PATCHes `url` with `body` as JSON and reads the JSON answer as `T`.
    pub async fn patch<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        self.send(self.client.patch(url.clone()).json(body), &url).await
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<T, ApiError> {
        let shop = self.shop.label();
        let unreachable = |e: reqwest::Error| ApiError::Unreachable {
            shop,
            detail: e.without_url().to_string(),
        };
        let mut resp = self.send_patiently(req, url).await.map_err(unreachable)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ApiError::Status {
                shop,
                status: status.as_u16(),
                path: url.path().to_string(),
            });
        }
        match resp.content_length() {
            Some(n) if n > MAX_ANSWER as u64 => {
                return Err(ApiError::Unexpected {
                    shop,
                    detail: "the answer is too large".into(),
                });
            }
            // Its size known and within bounds: read at once.
            Some(_) => {
                let body = resp.bytes().await.map_err(unreachable)?;
                return serde_json::from_slice(&body).map_err(|e| ApiError::Unexpected {
                    shop,
                    detail: e.to_string(),
                });
            }
            None => {}
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(ApiError::Unexpected {
                    shop,
                    detail: "the answer is too large".into(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| ApiError::Unexpected {
            shop,
            detail: e.to_string(),
        })
    }

    /// Sends `req`, trying again while the shop answers 429 and the patience lasts: after
    /// the seconds its `Retry-After` names, or else after a doubling wait with jitter
    /// (what Stripe, Shopify and pretix ask of clients). A 429 is refused before any
    /// work, so trying a `POST` again is safe. The last answer is returned as it is.
    async fn send_patiently(
        &self,
        mut req: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut waited = Duration::ZERO;
        let mut backoff = FIRST_BACKOFF;
        let mut tries = 1;
        loop {
            let again = req.try_clone();
            let resp = req.send().await?;
            if resp.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                return Ok(resp);
            }
            let wait = match retry_after(resp.headers()) {
                Some(named) => named,
                None => jitter(backoff),
            };
            backoff = backoff.saturating_mul(2);
            let Some(next) = again.filter(|_| tries < self.patience.tries && waited + wait <= self.patience.budget)
            else {
                tracing::warn!(
                    shop = self.shop.label(),
                    path = url.path(),
                    tries,
                    waited_ms = waited.as_millis() as u64,
                    "the shop's API is rate-limiting promoterd (429); giving up for now"
                );
                return Ok(resp);
            };
            tracing::debug!(
                shop = self.shop.label(),
                path = url.path(),
                wait_ms = wait.as_millis() as u64,
                "429: trying again"
            );
            drop(resp);
            tokio::time::sleep(wait).await;
            waited += wait;
            tries += 1;
            req = next;
        }
    }
}

/// The wait a `Retry-After` header names in seconds (`2`, or Shopify's `2.0`); a date or
/// anything else is not read, and the doubling wait applies.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    Duration::try_from_secs_f64(text.parse::<f64>().ok()?).ok()
}

/// `d` spread over its upper half, so that calls refused together do not come back
/// together.
fn jitter(d: Duration) -> Duration {
    let half = d / 2;
    let mut byte = [0u8; 2];
    getrandom::fill(&mut byte).expect("operating system random source");
    half + half.mul_f64(f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(v: &str) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        retry_after(&h)
    }

    #[test]
    fn retry_after_reads_seconds_and_nothing_else() {
        assert_eq!(after("2"), Some(Duration::from_secs(2)));
        assert_eq!(after(" 2.0 "), Some(Duration::from_secs(2)));
        assert_eq!(after("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(after("-1"), None);
        assert_eq!(after("1e400"), None);
        assert_eq!(after("1.2.3"), None);
        assert_eq!(after(""), None);
        // Too large for a duration: not read, rather than a panic.
        assert_eq!(after(&"9".repeat(400)), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let d = Duration::from_millis(400);
        for _ in 0..200 {
            let j = jitter(d);
            assert!(j >= d / 2 && j <= d, "{j:?}");
        }
    }
}
