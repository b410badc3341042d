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
}

#[derive(Debug, Deserialize)]
struct VoucherList {
    results: Vec<Voucher>,
}

/// Keeps every pretix connection's vouchers in step with the links, until aborted.
pub async fn run(store: Store, clock: Clock, shops: Arc<Connections>, wake: Arc<Notify>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
        if let Err(e) = pass(&store, &clock, &shops).await {
            tracing::warn!(error = %e, "updating pretix vouchers failed; trying again later");
        }
    }
}

/// One pass over every pretix connection; the number of vouchers created or disabled.
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
                Some(r) => {
                    reopen(api, w, r.voucher_id).await?;
                    r.voucher_id
                }
                None => create(api, w).await?,
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
            close(api, m, clock).await?;
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

fn vouchers_path(event_key: &str) -> Option<String> {
    let (organizer, event) = event_key.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    };
    (ok(organizer) && ok(event)).then(|| format!("organizers/{organizer}/events/{event}/vouchers/"))
}

/// Creates the link's voucher (or finds the one a lost earlier pass created).
async fn create(api: &ShopApi, w: &VoucherWanted) -> Result<i64, ApiError> {
    let path = vouchers_path(&w.event_key).ok_or_else(|| ApiError::Foreign(w.event_key.clone()))?;
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
        // The code exists: made by a pass whose answer was lost.
        Err(ApiError::Status { status: 400, .. }) => {
            let found: VoucherList = api.get(api.url(&format!("{path}?code={}", w.code))?).await?;
            found.results.first().map(|v| v.id).ok_or(ApiError::Status {
                shop: "pretix",
                status: 400,
                path,
            })
        }
        Err(e) => Err(e),
    }
}

/// Makes a disabled voucher valid again (its link was enabled again).
async fn reopen(api: &ShopApi, w: &VoucherWanted, id: i64) -> Result<(), ApiError> {
    let path = vouchers_path(&w.event_key).ok_or_else(|| ApiError::Foreign(w.event_key.clone()))?;
    api.patch::<serde_json::Value>(
        api.url(&format!("{path}{id}/"))?,
        &serde_json::json!({ "valid_until": null }),
    )
    .await?;
    Ok(())
}

/// Ends a voucher's validity now; orders already made with it keep it.
async fn close(api: &ShopApi, m: &VoucherRow, clock: &Clock) -> Result<(), ApiError> {
    let path = vouchers_path(&m.event_key).ok_or_else(|| ApiError::Foreign(m.event_key.clone()))?;
    let until = clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    api.patch::<serde_json::Value>(
        api.url(&format!("{path}{}/", m.voucher_id))?,
        &serde_json::json!({ "valid_until": until }),
    )
    .await?;
    Ok(())
}
