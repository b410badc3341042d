//! Streaming read of referred orders for the buyers CSV export.

use super::{Store, StoreError};
use futures::{Stream, StreamExt};

/// Which orders to export.
#[derive(Debug, Clone)]
pub struct ExportFilter {
    pub org_id: i64,
    /// One event, or every event of the organization.
    pub event_id: Option<i64>,
}

/// One ticket-type line of a referred order, with buyer and promoter.
#[derive(Debug, Clone, sqlx::FromRow)]
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
}

impl Store {
    /// Streams the lines of orders referred by promoters, oldest first, in constant memory.
    pub fn export_rows<'a>(
        &'a self,
        filter: &'a ExportFilter,
    ) -> impl Stream<Item = Result<ExportRow, StoreError>> + Send + 'a {
        sqlx::query_as::<_, ExportRow>(
            "SELECT o.external_id AS order_id, o.ordered_at, e.slug AS event_slug, t.name AS ticket_type, \
               ol.quantity, ol.refunded_quantity, ol.unit_price_minor, o.currency, o.status, \
               o.buyer_name, o.buyer_email, o.buyer_phone, p.email AS promoter_email, p.display_name AS promoter_name, \
               l.code AS link_code, l.label AS link_label, o.self_referral \
             FROM orders o \
             JOIN events e ON e.id = o.event_id \
             JOIN order_lines ol ON ol.order_id = o.id \
             JOIN ticket_types t ON t.id = ol.ticket_type_id \
             JOIN links l ON l.id = o.link_id \
             JOIN memberships m ON m.id = o.membership_id \
             JOIN people p ON p.id = m.person_id \
             WHERE e.org_id = ?1 AND (?2 IS NULL OR o.event_id = ?2) \
             ORDER BY o.ordered_at, o.id, ol.line_no",
        )
        .bind(filter.org_id)
        .bind(filter.event_id)
        .fetch(self.pool())
        .map(|r| r.map_err(StoreError::from))
    }
}
