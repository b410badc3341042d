//! Every row of every table as text, on either database: what "changed nothing" checks compare.

use super::sql::{query_as, query_scalar};
use super::{Store, StoreResult};

/// Every row of every table as text, in a stable order: tests compare two dumps to
/// prove that a refused request changed nothing.
pub async fn dump(store: &Store) -> StoreResult<String> {
    let pg = store.is_postgres();
    let names: Vec<String> = query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY name",
    )
    .pg("SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1")
    .fetch_all(store.pool())
    .await?;
    let mut out = String::new();
    for name in names {
        let cols: Vec<(String, String)> = query_as("SELECT name, type FROM pragma_table_info(?) ORDER BY cid")
            .pg(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(&name)
            .fetch_all(store.pool())
            .await?;
        // Each value as SQLite's quote() shows it: numbers bare, text quoted, NULL.
        let row = cols
            .iter()
            .map(|(c, ty)| match (pg, ty.as_str()) {
                (false, _) => format!("quote(\"{c}\")"),
                (true, "bigint") => format!("coalesce(CAST(\"{c}\" AS TEXT), 'NULL')"),
                (true, "boolean") => format!("coalesce(CAST(CAST(\"{c}\" AS INT) AS TEXT), 'NULL')"),
                (true, "timestamp with time zone") => {
                    format!("coalesce(quote_literal(to_char(\"{c}\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')), 'NULL')")
                }
                (true, _) => format!("quote_nullable(\"{c}\")"),
            })
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        // Table and column names come from the catalogue, not from input.
        let rows: Vec<String> = query_scalar(format!("SELECT {row} FROM \"{name}\" ORDER BY 1"))
            .fetch_all(store.pool())
            .await?;
        out.push_str(&format!("## {name}\n"));
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    Ok(out)
}
