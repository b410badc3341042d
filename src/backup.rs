//! Backups: `promoterd backup <file>`, the daemon's scheduled backups with rotation, and
//! `promoterd restore`. A copy is written beside its final name, checked, then renamed;
//! only a checked copy lets older ones be deleted.

use crate::store::{FileCheck, Store, check_file, new_private_file};
use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A backup written and checked.
#[derive(Debug)]
pub struct Taken {
    pub path: PathBuf,
    pub check: FileCheck,
    pub bytes: u64,
}

/// `path` with `suffix` added to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Takes a consistent copy of the running database into `target` (a new file) and
/// checks it; the daemon keeps serving meanwhile.
pub async fn take(store: &Store, target: &Path) -> anyhow::Result<Taken> {
    if target.exists() {
        bail!(
            "{} exists; a backup never overwrites a file: name a new one",
            target.display()
        );
    }
    let partial = beside(target, ".partial");
    // A leftover of an interrupted backup is ours to replace.
    let _ = std::fs::remove_file(&partial);
    new_private_file(&partial)
        .map(drop)
        .with_context(|| format!("creating {}", partial.display()))?;
    let result = async {
        store.vacuum_into(&partial).await.context("copying the database")?;
        let check = check_file(&partial).await.context("checking the copy")?;
        if !check.is_ok() {
            bail!("the copy failed its integrity check: {}", check.integrity);
        }
        Ok(check)
    }
    .await;
    let check = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, target).with_context(|| format!("naming the copy {}", target.display()))?;
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(Taken {
        path: target.to_path_buf(),
        check,
        bytes,
    })
}

/// The file name of a scheduled backup taken at `at`.
pub fn scheduled_name(at: DateTime<Utc>) -> String {
    format!("promoterd-{}.db", at.format("%Y%m%dT%H%M%SZ"))
}

/// The time in a scheduled backup's file name; `None` for any other file.
fn scheduled_time(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix("promoterd-")?.strip_suffix(".db")?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// The scheduled backups in `dir`, newest first.
pub fn scheduled_backups(dir: &Path) -> std::io::Result<Vec<(DateTime<Utc>, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(at) = entry.file_name().to_str().and_then(scheduled_time) {
            found.push((at, entry.path()));
        }
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(found)
}

/// Deletes the scheduled backups beyond the newest `keep`; returns what it deleted.
/// Other files in the directory are never touched.
pub fn rotate(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for (_, path) in scheduled_backups(dir)?.into_iter().skip(keep) {
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

/// One scheduled backup at `now` into `dir`, then the rotation.
pub async fn take_scheduled(store: &Store, dir: &Path, keep: usize, now: DateTime<Utc>) -> anyhow::Result<Taken> {
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // What an interrupted backup left behind holds buyer data too, and no later backup
    // has its name (they are unique per second): it goes now.
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("promoterd-") && name.contains(".db.partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let taken = take(store, &dir.join(scheduled_name(now))).await?;
    let removed = rotate(dir, keep).with_context(|| format!("rotating the backups in {}", dir.display()))?;
    for path in removed {
        tracing::info!(path = %path.display(), "old backup deleted");
    }
    Ok(taken)
}

/// When the next scheduled backup is due: `every` after the newest in `dir`, or now.
pub fn next_due(dir: &Path, every: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let newest = scheduled_backups(dir).ok().and_then(|b| b.first().map(|(at, _)| *at));
    match newest.and_then(|at| chrono::Duration::from_std(every).ok().map(|e| at + e)) {
        Some(due) if due > now => due,
        _ => now,
    }
}

/// The daemon's backup schedule, until `stop` turns true. A restart does not reset it:
/// the next backup is due `every` after the newest one in the directory.
pub async fn scheduled(
    store: Store,
    dir: PathBuf,
    every: Duration,
    keep: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = Utc::now();
        let wait = (next_due(&dir, every, now) - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        match take_scheduled(&store, &dir, keep, Utc::now()).await {
            Ok(t) => tracing::info!(path = %t.path.display(), bytes = t.bytes, "backup taken and checked"),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "scheduled backup failed");
                // Not at once again: a full disk would spin.
                tokio::select! {
                    _ = tokio::time::sleep(every.min(Duration::from_secs(3600))) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// The lock a daemon holds on its database for as long as it runs: `restore` needs it
/// free, and a second daemon on the same file is refused.
#[derive(Debug)]
pub struct DaemonLock {
    _file: std::fs::File,
}

impl DaemonLock {
    /// Takes the lock beside `database` (`<database>.lock`), or says who holds it.
    pub fn acquire(database: &Path) -> anyhow::Result<DaemonLock> {
        let path = beside(database, ".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DaemonLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "a promoterd daemon is running on {} (it holds {}); stop it first",
                database.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub check: FileCheck,
    /// Where the database that was in place went (with its `-wal` and `-shm`).
    pub previous: Option<PathBuf>,
}

/// Puts a backup in place of `database` while no daemon runs: the copy is checked
/// before it goes in place, and the current file (with any `-wal`/`-shm`, which must
/// never meet another database) is kept aside, put back if the last step fails.
pub async fn restore(database: &Path, backup: &Path, now: DateTime<Utc>) -> anyhow::Result<Restored> {
    let _lock = DaemonLock::acquire(database)?;
    if !backup.is_file() {
        bail!("{} is not a file", backup.display());
    }
    let incoming = beside(database, ".restoring");
    let _ = std::fs::remove_file(&incoming);
    let check = match copy_checked(backup, &incoming).await {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(e);
        }
    };
    let aside = beside(database, &format!(".before-restore-{}", now.format("%Y%m%dT%H%M%SZ")));
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    for ext in ["", "-wal", "-shm"] {
        let (from, to) = (beside(database, ext), beside(&aside, ext));
        if from.exists() {
            std::fs::rename(&from, &to).with_context(|| format!("moving {} aside", from.display()))?;
            moved.push((from, to));
        }
    }
    if let Err(e) = std::fs::rename(&incoming, database) {
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::rename(to, from);
        }
        let _ = std::fs::remove_file(&incoming);
        return Err(e).context("putting the backup in place; the database is as it was");
    }
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).ok();
    }
    let previous = moved
        .iter()
        .find(|(from, _)| from == database)
        .map(|(_, to)| to.clone());
    Ok(Restored { check, previous })
}

/// Copies `backup` to `to` (a new 0600 file), on disk, and checks the copy.
async fn copy_checked(backup: &Path, to: &Path) -> anyhow::Result<FileCheck> {
    let mut out = new_private_file(to).with_context(|| format!("creating {}", to.display()))?;
    let mut from = std::fs::File::open(backup).with_context(|| format!("reading {}", backup.display()))?;
    std::io::copy(&mut from, &mut out).context("copying the backup")?;
    out.sync_all()?;
    drop(out);
    let check = check_file(to)
        .await
        .with_context(|| format!("reading {} as a database", backup.display()))?;
    if !check.is_ok() {
        bail!(
            "{} failed its integrity check, nothing changed: {}",
            backup.display(),
            check.integrity
        );
    }
    Ok(check)
}
