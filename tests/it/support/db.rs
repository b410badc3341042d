//! A raw connection to a test's database (SQLite or PostgreSQL) for checks the store
//! has no function for.

use super::TestApp;

/// A raw connection to a test's database, on SQLite or PostgreSQL, for checks the store
/// has no function for (a recount, a row as stored). Its SQL must be valid on both:
/// `$1` placeholders, `CAST(sum(x) AS BIGINT)`, named subqueries.
pub enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A column type both databases can read.
pub trait Both:
    for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + Send
    + Unpin
{
}
impl<T> Both for T where
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + Unpin
{
}

/// A row type both databases can read.
pub trait BothRow:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin
{
}
impl<T> BothRow for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

impl TestApp {
    /// A raw connection to this app's database.
    pub async fn db(&self) -> Db {
        let cfg = self.config();
        match cfg.database_url() {
            Some(url) => Db::Postgres(sqlx::PgPool::connect(&url).await.unwrap()),
            None => Db::Sqlite(
                sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(cfg.database_path()))
                    .await
                    .unwrap(),
            ),
        }
    }
}

impl Db {
    /// Runs a statement with text arguments; how many rows it changed.
    pub async fn exec(&self, sql: &str, args: &[&str]) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Db::Sqlite(p) => args
                .iter()
                .fold(sqlx::query(sql), |q, a| q.bind(a.to_string()))
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
            Db::Postgres(p) => args
                .iter()
                .fold(sqlx::query(sql), |q, a| q.bind(a.to_string()))
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
        }
    }

    /// The first column of the one row a query returns, with text arguments.
    pub async fn scalar<T: Both>(&self, sql: &str, args: &[&str]) -> T {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Db::Sqlite(p) => args
                .iter()
                .fold(sqlx::query_scalar(sql), |q, a| q.bind(a.to_string()))
                .fetch_one(p)
                .await
                .unwrap(),
            Db::Postgres(p) => args
                .iter()
                .fold(sqlx::query_scalar(sql), |q, a| q.bind(a.to_string()))
                .fetch_one(p)
                .await
                .unwrap(),
        }
    }

    /// Every row a query returns.
    pub async fn rows<T: BothRow>(&self, sql: &str) -> Vec<T> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
            Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        }
    }

    pub async fn close(self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}
