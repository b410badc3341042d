//! `[database]`: the SQLite file (the default) or a PostgreSQL URL, and how to name
//! the database in logs without its password.

use super::Config;
use serde::Deserialize;
use std::path::PathBuf;

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// The SQLite file.
    pub path: PathBuf,
    /// A PostgreSQL database (`postgres://user:password@host:port/name`) instead of the
    /// SQLite file; also from `PROMOTERD_DATABASE_URL`.
    pub url: Option<String>,
    /// Connections each daemon opens to PostgreSQL for reads (plus one for writes).
    pub pool_size: u32,
    /// `full`: every commit is on disk before it is acknowledged (survives power loss);
    /// `normal`: survives any crash of the process, may lose the last commits on power loss.
    pub synchronous: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: "promoterd.db".into(),
            url: None,
            pool_size: crate::store::PG_POOL_DEFAULT,
            synchronous: "full".into(),
        }
    }
}

impl Config {
    /// The database as logs and messages name it: the SQLite file, or the PostgreSQL
    /// URL without its password.
    pub fn database_name(&self) -> String {
        match self.database_url() {
            Some(url) => match url::Url::parse(&url) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    u.to_string()
                }
                Err(_) => "a PostgreSQL database (unreadable URL)".into(),
            },
            None => self.database_path().display().to_string(),
        }
    }

    /// The database file, resolved against the config's directory.
    pub fn database_path(&self) -> PathBuf {
        if self.database.path.is_absolute() {
            self.database.path.clone()
        } else {
            self.base_dir.join(&self.database.path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Config;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "x.toml", Path::new("/srv")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_postgres_url_is_named_without_its_password_and_other_urls_are_refused() {
        let c = parse("[database]\nurl = \"postgres://promoterd:s3cret@db.internal:5432/promo\"\n").unwrap();
        assert_eq!(c.database_name(), "postgres://promoterd:***@db.internal:5432/promo");
        assert!(!c.database_name().contains("s3cret"));
        let err = parse("[database]\nurl = \"mysql://db.internal/promo\"\n").unwrap_err();
        assert!(err.contains("database.url must be a postgres:// URL"), "{err}");
        let err = parse("[database]\nurl = \"postgres://db/promo\"\npool_size = 0\n").unwrap_err();
        assert!(err.contains("pool_size"), "{err}");
        assert_eq!(parse("").unwrap().database_name(), "/srv/promoterd.db");
    }

    #[test]
    fn scheduled_file_backups_are_refused_on_postgres() {
        let err = parse("[database]\nurl = \"postgres://db/promo\"\n[backup]\ndir = \"backups\"\n").unwrap_err();
        assert!(err.contains("pg_dump"), "{err}");
    }
}
