//! `promoterd import-orders`: the order CSV checked whole, then stored in one
//! transaction, or every problem listed by line and nothing stored.

use crate::clock::Clock;
use crate::config::Config;
use crate::daemon::open_store;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

pub(super) async fn import_orders(config: &Config, file: &Path, source: &str) -> anyhow::Result<ExitCode> {
    use crate::ingest::ImportError;
    let store = open_store(config).await?;
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let read = crate::ingest::read_import_csv(&data);
    let rows = read.rows;
    let refused = |problems: Vec<crate::ingest::FileProblem>| {
        for p in &problems {
            eprintln!("{}: {p}", file.display());
        }
        let mut lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        lines.dedup();
        eprintln!(
            "{} problem(s) on {} line(s) ({rows} row(s) read). Nothing was imported.",
            problems.len(),
            lines.len()
        );
        Ok(ExitCode::from(2))
    };
    // Orders under a connection's source belong to its organization: the import may
    // not put them (or a refund waiting under that source) in another's events.
    let org = match config.checkout.iter().find(|c| c.source() == source) {
        Some(c) => match store.org_by_slug(&c.organization).await? {
            Some(o) => Some(o.id),
            None => anyhow::bail!(
                "source `{source}` is the [[checkout]] connection of `{}`, which does not exist",
                c.organization
            ),
        },
        None => None,
    };
    let checked = match read.check(&store, source, org).await {
        Ok(c) => c,
        Err(ImportError::Problems(problems)) => return refused(problems),
        Err(ImportError::Store(e)) => return Err(anyhow::Error::new(e).context("checking the orders")),
        Err(ImportError::Apply(e)) => return Err(anyhow::Error::new(e).context("checking the orders")),
    };
    let outcomes = match checked.apply(&store, &Clock::system()).await {
        Ok(o) => o,
        Err(ImportError::Problems(problems)) => return refused(problems),
        Err(ImportError::Store(e)) => return Err(anyhow::Error::new(e).context("storing the orders")),
        Err(ImportError::Apply(e)) => return Err(anyhow::Error::new(e).context("storing the orders")),
    };
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, crate::store::IngestOutcome::Created(_)))
        .count();
    let updated = outcomes
        .iter()
        .filter(|o| matches!(o, crate::store::IngestOutcome::Updated(_)))
        .count();
    println!(
        "Imported {} order(s): {created} new, {updated} updated, {} unchanged.",
        outcomes.len(),
        outcomes.len() - created - updated
    );
    Ok(ExitCode::SUCCESS)
}
