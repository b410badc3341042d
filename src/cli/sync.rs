//! `promoterd sync <event>`: an event's past orders pulled from its shop's API (Stripe,
//! Shopify, pretix, Eventbrite) and stored through the same checks as a delivery;
//! running it again changes nothing.

use crate::checkout::ShopOrder;
use crate::checkout::api::{Patience, ShopApi};
use crate::checkout::intake::{self, Intake, IntakeError};
use crate::clock::Clock;
use crate::config::{CheckoutConfig, Config};
use crate::daemon::open_store;
use crate::domain::Shop;
use crate::store::IngestOutcome;
use anyhow::Context;
use std::process::ExitCode;

/// What a run did, for its last line.
#[derive(Debug, Default)]
struct Tally {
    read: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    skipped: usize,
    refused: usize,
}

pub(super) async fn sync(config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let mut events = store.events_named(name).await?;
    if events.len() > 1 {
        anyhow::bail!("several organizations have an event `{name}`: name it as <organization>/<event>");
    }
    let Some(event) = events.pop() else {
        anyhow::bail!("no event `{name}`");
    };
    let org = store
        .org(event.org_id)
        .await?
        .context("the event's organization is missing")?;
    let shop = event.checkout;
    if !matches!(shop, Shop::Stripe | Shop::Shopify | Shop::Pretix | Shop::Eventbrite) {
        anyhow::bail!(
            "{} sells through {}, whose orders cannot be listed from its API: resend them from the shop's webhook log, \
             or import them with `promoterd import-orders`",
            event.slug,
            shop.label()
        );
    }
    let (conn, api) = connection(config, &org.slug, shop)?;
    let keys = store.event_checkout_keys(event.id).await?;
    let mut orders: Vec<ShopOrder> = Vec::new();
    for key in &keys {
        let listed = match shop {
            Shop::Stripe if key.starts_with("plink_") => crate::checkout::stripe::list(&api, key).await,
            Shop::Stripe => continue, // a product: its sessions are found through its Payment Links
            Shop::Shopify => crate::checkout::shopify::list(&api, key).await,
            Shop::Pretix => crate::checkout::pretix::list(&api, key).await,
            _ => crate::checkout::eventbrite::list(&api, key).await,
        };
        orders.extend(listed.with_context(|| format!("listing the orders of {key} at {}", shop.label()))?);
    }
    let tally = store_all(&store, org.id, shop, &conn.source(), &orders).await?;
    println!(
        "{}: {} order(s) read from {}: {} new, {} updated, {} unchanged, {} not counted (unpaid or another event's), {} refused",
        event.slug,
        tally.read,
        shop.label(),
        tally.created,
        tally.updated,
        tally.unchanged,
        tally.skipped,
        tally.refused
    );
    Ok(if tally.refused > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The organization's connection to `shop` and its API.
fn connection<'a>(config: &'a Config, org: &str, shop: Shop) -> anyhow::Result<(&'a CheckoutConfig, ShopApi)> {
    let Some(conn) = config
        .checkout
        .iter()
        .find(|c| c.organization == org && c.kind == shop.as_str())
    else {
        anyhow::bail!(
            "no [[checkout]] connection of {org} to {} in the configuration",
            shop.label()
        );
    };
    let token = conn.resolved_api_token().with_context(|| {
        format!(
            "the {} connection has no API token (api_token or api_token_env)",
            shop.label()
        )
    })?;
    let api = ShopApi::new(shop, conn.api_base.as_deref(), token)?.with_patience(Patience::SYNC);
    Ok((conn, api))
}

/// Stores every order through the intake, one transaction each.
async fn store_all(
    store: &crate::store::Store,
    org: crate::domain::OrgId,
    shop: Shop,
    source: &str,
    orders: &[ShopOrder],
) -> anyhow::Result<Tally> {
    let clock = Clock::system();
    let mut tally = Tally {
        read: orders.len(),
        ..Tally::default()
    };
    for order in orders {
        let shares = match intake::prepare(store, None, org, shop, source, order).await {
            Ok(Intake::Ready(shares)) => shares,
            Ok(Intake::Skipped(_)) => {
                tally.skipped += 1;
                continue;
            }
            Err(IntakeError::Order(e)) => {
                eprintln!("order {}: {e}", order.id);
                tally.refused += 1;
                continue;
            }
            Err(IntakeError::Store(e)) => return Err(anyhow::Error::new(e).context("reading the events")),
        };
        let inputs: Vec<_> = shares.into_iter().map(|s| s.input).collect();
        match crate::ingest::apply(store, &clock, &inputs).await {
            Ok(outcomes) => {
                for o in outcomes {
                    match o {
                        IngestOutcome::Created(_) => tally.created += 1,
                        IngestOutcome::Updated(_) => tally.updated += 1,
                        _ => tally.unchanged += 1,
                    }
                }
            }
            Err(crate::ingest::ApplyError::Order(e)) => {
                eprintln!("order {}: {e}", order.id);
                tally.refused += 1;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("storing the orders")),
        }
    }
    Ok(tally)
}
