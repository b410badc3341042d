//! pretix vouchers for tracking links: a live link of an event sold through pretix
//! gets a voucher whose code is the link's code (the redirect opens
//! `<event>/redeem?voucher=<code>`); a revoked link's voucher is made invalid from then
//! on (pretix has no switch: `valid_until` is set to now). Done off the request path,
//! at start, after every link change and every few minutes, so a pretix outage delays
//! a voucher and loses nothing.

use super::Connections;
use super::api::{ApiError, ShopApi};
use crate::clock::Clock;
use crate::domain::Shop;
use crate::store::{Store, VoucherRow, VoucherWanted};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the vouchers are checked without a link change.
const EVERY: Duration = Duration::from_secs(300);

#[derive(Debug, Deserialize)]
struct Voucher {
    id: i64,
    #[serde(default)]
    tag: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VoucherList {
    results: Vec<Voucher>,
}

/// Keeps every pretix connection's vouchers in step with the links, until aborted. A
/// voucher saved is a link change the store announces (the redirect opens the voucher
/// page only once its voucher exists).
pub async fn run(store: Store, clock: Clock, shops: Arc<Connections>, wake: Arc<Notify>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
        if let Err(e) = pass(&store, &clock, &shops).await {
            tracing::warn!(error = %e, "reading the links for pretix vouchers failed; trying again later");
        }
    }
}

/// One pass over every pretix connection; the number of vouchers created or disabled.
/// A voucher pretix refuses is logged and tried again on the next pass; it never
/// holds up the others.
pub async fn pass(store: &Store, clock: &Clock, shops: &Connections) -> anyhow::Result<usize> {
    let mut changed = 0;
    for conn in shops.of(Shop::Pretix) {
        let Some(api) = &conn.api else { continue };
        let Some(org) = store.org_by_slug(&conn.org).await? else {
            continue;
        };
        let wanted = store.vouchers_wanted(org.id).await?;
        let made = store.vouchers_made(org.id).await?;
        for w in &wanted {
            let row = made
                .iter()
                .find(|m| m.link_id == w.link_id && m.event_key == w.event_key);
            if row.is_some_and(|r| r.state == "live") {
                continue;
            }
            let id = match row {
                Some(r) => match reopen(api, w, r.voucher_id).await {
                    Ok(()) => Ok(r.voucher_id),
                    Err(e) if e.is_not_found() => create(api, w).await, // deleted in pretix
                    Err(e) => Err(e),
                },
                None => create(api, w).await,
            };
            let id = match id {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!(organization = %conn.org, link = %w.code, event = %w.event_key, error = %e, "pretix voucher not made; trying again later");
                    continue;
                }
            };
            let live = VoucherRow {
                link_id: w.link_id,
                event_key: w.event_key.clone(),
                voucher_id: id,
                state: "live".into(),
            };
            store.save_voucher(&live, clock.now()).await?;
            changed += 1;
        }
        for m in made.iter().filter(|m| m.state == "live") {
            if wanted
                .iter()
                .any(|w| w.link_id == m.link_id && w.event_key == m.event_key)
            {
                continue;
            }
            match close(api, m, clock).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {} // deleted in pretix: nothing left to close
                Err(e) => {
                    tracing::warn!(organization = %conn.org, voucher = m.voucher_id, error = %e, "pretix voucher not disabled; trying again later");
                    continue;
                }
            }
            let closed = VoucherRow {
                state: "disabled".into(),
                ..m.clone()
            };
            store.save_voucher(&closed, clock.now()).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

fn vouchers_path(event_key: &str) -> Result<String, ApiError> {
    let foreign = || ApiError::Foreign(event_key.chars().take(100).collect());
    let (organizer, event) = event_key.split_once('/').ok_or_else(foreign)?;
    if !crate::domain::pretix_short_name(organizer) || !crate::domain::pretix_short_name(event) {
        return Err(foreign());
    }
    Ok(format!("organizers/{organizer}/events/{event}/vouchers/"))
}

/// Creates the link's voucher, or finds the one a pass whose answer was lost created
/// (a voucher of that code promoterd did not make is left alone: an error).
async fn create(api: &ShopApi, w: &VoucherWanted) -> Result<i64, ApiError> {
    let path = vouchers_path(&w.event_key)?;
    let body = serde_json::json!({
        "code": w.code,
        "tag": w.code,
        "comment": format!("promoterd tracking link {} ({})", w.code, w.label),
        "max_usages": 100000,
        "price_mode": "none",
        "value": "0.00",
        "allow_ignore_quota": false,
        "block_quota": false,
        "show_hidden_items": false,
        "valid_until": null,
    });
    match api.post::<Voucher>(api.url(&path)?, &body).await {
        Ok(v) => Ok(v.id),
        Err(e @ ApiError::Status { status: 400, .. }) => {
            let mut url = api.url(&path)?;
            url.query_pairs_mut().append_pair("code", &w.code);
            let found: VoucherList = api.get(url).await?;
            found
                .results
                .into_iter()
                .find(|v| v.tag.as_deref() == Some(w.code.as_str()))
                .map(|v| v.id)
                .ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// Makes a disabled voucher valid again (its link was enabled again).
async fn reopen(api: &ShopApi, w: &VoucherWanted, id: i64) -> Result<(), ApiError> {
    let path = vouchers_path(&w.event_key)?;
    api.patch::<serde_json::Value>(
        api.url(&format!("{path}{id}/"))?,
        &serde_json::json!({ "valid_until": null }),
    )
    .await?;
    Ok(())
}

/// Ends a voucher's validity now; orders already made with it keep it.
async fn close(api: &ShopApi, m: &VoucherRow, clock: &Clock) -> Result<(), ApiError> {
    let path = vouchers_path(&m.event_key)?;
    let until = clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    api.patch::<serde_json::Value>(
        api.url(&format!("{path}{}/", m.voucher_id))?,
        &serde_json::json!({ "valid_until": until }),
    )
    .await?;
    Ok(())
}
