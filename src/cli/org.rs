//! `promoterd org create`: an organization and its owner, from the command line.

use crate::commands::NewOrg;
use crate::config::Config;
use crate::error::CommandError;
use anyhow::{Context, bail};
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
    let slug = slug.unwrap_or_else(|| slugify(name));
    let time_zone = time_zone.unwrap_or_else(|| config.programs.default_time_zone.clone());
    let currency = currency.unwrap_or_else(|| config.programs.default_currency.clone());
    let new = NewOrg {
        name,
        owner_email: owner,
        slug: &slug,
        time_zone: &time_zone,
        currency: &currency,
    };
    let org = match super::core(config).await?.create_org(&new).await {
        Ok(org) => org,
        Err(CommandError::User(e)) => bail!("{e}"),
        Err(e) => return Err(e).context("creating the organization"),
    };
    println!(
        "Created organization {} (`{}`, {}, {}) owned by {owner}.",
        org.name, org.slug, org.time_zone, org.currency
    );
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
