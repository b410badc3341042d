//! `promoterd backup <file>` and `promoterd restore <file>`: the operator's side of
//! [`crate::backup`], with what was copied or put back printed.

use crate::backup::{Taken, restore as put_back, take};
use crate::config::Config;
use crate::store::{FileCheck, Store};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::ExitCode;

fn counts(check: &FileCheck) -> String {
    check
        .counts
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `promoterd backup <file>`.
pub async fn backup(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    sqlite_only(config)?;
    let path = config.database_path();
    if !path.is_file() {
        bail!("there is no database at {} to back up", path.display());
    }
    // Opened without migrating: a copy is of the database as it is.
    let store = Store::open_with(&path, config.database.synchronous == "full")
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let Taken {
        path: out,
        check,
        bytes,
    } = take(&store, file).await?;
    store.close().await;
    println!(
        "{}: backup of {} checked (integrity ok), {} bytes; {}",
        out.display(),
        path.display(),
        bytes,
        counts(&check)
    );
    Ok(ExitCode::SUCCESS)
}

/// `promoterd restore <file>`.
pub async fn restore(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    sqlite_only(config)?;
    let path = config.database_path();
    let done = put_back(&path, file, chrono::Utc::now()).await?;
    println!(
        "{} restored from {} (integrity ok); {}",
        path.display(),
        file.display(),
        counts(&done.check)
    );
    if let Some(previous) = done.previous {
        println!("The database that was in place is kept as {}.", previous.display());
    }
    println!("Start the daemon; it applies any newer migrations to the restored copy.");
    Ok(ExitCode::SUCCESS)
}

/// Backups here are copies of the SQLite file; a PostgreSQL database has its own tools.
fn sqlite_only(config: &Config) -> anyhow::Result<()> {
    if config.database_url().is_some() {
        bail!(
            "this configuration uses PostgreSQL ({}): back it up and restore it with PostgreSQL's own tools \
             (pg_dump / pg_restore, or base backups); promoterd backup and restore copy a SQLite file",
            config.database_name()
        );
    }
    Ok(())
}
