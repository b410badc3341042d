//! `[[checkout]]`: one organization's shop connection. Its secrets identify the
//! organization, so a delivery signed with them reaches that organization's events only.

use serde::Deserialize;

/// The shops promoterd can take orders from, by `kind`.
pub const KINDS: &[&str] = &["webhook"];

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
    /// The name order ids are unique within; default: the organization's short name.
    #[serde(default)]
    pub source: Option<String>,
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
        self.source.clone().unwrap_or_else(|| self.organization.clone())
    }
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
        let slug_ok = !c.organization.is_empty()
            && c.organization.len() <= 40
            && c.organization
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug_ok {
            return Err(format!(
                "checkout #{}: organization `{}` is not an organization's short name (a-z, 0-9, -)",
                i + 1,
                c.organization
            ));
        }
        if !KINDS.contains(&c.kind.as_str()) {
            return Err(format!("{at}: kind `{}` is not one of: {}", c.kind, KINDS.join(", ")));
        }
        let s = c.resolved_secrets();
        if s.is_empty() {
            return Err(match &c.secrets_env {
                Some(var) => format!("{at}: no secrets in the file and {var} is unset or empty"),
                None => format!("{at}: no secrets (set `secrets` or `secrets_env`)"),
            });
        }
        if s.iter().any(|x| x.len() < 16) {
            return Err(format!("{at}: each secret needs at least 16 characters"));
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
