//! `promoterd org create`: an organization and its owner, from the command line.

use super::open_store;
use crate::commands::{is_slug, parse_email};
use crate::config::Config;
use anyhow::bail;
use std::process::ExitCode;

fn slugify(name: &str) -> String {
    let mut s = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-')
        .chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

pub(super) async fn create(
    config: &Config,
    name: &str,
    owner: &str,
    slug: Option<String>,
    time_zone: Option<String>,
    currency: Option<String>,
) -> anyhow::Result<ExitCode> {
    let Some(owner) = parse_email(owner) else {
        bail!("`{owner}` is not an email address")
    };
    let slug = slug.unwrap_or_else(|| slugify(name));
    if !is_slug(&slug) {
        bail!("`{slug}` is not a short name: use 2 to 40 of a-z, 0-9 and -");
    }
    let tz = time_zone.unwrap_or_else(|| config.programs.default_time_zone.clone());
    if tz.parse::<chrono_tz::Tz>().is_err() {
        bail!("`{tz}` is not an IANA time zone such as Europe/Berlin");
    }
    let currency = currency
        .unwrap_or_else(|| config.programs.default_currency.clone())
        .to_ascii_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        bail!("`{currency}` is not a currency code such as EUR");
    }
    let store = open_store(config).await?;
    if store.org_by_slug(&slug).await?.is_some() {
        bail!("an organization `{slug}` exists already");
    }
    let now = chrono::Utc::now();
    let mut tx = store.write().await?;
    let owner_id = store.upsert_person(&mut tx, &owner, true, now).await?;
    let org_id = store
        .create_org(&mut tx, &slug, name, &tz, &currency, owner_id, now)
        .await?;
    store
        .audit(&mut tx, Some(org_id), Some(owner_id), "org.created", &slug, now)
        .await?;
    tx.commit().await?;
    println!("Created organization {name} (`{slug}`, {tz}, {currency}) owned by {owner}.");
    println!("Next: promoterd console --as {owner} -c \"newevent …\"");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_names() {
        assert_eq!(slugify("Acme Events GmbH!"), "acme-events-gmbh");
        assert_eq!(slugify("  Über  Fest "), "ber-fest");
    }
}
