//! `[[checkout]]`: one organization's shop connection. Its secrets identify the
//! organization, so a delivery signed with them reaches that organization's events only.

use serde::Deserialize;

/// The shops promoterd can take orders from, by `kind`.
pub const KINDS: &[&str] = &[
    "webhook",
    "stripe",
    "shopify",
    "woocommerce",
    "pretix",
    "tickettailor",
    "eventbrite",
    "hievents",
];

/// The shops whose deliveries promoterd completes from the shop's API: it needs a token.
const NEEDS_TOKEN: &[&str] = &["stripe", "pretix", "eventbrite"];
/// The shops with a self-hosted or per-shop API address: it needs `api_base`.
const NEEDS_BASE: &[&str] = &["pretix"];

/// One `[[checkout]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutConfig {
    /// The organization's short name.
    pub organization: String,
    /// The shop: `webhook` is promoterd's own signed format (`POST /webhooks/orders`).
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Signing secrets, each at least 16 characters; two while rotating.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// An environment variable holding the secrets instead (comma-separated).
    #[serde(default)]
    pub secrets_env: Option<String>,
    /// The name order ids are unique within; default: the organization's short name
    /// (`<organization>-<kind>` for a shop other than `webhook`).
    #[serde(default)]
    pub source: Option<String>,
    /// The shop's API token (Stripe secret key, pretix token, Eventbrite OAuth token,
    /// Shopify Admin API access token); prefer `api_token_env`.
    #[serde(default)]
    pub api_token: Option<String>,
    /// An environment variable holding the API token.
    #[serde(default)]
    pub api_token_env: Option<String>,
    /// The shop's API address: `https://pretix.eu/api/v1` or your pretix's,
    /// `https://<shop>.myshopify.com/admin/api/2025-01`; the others have a default.
    #[serde(default)]
    pub api_base: Option<String>,
}

fn default_kind() -> String {
    "webhook".into()
}

impl CheckoutConfig {
    /// The secrets from the file, else from `secrets_env`.
    pub fn resolved_secrets(&self) -> Vec<String> {
        let from_file: Vec<String> = self
            .secrets
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if !from_file.is_empty() {
            return from_file;
        }
        self.secrets_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok())
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The source its orders are stored under.
    pub fn source(&self) -> String {
        match (&self.source, self.kind.as_str()) {
            (Some(s), _) => s.clone(),
            (None, "webhook") => self.organization.clone(),
            (None, kind) => format!("{}-{kind}", self.organization),
        }
    }

    /// The API token from the file, else from `api_token_env`.
    pub fn resolved_api_token(&self) -> Option<String> {
        let from_file = self.api_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
        match from_file {
            Some(t) => Some(t.to_string()),
            None => self
                .api_token_env
                .as_deref()
                .and_then(|var| std::env::var(var).ok())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        }
    }
}

/// At the daemon's start: every connection has its secrets (`secrets_env` set).
pub fn secrets_ready(checkouts: &[CheckoutConfig]) -> Result<(), String> {
    for (i, c) in checkouts.iter().enumerate() {
        if NEEDS_TOKEN.contains(&c.kind.as_str()) && c.resolved_api_token().is_none() {
            let var = c.api_token_env.as_deref().unwrap_or("api_token_env");
            return Err(format!(
                "checkout #{} ({}): a {} connection needs its API token: set api_token, or {var} in the environment",
                i + 1,
                c.organization,
                c.kind
            ));
        }
        if c.resolved_secrets().is_empty() {
            let var = c.secrets_env.as_deref().unwrap_or("secrets_env");
            return Err(format!(
                "checkout #{} ({}): no secrets in the file and {var} is unset or empty",
                i + 1,
                c.organization
            ));
        }
    }
    Ok(())
}

/// Checks the connections together with the operator-wide `[webhook]` secrets: each
/// names an organization by a short name and a known kind, has secrets of 16 characters
/// or more, and no secret or source is shared (a delivery must name one organization).
pub fn validate(checkouts: &[CheckoutConfig], global: &[String], global_source: &str) -> Result<(), String> {
    let mut secrets: Vec<&str> = global.iter().map(String::as_str).collect();
    let mut sources: Vec<String> = vec![global_source.to_string()];
    let mut resolved = Vec::new();
    for (i, c) in checkouts.iter().enumerate() {
        let at = format!("checkout #{} ({})", i + 1, c.organization);
        if !crate::commands::is_slug(&c.organization) {
            return Err(format!(
                "checkout #{}: organization `{}` is not an organization's short name (a-z, 0-9, -)",
                i + 1,
                c.organization
            ));
        }
        if !KINDS.contains(&c.kind.as_str()) {
            return Err(format!("{at}: kind `{}` is not one of: {}", c.kind, KINDS.join(", ")));
        }
        let has_token = c.api_token.is_some() || c.api_token_env.is_some();
        if has_token && !matches!(c.kind.as_str(), "stripe" | "pretix" | "eventbrite" | "shopify") {
            return Err(format!("{at}: a {} connection takes no API token", c.kind));
        }
        if has_token && c.kind == "shopify" && c.api_base.is_none() {
            return Err(format!(
                "{at}: with an Admin API token, set api_base = \"https://<shop>.myshopify.com/admin/api/2025-01\""
            ));
        }
        if NEEDS_BASE.contains(&c.kind.as_str()) && c.api_base.is_none() {
            return Err(format!(
                "{at}: set api_base, your pretix's API address (https://pretix.eu/api/v1)"
            ));
        }
        if let Some(base) = &c.api_base
            && !url::Url::parse(base).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        {
            return Err(format!("{at}: api_base `{base}` is not an http(s) address"));
        }
        if NEEDS_TOKEN.contains(&c.kind.as_str()) && c.api_token.is_none() && c.api_token_env.is_none() {
            return Err(format!(
                "{at}: a {} connection needs an API token (set api_token or api_token_env)",
                c.kind
            ));
        }
        if c.secrets.iter().all(|s| s.trim().is_empty()) && c.secrets_env.is_none() {
            return Err(format!("{at}: no secrets (set `secrets` or `secrets_env`)"));
        }
        // Secrets from the environment are checked when the daemon starts (`secrets_ready`):
        // the command-line tools run without the daemon's environment.
        let s = c.resolved_secrets();
        if s.iter().any(|x| x.len() < 16) {
            return Err(format!("{at}: each secret needs at least 16 characters"));
        }
        let in_path = matches!(c.kind.as_str(), "pretix" | "eventbrite");
        if in_path
            && s.iter()
                .any(|x| !x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(format!(
                "{at}: the secret is part of the webhook's address: use letters, digits, - and _ only"
            ));
        }
        let source = c.source();
        if source.trim().is_empty() || sources.contains(&source) {
            return Err(format!(
                "{at}: source `{source}` is taken; each connection needs its own (order ids are unique per source)"
            ));
        }
        sources.push(source);
        resolved.push(s);
    }
    for s in &resolved {
        for x in s {
            if secrets.contains(&x.as_str()) {
                return Err("a checkout secret is used twice; each connection needs its own".into());
            }
        }
        secrets.extend(s.iter().map(String::as_str));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(env: &str) -> CheckoutConfig {
        CheckoutConfig {
            organization: "acme-events".into(),
            kind: "webhook".into(),
            secrets: vec![],
            secrets_env: Some(env.into()),
            source: None,
            api_token: None,
            api_token_env: None,
            api_base: None,
        }
    }

    #[test]
    fn secrets_from_an_unset_variable_are_refused_at_start_not_by_the_tools() {
        let c = [conn("ACME_CHECKOUT_SECRETS_NEVER_SET_IN_TESTS")];
        assert_eq!(validate(&c, &[], "checkout"), Ok(()), "the tools run without it");
        let e = secrets_ready(&c).unwrap_err();
        assert!(
            e.contains("ACME_CHECKOUT_SECRETS_NEVER_SET_IN_TESTS is unset or empty"),
            "{e}"
        );
    }

    #[test]
    fn shop_connections_are_checked_for_what_their_shop_needs() {
        let shop = |kind: &str, token: bool, base: Option<&str>| CheckoutConfig {
            kind: kind.into(),
            secrets: vec!["a-secret-of-16-chars".into()],
            secrets_env: None,
            api_token: token.then(|| "tok".to_string()),
            api_base: base.map(String::from),
            ..conn("X")
        };
        let check = |c: CheckoutConfig| validate(&[c], &[], "checkout");
        assert!(check(shop("stripe", true, None)).is_ok());
        assert!(check(shop("stripe", false, None)).unwrap_err().contains("API token"));
        assert!(check(shop("pretix", true, None)).unwrap_err().contains("api_base"));
        assert!(check(shop("pretix", true, Some("https://pretix.eu/api/v1"))).is_ok());
        assert!(check(shop("shopify", true, None)).unwrap_err().contains("myshopify"));
        assert!(check(shop("shopify", false, None)).is_ok());
        assert!(
            check(shop("woocommerce", true, None))
                .unwrap_err()
                .contains("takes no API token")
        );
        assert!(
            check(shop("pretix", true, Some("ftp://x")))
                .unwrap_err()
                .contains("not an http(s)")
        );
        assert!(check(shop("paypal", false, None)).unwrap_err().contains("not one of"));
        let mut in_path = shop("eventbrite", true, None);
        in_path.secrets = vec!["has/slash-0123456789".into()];
        assert!(check(in_path).unwrap_err().contains("address"));
        assert_eq!(shop("stripe", true, None).source(), "acme-events-stripe");
    }

    #[test]
    fn organization_names_follow_the_short_name_rule() {
        for bad in ["123", "-a", "a-", "Acme", "a"] {
            let c = CheckoutConfig {
                organization: bad.into(),
                secrets: vec!["a-secret-of-16-chars".into()],
                ..conn("X")
            };
            assert!(validate(&[c], &[], "checkout").is_err(), "{bad}");
        }
    }
}
