//! The shop connections of `[[checkout]]` at run time: who may deliver to which
//! organization, and the API client that completes a delivery.

use super::api::ShopApi;
use crate::config::CheckoutConfig;
use crate::domain::{OrgId, Shop};
use std::sync::OnceLock;

/// One organization's connection to one shop.
#[derive(Debug)]
pub struct Connection {
    /// The organization's short name.
    pub org: String,
    pub shop: Shop,
    /// Signing secrets (or, for shops that do not sign, the secret in the address).
    pub secrets: Vec<String>,
    /// The name order ids are unique within.
    pub source: String,
    /// The shop's API, when the connection has a token.
    pub api: Option<ShopApi>,
    /// The organization's id once looked up (a short name never changes).
    pub org_id: OnceLock<OrgId>,
}

/// Every shop connection of the configuration.
#[derive(Debug, Default)]
pub struct Connections {
    all: Vec<Connection>,
}

impl Connections {
    /// The connections of `[[checkout]]` other than promoterd's own webhook.
    pub fn from_config(checkouts: &[CheckoutConfig]) -> anyhow::Result<Self> {
        let mut all = Vec::new();
        for c in checkouts {
            let Ok(shop) = Shop::from_stored(&c.kind) else {
                anyhow::bail!("checkout kind `{}` is not known", c.kind);
            };
            if shop == Shop::Webhook {
                continue;
            }
            let api = match c.resolved_api_token() {
                Some(token) => Some(ShopApi::new(shop, c.api_base.as_deref(), token)?),
                None => None,
            };
            all.push(Connection {
                org: c.organization.clone(),
                shop,
                secrets: c.resolved_secrets(),
                source: c.source(),
                api,
                org_id: OnceLock::new(),
            });
        }
        Ok(Connections { all })
    }

    /// The connections to `shop`.
    pub fn of(&self, shop: Shop) -> impl Iterator<Item = &Connection> {
        self.all.iter().filter(move |c| c.shop == shop)
    }

    /// Every connection.
    pub fn iter(&self) -> impl Iterator<Item = &Connection> {
        self.all.iter()
    }
}
