//! One statement for both databases: its SQL text (shared where SQLite and PostgreSQL
//! agree, with a PostgreSQL text beside it where they differ), its arguments bound once.

mod bind;
mod builder;

pub(crate) use bind::{Arg, AtMs, Bind, ts, ts_ms};
pub(crate) use builder::QueryBuilder;

use super::{StoreError, StoreResult};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Decode, FromRow, Type};
use std::marker::PhantomData;

/// Where a statement runs: a pool (read or write) or an open transaction, of either database.
pub(crate) enum On<'c> {
    SqlitePool(&'c SqlitePool),
    SqliteConn(&'c mut SqliteConnection),
    PgPool(&'c PgPool),
    PgConn(&'c mut PgConnection),
}

/// SQL text: a literal (prepared once and cached by sqlx) or built at run time.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Static(&'static str),
    Owned(String),
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Self {
        Text::Static(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Owned(s)
    }
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Owned(s) => s,
        }
    }
}

/// Rewrites SQLite's `?` and `?N` placeholders as PostgreSQL's `$N` (outside quotes and
/// comments), numbering a bare `?` as SQLite does: one past the largest number so far.
pub(crate) fn pg_placeholders(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut i = 0;
    let mut largest = 0u32;
    let mut from = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'?' => {
                out.push_str(&sql[from..i]);
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let n = if digits > 0 {
                    sql[i + 1..i + 1 + digits].parse::<u32>().unwrap_or(0)
                } else {
                    largest + 1
                };
                largest = largest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
                i += 1 + digits;
                from = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[from.min(sql.len())..]);
    out
}

/// The parts every statement has: texts and arguments.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    text: Text,
    pg: Option<Text>,
    args: Vec<Arg>,
}

impl Parts {
    fn new(text: Text) -> Self {
        Parts {
            text,
            pg: None,
            args: Vec::new(),
        }
    }

    fn sqlite(self) -> StoreResult<(Text, SqliteArguments)> {
        let mut a = SqliteArguments::default();
        for arg in self.args {
            arg.add_sqlite(&mut a).map_err(|e| StoreError::Encode(e.to_string()))?;
        }
        Ok((self.text, a))
    }

    fn pg(self) -> StoreResult<(String, PgArguments)> {
        let mut a = PgArguments::default();
        for arg in self.args {
            arg.add_pg(&mut a).map_err(|e| StoreError::Encode(e.to_string()))?;
        }
        let text = match self.pg {
            Some(t) => pg_placeholders(t.as_str()),
            None => pg_placeholders(self.text.as_str()),
        };
        Ok((text, a))
    }
}

/// sqlx's query functions over one of our texts.
macro_rules! with_text {
    ($f:path, $text:expr, $args:expr) => {
        match $text {
            Text::Static(s) => $f(s, $args),
            Text::Owned(s) => $f(AssertSqlSafe(s), $args),
        }
    };
}

/// A statement whose rows are not read.
#[derive(Debug, Clone)]
pub(crate) struct Query(pub(super) Parts);

/// The outcome of a statement that changes rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done(u64);

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0
    }
}

/// A statement (shared text; see [`Query::pg`] for PostgreSQL's own).
pub(crate) fn query(text: impl Into<Text>) -> Query {
    Query(Parts::new(text.into()))
}

/// A statement whose rows are read as `T`.
pub(crate) fn query_as<T>(text: impl Into<Text>) -> QueryAs<T> {
    QueryAs(Parts::new(text.into()), PhantomData)
}

/// A statement whose first column is read as `T`.
pub(crate) fn query_scalar<T>(text: impl Into<Text>) -> QueryScalar<T> {
    QueryScalar(Parts::new(text.into()), PhantomData)
}

/// A row type both databases can read.
pub(crate) trait BothRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> BothRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A column type both databases can read.
pub(crate) trait BothScalar:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin
{
}
impl<T> BothScalar for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin
{
}

macro_rules! builder_methods {
    () => {
        /// Binds the next argument.
        pub(crate) fn bind(mut self, v: impl Bind) -> Self {
            self.0.args.push(v.arg());
            self
        }

        /// PostgreSQL's own text of this statement (placeholders as in the shared one).
        pub(crate) fn pg(mut self, text: impl Into<Text>) -> Self {
            self.0.pg = Some(text.into());
            self
        }
    };
}

/// A statement whose rows are read as `T`.
#[derive(Debug, Clone)]
pub(crate) struct QueryAs<T>(pub(super) Parts, pub(super) PhantomData<fn() -> T>);
/// A statement whose first column is read as `T`.
#[derive(Debug, Clone)]
pub(crate) struct QueryScalar<T>(Parts, PhantomData<fn() -> T>);

impl Query {
    builder_methods!();

    /// Runs the statement; how many rows it changed.
    pub(crate) async fn execute<'c>(self, on: impl Into<On<'c>>) -> StoreResult<Done> {
        let n = match on.into() {
            On::SqlitePool(p) => {
                let (t, a) = self.0.sqlite()?;
                with_text!(sqlx::query_with, t, a).execute(p).await?.rows_affected()
            }
            On::SqliteConn(c) => {
                let (t, a) = self.0.sqlite()?;
                with_text!(sqlx::query_with, t, a).execute(c).await?.rows_affected()
            }
            On::PgPool(p) => {
                let (t, a) = self.0.pg()?;
                sqlx::query_with(AssertSqlSafe(t), a).execute(p).await?.rows_affected()
            }
            On::PgConn(c) => {
                let (t, a) = self.0.pg()?;
                sqlx::query_with(AssertSqlSafe(t), a).execute(c).await?.rows_affected()
            }
        };
        Ok(Done(n))
    }
}

/// Runs a typed query on either database with one fetch method.
macro_rules! fetch {
    ($self:ident, $on:ident, $make:path, $method:ident) => {
        match $on.into() {
            On::SqlitePool(p) => {
                let (t, a) = $self.0.sqlite()?;
                with_text!($make, t, a).$method(p).await?
            }
            On::SqliteConn(c) => {
                let (t, a) = $self.0.sqlite()?;
                with_text!($make, t, a).$method(c).await?
            }
            On::PgPool(p) => {
                let (t, a) = $self.0.pg()?;
                $make(AssertSqlSafe(t), a).$method(p).await?
            }
            On::PgConn(c) => {
                let (t, a) = $self.0.pg()?;
                $make(AssertSqlSafe(t), a).$method(c).await?
            }
        }
    };
}

impl<T: BothRow> QueryAs<T> {
    builder_methods!();

    pub(crate) async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> StoreResult<Vec<T>> {
        Ok(fetch!(self, on, sqlx::query_as_with, fetch_all))
    }

    pub(crate) async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> StoreResult<T> {
        Ok(fetch!(self, on, sqlx::query_as_with, fetch_one))
    }

    pub(crate) async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> StoreResult<Option<T>> {
        Ok(fetch!(self, on, sqlx::query_as_with, fetch_optional))
    }

    /// The rows as they come, never all held at once.
    pub(crate) fn fetch<'c>(self, on: impl Into<On<'c>>) -> BoxStream<'c, StoreResult<T>>
    where
        T: 'c,
    {
        let on = on.into();
        let stream = match on {
            On::SqlitePool(p) => self
                .0
                .sqlite()
                .map(|(t, a)| with_text!(sqlx::query_as_with, t, a).fetch(p)),
            On::SqliteConn(c) => self
                .0
                .sqlite()
                .map(|(t, a)| with_text!(sqlx::query_as_with, t, a).fetch(c)),
            On::PgPool(p) => self
                .0
                .pg()
                .map(|(t, a)| sqlx::query_as_with(AssertSqlSafe(t), a).fetch(p)),
            On::PgConn(c) => self
                .0
                .pg()
                .map(|(t, a)| sqlx::query_as_with(AssertSqlSafe(t), a).fetch(c)),
        };
        match stream {
            Ok(s) => s.map_err(StoreError::from).boxed(),
            Err(e) => futures::stream::once(async { Err(e) }).boxed(),
        }
    }
}

impl<T: BothScalar> QueryScalar<T> {
    builder_methods!();

    pub(crate) async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> StoreResult<Vec<T>> {
        Ok(fetch!(self, on, sqlx::query_scalar_with, fetch_all))
    }

    pub(crate) async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> StoreResult<T> {
        Ok(fetch!(self, on, sqlx::query_scalar_with, fetch_one))
    }

    pub(crate) async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> StoreResult<Option<T>> {
        Ok(fetch!(self, on, sqlx::query_scalar_with, fetch_optional))
    }
}

#[cfg(test)]
mod tests {
    use super::pg_placeholders;

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(pg_placeholders("SELECT ?, ?"), "SELECT $1, $2");
        assert_eq!(
            pg_placeholders("a = ?1 OR b = ?1 AND c = ?"),
            "a = $1 OR b = $1 AND c = $2"
        );
        assert_eq!(pg_placeholders("x = ?3, y = ?"), "x = $3, y = $4");
        assert_eq!(pg_placeholders("'?' || \"a?\" -- ?\n ?"), "'?' || \"a?\" -- ?\n $1");
        assert_eq!(pg_placeholders("$1 + $2"), "$1 + $2");
    }
}
