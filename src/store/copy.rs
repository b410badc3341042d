//! `promoterd migrate-db`: copies a SQLite database, in one consistent read, into an
//! empty PostgreSQL database in one transaction, and checks the copy (rows and the sum
//! of every integer column of every table) before it commits.

use super::{MIGRATOR, Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{Arguments, AssertSqlSafe, Connection, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a copy moved, per table: rows, and the sums of its integer columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(String, i64)>,
}

/// A column as PostgreSQL types it.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Time,
    Text,
    Bytes,
}

/// Rows per insert: PostgreSQL takes at most 65 535 arguments per statement.
fn batch_rows(columns: usize) -> usize {
    (60_000 / columns.max(1)).min(1000)
}

/// Copies the SQLite file `from` into the empty PostgreSQL database at `to`.
pub async fn copy_sqlite_to_postgres(from: &Path, to: &str) -> StoreResult<Copied> {
    let opts = SqliteConnectOptions::new().filename(from).read_only(true);
    let mut src = SqliteConnection::connect_with(&opts).await?;
    // One snapshot from the first read to the end.
    sqlx::query("BEGIN").execute(&mut src).await?;
    check_source_schema(&mut src).await?;
    let target = Store::open_postgres(to, 2).await?;
    target.migrate().await?;
    let super::Db::Postgres { writer, .. } = &target.db else {
        unreachable!("opened as PostgreSQL")
    };
    let mut tx = writer.begin().await?;
    let tables = table_order(&mut src).await?;
    refuse_non_empty(&mut tx, &tables).await?;
    let mut copied = Vec::new();
    for table in &tables {
        let columns = pg_columns(&mut tx, table).await?;
        sqlx::query(AssertSqlSafe(format!("ALTER TABLE \"{table}\" DISABLE TRIGGER USER")))
            .execute(&mut *tx)
            .await?;
        let rows = copy_table(&mut src, &mut tx, table, &columns).await?;
        sqlx::query(AssertSqlSafe(format!("ALTER TABLE \"{table}\" ENABLE TRIGGER USER")))
            .execute(&mut *tx)
            .await?;
        restart_identities(&mut tx, table).await?;
        verify(&mut src, &mut tx, table, &columns).await?;
        copied.push((table.clone(), rows));
    }
    tx.commit().await?;
    sqlx::query("ROLLBACK").execute(&mut src).await?;
    src.close().await?;
    target.close().await;
    Ok(Copied { tables: copied })
}

/// The source must have every SQLite migration of this release, and no newer one.
async fn check_source_schema(src: &mut SqliteConnection) -> StoreResult<()> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_optional(&mut *src)
        .await
        .map_err(|_| StoreError::Unsupported("the file is not a promoterd database (no migrations recorded)"))?
        .flatten();
    match applied {
        Some(v) if v == latest => Ok(()),
        Some(v) if v > latest => Err(StoreError::Unsupported(
            "the file was migrated by a newer promoterd: use that release to move it",
        )),
        _ => Err(StoreError::Unsupported(
            "the file's schema is older than this release's: run `promoterd migrate` on it first",
        )),
    }
}

/// The tables to copy (SQLite's own and the migrator's left out), each after the tables
/// its foreign keys name.
async fn table_order(src: &mut SqliteConnection) -> StoreResult<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *src)
    .await?;
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in &names {
        let parents: Vec<String> = sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list(?)")
            .bind(name)
            .fetch_all(&mut *src)
            .await?;
        needs.insert(name.clone(), parents.into_iter().filter(|p| p != name).collect());
    }
    let mut order = Vec::with_capacity(names.len());
    let mut done = BTreeSet::new();
    while order.len() < names.len() {
        let next: Vec<String> = names
            .iter()
            .filter(|n| !done.contains(*n) && needs[*n].iter().all(|p| done.contains(p)))
            .cloned()
            .collect();
        if next.is_empty() {
            return Err(StoreError::Corrupt("the tables' foreign keys form a cycle".into()));
        }
        for n in next {
            done.insert(n.clone());
            order.push(n);
        }
    }
    Ok(order)
}

async fn refuse_non_empty(tx: &mut sqlx::PgConnection, tables: &[String]) -> StoreResult<()> {
    for table in tables {
        let any: bool = sqlx::query_scalar(AssertSqlSafe(format!("SELECT EXISTS (SELECT 1 FROM \"{table}\")")))
            .fetch_one(&mut *tx)
            .await?;
        if any {
            return Err(StoreError::Unsupported(
                "the PostgreSQL database is not empty: migrate-db writes only into a new, empty database",
            ));
        }
    }
    Ok(())
}

async fn pg_columns(tx: &mut sqlx::PgConnection, table: &str) -> StoreResult<Vec<Column>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Err(StoreError::Corrupt(format!(
            "table {table} has no PostgreSQL counterpart"
        )));
    }
    rows.into_iter()
        .map(|(name, ty)| {
            let kind = match ty.as_str() {
                "bigint" => Kind::Int,
                "boolean" => Kind::Bool,
                "timestamp with time zone" => Kind::Time,
                "text" => Kind::Text,
                "bytea" => Kind::Bytes,
                other => return Err(StoreError::Corrupt(format!("{table}.{name}: unexpected type {other}"))),
            };
            Ok(Column { name, kind })
        })
        .collect()
}

/// Copies every row of one table; returns how many.
async fn copy_table(
    src: &mut SqliteConnection,
    tx: &mut sqlx::PgConnection,
    table: &str,
    columns: &[Column],
) -> StoreResult<i64> {
    use futures::TryStreamExt;
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("SELECT {names} FROM \"{table}\"");
    let per_batch = batch_rows(columns.len());
    let mut rows = sqlx::query(AssertSqlSafe(select)).fetch(&mut *src);
    let mut batch: Vec<SqliteRow> = Vec::with_capacity(per_batch);
    let mut n = 0i64;
    while let Some(row) = rows.try_next().await? {
        batch.push(row);
        if batch.len() == per_batch {
            n += insert(tx, table, &names, columns, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        n += insert(tx, table, &names, columns, &batch).await?;
    }
    Ok(n)
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    table: &str,
    names: &str,
    columns: &[Column],
    rows: &[SqliteRow],
) -> StoreResult<i64> {
    let mut args = PgArguments::default();
    let mut sql = format!("INSERT INTO \"{table}\" ({names}) OVERRIDING SYSTEM VALUE VALUES ");
    let mut p = 0;
    for (r, row) in rows.iter().enumerate() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (i, c) in columns.iter().enumerate() {
            p += 1;
            sql.push_str(&format!("{}${p}", if i == 0 { "" } else { ", " }));
            add(&mut args, row, i, c, table)?;
        }
        sql.push(')');
    }
    sqlx::query_with::<Postgres, _>(AssertSqlSafe(sql), args)
        .execute(&mut *tx)
        .await?;
    Ok(rows.len() as i64)
}

/// Binds one stored value as PostgreSQL types it: times from their RFC 3339 text, flags
/// from 0/1, the rest as they are; a value that does not fit fails the copy.
fn add(args: &mut PgArguments, row: &SqliteRow, i: usize, c: &Column, table: &str) -> StoreResult<()> {
    let bad = |e: String| StoreError::Corrupt(format!("{table}.{}: {e}", c.name));
    let added = match c.kind {
        Kind::Int => args.add(row.try_get::<Option<i64>, _>(i)?),
        Kind::Bool => {
            let v: Option<i64> = row.try_get(i)?;
            match v {
                None | Some(0) | Some(1) => args.add(v.map(|v| v == 1)),
                Some(other) => return Err(bad(format!("{other} is not a flag"))),
            }
        }
        Kind::Time => {
            let text: Option<String> = row.try_get(i)?;
            let time = match text {
                None => None,
                Some(t) => Some(
                    DateTime::parse_from_rfc3339(&t)
                        .map_err(|e| bad(format!("`{t}` is not a time: {e}")))?
                        .with_timezone(&Utc),
                ),
            };
            args.add(time)
        }
        Kind::Text => args.add(row.try_get::<Option<String>, _>(i)?),
        Kind::Bytes => args.add(row.try_get::<Option<Vec<u8>>, _>(i)?),
    };
    added.map_err(|e| StoreError::Encode(e.to_string()))
}

/// Starts each identity column after the largest id copied.
async fn restart_identities(tx: &mut sqlx::PgConnection, table: &str) -> StoreResult<()> {
    let identities: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?;
    for col in identities {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{col}'), \
             coalesce((SELECT max(\"{col}\") FROM \"{table}\"), 0) + 1, false)"
        )))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The copy of a table has the source's row count and the same sum in every integer
/// column (and as many true flags).
async fn verify(
    src: &mut SqliteConnection,
    tx: &mut sqlx::PgConnection,
    table: &str,
    columns: &[Column],
) -> StoreResult<()> {
    let mut sums = vec!["CAST(count(*) AS TEXT)".to_string()];
    for c in columns.iter().filter(|c| matches!(c.kind, Kind::Int | Kind::Bool)) {
        let n = &c.name;
        sums.push(match c.kind {
            Kind::Bool => format!("CAST(count(*) FILTER (WHERE \"{n}\") AS TEXT)"),
            _ => format!("coalesce(CAST(sum(\"{n}\") AS TEXT), '-')"),
        });
    }
    // One text for both: SQLite reads its 0/1 flags as truth values in the filter.
    let sql = format!("SELECT {} FROM \"{table}\"", sums.join(" || '/' || "));
    let want: String = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
        .fetch_one(&mut *src)
        .await?;
    let got: String = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *tx).await?;
    if want != got {
        return Err(StoreError::Corrupt(format!(
            "the copy of {table} differs: rows and sums {got} where the source has {want}"
        )));
    }
    Ok(())
}
