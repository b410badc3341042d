//! Streaming read of referred orders for the buyers CSV export.

use super::sql::{query_as, ts};
use super::{Store, StoreError, shown_link_label};
use crate::domain::{EventId, OrderStatus, OrgId};
use crate::text::FastHash;
use chrono::{DateTime, Utc};
use futures::{Stream, TryStreamExt};
use std::collections::HashMap;
use std::sync::Arc;

/// Which orders to export.
#[derive(Debug, Clone)]
pub struct ExportFilter {
    pub org_id: OrgId,
    /// One event, or every event of the organization.
    pub event_id: Option<EventId>,
}

/// One ticket-type line of a referred order, with buyer and promoter.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub order_id: String,
    pub ordered_at: DateTime<Utc>,
    pub event_slug: Arc<str>,
    pub ticket_type: Arc<str>,
    pub quantity: i64,
    pub refunded_quantity: i64,
    /// What the line's tickets not refunded bring, less money refunded beyond them.
    pub amount_minor: i64,
    pub currency: String,
    pub status: OrderStatus,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    /// The promoter as shown: `Name <email>`, or the address alone.
    pub promoter: Arc<str>,
    pub link_code: Arc<str>,
    pub link_label: Arc<str>,
    pub self_referral: bool,
    /// The order's internal id and the line's number: the row's place in the export.
    pub order_key: i64,
    pub line_no: i64,
}

/// Orders per page: each page crosses from SQLite's thread as one JSON text, so a
/// million rows cost a few hundred hand-overs instead of a million.
const PAGE: i64 = 2000;

/// Referred orders after the key `(?3, ?4)` with their lines, as one JSON array of
/// ids and order fields; names come from [`Lookups`]. `{orders}` selects the filter
/// and the index that serves it; `CROSS JOIN` keeps SQLite starting from the page. An
/// order whose buyer data was erased shows `(erased <date>)` as the buyer's name.
const PAGE_SQL: &str = "WITH page AS MATERIALIZED ( \
       SELECT o.id, o.ordered_at, o.external_id, o.event_id, o.link_id, o.membership_id, o.currency, o.status, \
         CASE WHEN o.buyer_erased_at IS NULL THEN o.buyer_name \
           ELSE '(erased ' || substr(o.buyer_erased_at, 1, 10) || ')' END AS buyer_name, \
         o.buyer_email, o.buyer_phone, o.self_referral FROM {orders} \
       AND o.link_id IS NOT NULL AND o.membership_id IS NOT NULL AND (o.ordered_at, o.id) > (?3, ?4) \
       ORDER BY o.ordered_at, o.id LIMIT ?5) \
     SELECT (SELECT count(*) FROM page), \
       (SELECT ordered_at FROM page ORDER BY ordered_at DESC, id DESC LIMIT 1), \
       (SELECT id FROM page ORDER BY ordered_at DESC, id DESC LIMIT 1), \
       (SELECT json_group_array(json_array(p.external_id, p.ordered_at, p.event_id, ol.ticket_type_id, \
          ol.quantity, ol.refunded_quantity, \
          (ol.quantity - ol.refunded_quantity) * ol.unit_price_minor - ol.refunded_minor, p.currency, p.status, p.buyer_name, \
          p.buyer_email, p.buyer_phone, p.membership_id, p.link_id, p.self_referral, p.id, ol.line_no)) \
        FROM page p CROSS JOIN order_lines ol ON ol.order_id = p.id)";

/// [`PAGE_SQL`] for PostgreSQL: its JSON functions (the array as text), the erasure
/// date from the time, the self-referral flag as 0/1 and a plain join (`CROSS JOIN`
/// takes no `ON` there).
const PAGE_SQL_PG: &str = "WITH page AS MATERIALIZED ( \
       SELECT o.id, o.ordered_at, o.external_id, o.event_id, o.link_id, o.membership_id, o.currency, o.status, \
         CASE WHEN o.buyer_erased_at IS NULL THEN o.buyer_name \
           ELSE '(erased ' || to_char(o.buyer_erased_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ')' END AS buyer_name, \
         o.buyer_email, o.buyer_phone, o.self_referral FROM {orders} \
       AND o.link_id IS NOT NULL AND o.membership_id IS NOT NULL AND (o.ordered_at, o.id) > (?3, ?4) \
       ORDER BY o.ordered_at, o.id LIMIT ?5) \
     SELECT (SELECT count(*) FROM page), \
       (SELECT ordered_at FROM page ORDER BY ordered_at DESC, id DESC LIMIT 1), \
       (SELECT id FROM page ORDER BY ordered_at DESC, id DESC LIMIT 1), \
       (SELECT CAST(json_agg(json_build_array(p.external_id, p.ordered_at, p.event_id, ol.ticket_type_id, \
          ol.quantity, ol.refunded_quantity, \
          (ol.quantity - ol.refunded_quantity) * ol.unit_price_minor - ol.refunded_minor, p.currency, p.status, \
          p.buyer_name, p.buyer_email, p.buyer_phone, p.membership_id, p.link_id, CAST(p.self_referral AS INT), p.id, \
          ol.line_no)) AS TEXT) \
        FROM page p JOIN order_lines ol ON ol.order_id = p.id)";

/// The key before every order's: `(?3, ?4)` of the first page (stored times sort after it).
fn first_key() -> (DateTime<Utc>, i64) {
    (DateTime::from_timestamp(-62_135_596_800, 0).unwrap_or_default(), 0) // 0001-01-01T00:00:00Z
}

/// A line as a page carries it: ids where the export shows names.
#[derive(serde::Deserialize)]
struct PageRow(
    String,
    #[serde(deserialize_with = "stored_time")] DateTime<Utc>,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    #[serde(deserialize_with = "order_status")] OrderStatus,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    i64,
);

/// A stored time inside a page; anything but RFC 3339 fails the page as corrupt.
fn stored_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = <&str as serde::Deserialize>::deserialize(d)?;
    crate::clock::parse_stored(text).map_err(|e| serde::de::Error::custom(format!("time `{text}`: {e}")))
}

/// A stored order status inside a page; an unknown word fails the page as corrupt.
fn order_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OrderStatus, D::Error> {
    let word = <String as serde::Deserialize>::deserialize(d)?;
    OrderStatus::from_stored(&word).map_err(serde::de::Error::custom)
}

type IdMap<V> = HashMap<i64, V, FastHash>;

/// The organization's small tables, read once per export: event slugs, ticket type
/// names, link codes and labels, promoters' addresses and names.
#[derive(Default)]
struct Lookups {
    events: IdMap<Arc<str>>,
    types: IdMap<Arc<str>>,
    links: IdMap<(Arc<str>, Arc<str>)>,
    promoters: IdMap<Arc<str>>,
}

impl Lookups {
    /// The row with its names; `None` (and `p` untouched) when a name is not known.
    fn row(&self, p: &mut Option<PageRow>) -> Option<ExportRow> {
        let q = p.as_ref()?;
        let (Some(event), Some(ticket_type), Some(promoter), Some((link_code, link_label))) = (
            self.events.get(&q.2),
            self.types.get(&q.3),
            self.promoters.get(&q.12),
            self.links.get(&q.13),
        ) else {
            return None;
        };
        let p = p.take()?;
        Some(ExportRow {
            order_id: p.0,
            ordered_at: p.1,
            event_slug: event.clone(),
            ticket_type: ticket_type.clone(),
            quantity: p.4,
            refunded_quantity: p.5,
            amount_minor: p.6,
            currency: p.7,
            status: p.8,
            buyer_name: p.9,
            buyer_email: p.10,
            buyer_phone: p.11,
            promoter: promoter.clone(),
            link_code: link_code.clone(),
            link_label: link_label.clone(),
            self_referral: p.14 == 1,
            order_key: p.15,
            line_no: p.16,
        })
    }
}

impl Store {
    /// Streams the lines of orders referred by promoters, oldest first. Three stages run
    /// at once, each at most two pages ahead of the next: SQLite reads a page, a task
    /// decodes it, and the caller writes it; memory stays bounded by a few pages.
    pub fn export_rows(
        &self,
        filter: &ExportFilter,
    ) -> impl Stream<Item = Result<ExportRow, StoreError>> + Send + 'static {
        let orders = match filter.event_id {
            Some(_) => "orders o WHERE o.event_id = ?2 AND ?1 IS NOT NULL",
            None => "orders o JOIN events e ON e.id = o.event_id WHERE e.org_id = ?1 AND ?2 IS NULL",
        };
        let sql = (
            PAGE_SQL.replace("{orders}", orders),
            PAGE_SQL_PG.replace("{orders}", orders),
        );
        let (json_tx, mut json_rx) = tokio::sync::mpsc::channel::<Result<String, StoreError>>(2);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<ExportRow>, StoreError>>(2);
        // Reading: the next page's key comes with the page, so the next read starts at once.
        let (store, f) = (self.clone(), filter.clone());
        tokio::spawn(async move {
            let mut after = first_key();
            loop {
                match store.export_page(&sql, &f, &after).await {
                    Ok((json, next)) => {
                        if !json.is_empty() && json_tx.send(Ok(json)).await.is_err() {
                            return; // the export went away
                        }
                        match next {
                            Some(n) => after = n,
                            None => return,
                        }
                    }
                    Err(e) => {
                        let _ = json_tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        });
        // Decoding: ids to names, in export order.
        let (store, org_id) = (self.clone(), filter.org_id);
        tokio::spawn(async move {
            let mut lookups = match store.export_lookups(org_id).await {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            while let Some(page) = json_rx.recv().await {
                let rows = match page {
                    Ok(json) => store.export_decode(&json, org_id, &mut lookups).await,
                    Err(e) => Err(e),
                };
                let failed = rows.is_err();
                if tx.send(rows).await.is_err() || failed {
                    return;
                }
            }
        });
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|page| (page, rx)) })
            .map_ok(|rows| futures::stream::iter(rows.into_iter().map(Ok)))
            .try_flatten()
    }

    async fn export_lookups(&self, org_id: OrgId) -> Result<Lookups, StoreError> {
        let mut l = Lookups::default();
        let events: Vec<(i64, String)> = query_as("SELECT id, slug FROM events WHERE org_id = ?")
            .bind(org_id)
            .fetch_all(self.pool())
            .await?;
        l.events.extend(events.into_iter().map(|(id, slug)| (id, slug.into())));
        let types: Vec<(i64, String)> =
            query_as("SELECT t.id, t.name FROM ticket_types t JOIN events e ON e.id = t.event_id WHERE e.org_id = ?")
                .bind(org_id)
                .fetch_all(self.pool())
                .await?;
        l.types.extend(types.into_iter().map(|(id, name)| (id, name.into())));
        let links: Vec<(i64, String, String, Option<String>)> =
            query_as("SELECT id, code, label, sub_promoter FROM links WHERE org_id = ?")
                .bind(org_id)
                .fetch_all(self.pool())
                .await?;
        l.links.extend(
            links
                .into_iter()
                .map(|(id, code, label, sub)| (id, (code.into(), shown_link_label(&label, sub.as_deref()).into()))),
        );
        let promoters: Vec<(i64, String, Option<String>)> = query_as(
            "SELECT m.id, p.email, p.display_name FROM memberships m JOIN people p ON p.id = m.person_id \
             WHERE m.org_id = ?",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        l.promoters.extend(promoters.into_iter().map(|(id, email, name)| {
            let shown = match name {
                Some(n) => format!("{n} <{email}>"),
                None => email,
            };
            (id, shown.into())
        }));
        Ok(l)
    }

    /// One page after the key `after`, as JSON (empty when there is none), and the key
    /// to go on from (none after the last page).
    async fn export_page(
        &self,
        sql: &(String, String),
        filter: &ExportFilter,
        after: &(DateTime<Utc>, i64),
    ) -> Result<(String, Option<(DateTime<Utc>, i64)>), StoreError> {
        let (n, last_at, last_id, json): (i64, Option<DateTime<Utc>>, Option<i64>, Option<String>) =
            query_as(sql.0.clone())
                .pg(sql.1.clone())
                .bind(filter.org_id)
                .bind(filter.event_id)
                .bind(ts(after.0))
                .bind(after.1)
                .bind(PAGE)
                .fetch_one(self.pool())
                .await?;
        let next = (n == PAGE).then(|| (last_at.unwrap_or_default(), last_id.unwrap_or_default()));
        Ok((
            if n == 0 {
                String::new()
            } else {
                json.unwrap_or_default()
            },
            next,
        ))
    }

    /// A page's rows in export order, with names.
    async fn export_decode(
        &self,
        json: &str,
        org_id: OrgId,
        lookups: &mut Lookups,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let page: Vec<PageRow> = serde_json::from_str(json)
            .map_err(|e| StoreError::Corrupt(format!("an export page did not decode: {e}")))?;
        let mut rows = Vec::with_capacity(page.len());
        let mut reloaded = false;
        for p in page {
            let mut p = Some(p);
            if let Some(row) = lookups.row(&mut p) {
                rows.push(row);
                continue;
            }
            // A ticket type, link or promoter added since the export began: read names again.
            if !reloaded {
                *lookups = self.export_lookups(org_id).await?;
                reloaded = true;
            }
            match (lookups.row(&mut p), p) {
                (Some(row), _) => rows.push(row),
                (None, p) => {
                    let ids = p.map(|p| (p.2, p.3, p.12, p.13)).unwrap_or_default();
                    return Err(StoreError::Corrupt(format!(
                        "export: event {}, ticket type {}, membership {} or link {} not found",
                        ids.0, ids.1, ids.2, ids.3
                    )));
                }
            }
        }
        rows.sort_by(|a, b| (&a.ordered_at, a.order_key, a.line_no).cmp(&(&b.ordered_at, b.order_key, b.line_no)));
        Ok(rows)
    }
}
