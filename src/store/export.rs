//! Streaming read of referred orders for the buyers CSV export.

use super::{Store, StoreError};
use futures::{Stream, TryStreamExt};

/// Which orders to export.
#[derive(Debug, Clone)]
pub struct ExportFilter {
    pub org_id: i64,
    /// One event, or every event of the organization.
    pub event_id: Option<i64>,
}

/// One ticket-type line of a referred order, with buyer and promoter.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ExportRow {
    pub order_id: String,
    pub ordered_at: String,
    pub event_slug: String,
    pub ticket_type: String,
    pub quantity: i64,
    pub refunded_quantity: i64,
    pub unit_price_minor: i64,
    pub currency: String,
    pub status: String,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    pub promoter_email: String,
    pub promoter_name: Option<String>,
    pub link_code: String,
    pub link_label: String,
    pub self_referral: bool,
    /// The order's internal id and the line's number: the row's place in the export.
    pub order_key: i64,
    pub line_no: i64,
}

/// Orders per page: each page crosses from SQLite's thread as one JSON text, so a
/// million rows cost a few hundred hand-overs instead of a million.
const PAGE: i64 = 2000;

/// Referred orders after the key `(?3, ?4)`, then their lines as one JSON array
/// (`CROSS JOIN` keeps SQLite from starting anywhere but the page).
/// `{orders}` selects the filter and the index that serves it.
const PAGE_SQL: &str = "WITH page AS MATERIALIZED ( \
       SELECT o.id, o.ordered_at FROM {orders} \
       AND o.link_id IS NOT NULL AND o.membership_id IS NOT NULL AND (o.ordered_at, o.id) > (?3, ?4) \
       ORDER BY o.ordered_at, o.id LIMIT ?5) \
     SELECT (SELECT count(*) FROM page), \
       (SELECT ordered_at FROM page ORDER BY ordered_at DESC, id DESC LIMIT 1), \
       (SELECT id FROM page ORDER BY ordered_at DESC, id DESC LIMIT 1), \
       (SELECT json_group_array(json_array(o.external_id, o.ordered_at, e.slug, t.name, ol.quantity, \
          ol.refunded_quantity, ol.unit_price_minor, o.currency, o.status, o.buyer_name, o.buyer_email, \
          o.buyer_phone, p.email, p.display_name, l.code, l.label, \
          CASE WHEN o.self_referral = 1 THEN json('true') ELSE json('false') END, o.id, ol.line_no)) \
        FROM page CROSS JOIN orders o ON o.id = page.id CROSS JOIN events e ON e.id = o.event_id \
        CROSS JOIN order_lines ol ON ol.order_id = o.id CROSS JOIN ticket_types t ON t.id = ol.ticket_type_id \
        CROSS JOIN links l ON l.id = o.link_id CROSS JOIN memberships m ON m.id = o.membership_id \
        CROSS JOIN people p ON p.id = m.person_id)";

struct Cursor {
    after: (String, i64),
    done: bool,
}

impl Store {
    /// Streams the lines of orders referred by promoters, oldest first, a page at a
    /// time (memory stays bounded by one page).
    pub fn export_rows<'a>(
        &'a self,
        filter: &'a ExportFilter,
    ) -> impl Stream<Item = Result<ExportRow, StoreError>> + Send + 'a {
        let orders = match filter.event_id {
            Some(_) => "orders o WHERE o.event_id = ?2 AND ?1 IS NOT NULL",
            None => "orders o JOIN events e ON e.id = o.event_id WHERE e.org_id = ?1 AND ?2 IS NULL",
        };
        let sql = PAGE_SQL.replace("{orders}", orders);
        let start = Cursor {
            after: (String::new(), 0),
            done: false,
        };
        futures::stream::try_unfold(start, move |cursor| {
            let sql = sql.clone();
            async move {
                if cursor.done {
                    return Ok::<_, StoreError>(None);
                }
                let (n, last_at, last_id, json): (i64, Option<String>, Option<i64>, Option<String>) =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(filter.org_id)
                        .bind(filter.event_id)
                        .bind(&cursor.after.0)
                        .bind(cursor.after.1)
                        .bind(PAGE)
                        .fetch_one(self.pool())
                        .await?;
                let mut rows: Vec<ExportRow> = match json {
                    Some(j) => serde_json::from_str(&j)
                        .map_err(|e| StoreError::Corrupt(format!("an export page did not decode: {e}")))?,
                    None => Vec::new(),
                };
                rows.sort_by(|a, b| {
                    (&a.ordered_at, a.order_key, a.line_no).cmp(&(&b.ordered_at, b.order_key, b.line_no))
                });
                let next = Cursor {
                    after: (last_at.unwrap_or_default(), last_id.unwrap_or_default()),
                    done: n < PAGE,
                };
                Ok(Some((futures::stream::iter(rows.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
    }
}
