//! The shops' APIs promoterd calls: Stripe's line items and sessions, pretix's orders,
//! items and vouchers, Eventbrite's orders, Shopify's orders. One client per
//! connection, bounded in time and in the size of what it reads.

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

/// One connection's API: its base address, token and HTTP client.
#[derive(Debug, Clone)]
pub struct ShopApi {
    shop: Shop,
    base: Url,
    client: reqwest::Client,
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
            names: Default::default(),
        })
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
        let mut resp = req.send().await.map_err(unreachable)?;
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
}
