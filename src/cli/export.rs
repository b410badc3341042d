//! `promoterd export`: the referred-buyers CSV of an event or organization, to a file
//! or standard output, and audited.

use crate::config::Config;
use crate::daemon::open_store;
use crate::store::{ExportFilter, Store};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::ExitCode;

pub(super) async fn export(
    config: &Config,
    event: Option<String>,
    org: Option<String>,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let (filter, tz, name) = what_to_export(&store, event, org).await?;
    let rows = match out {
        Some(path) => {
            let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            crate::export::write_csv(&store, &filter, &tz, std::io::BufWriter::new(f)).await?
        }
        None => crate::export::write_csv(&store, &filter, &tz, std::io::stdout().lock()).await?,
    };
    let now = chrono::Utc::now();
    let mut tx = store.write().await?;
    store
        .audit(
            &mut tx,
            Some(filter.org_id),
            None,
            "export.cli",
            &format!("{name} {rows} rows"),
            now,
        )
        .await?;
    tx.commit().await?;
    eprintln!("{rows} row(s) exported.");
    Ok(ExitCode::SUCCESS)
}

/// What `--event` or `--org` names: the rows to export, the organization's time zone,
/// and the name as given (for the audit).
async fn what_to_export(
    store: &Store,
    event: Option<String>,
    org: Option<String>,
) -> anyhow::Result<(ExportFilter, String, String)> {
    Ok(match (event, org) {
        (Some(slug), _) => {
            let mut named = store.events_named(&slug).await?;
            if named.len() > 1 {
                anyhow::bail!("several organizations have an event `{slug}`: name it as <organization>/{slug}");
            }
            let e = named.pop().with_context(|| format!("no event `{slug}`"))?;
            let o = store
                .org(e.org_id)
                .await?
                .context("the event's organization is missing")?;
            (
                ExportFilter {
                    org_id: o.id,
                    event_id: Some(e.id),
                },
                o.time_zone,
                slug,
            )
        }
        (None, Some(slug)) => {
            let o = store
                .org_by_slug(&slug)
                .await?
                .with_context(|| format!("no organization `{slug}`"))?;
            (
                ExportFilter {
                    org_id: o.id,
                    event_id: None,
                },
                o.time_zone,
                slug,
            )
        }
        (None, None) => bail!("name an --event or an --org"),
    })
}
