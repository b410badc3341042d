//! Ticket types of an event: created by organizers or on an order's first sight,
//! renamed, repriced, and removed while no order line uses them.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, TicketTypeRow, WriteTx};
use crate::domain::{EventId, TicketTypeId};
use chrono::{DateTime, Utc};

/// A ticket type with how much it sold.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketTypeUse {
    pub id: TicketTypeId,
    pub name: String,
    pub price_minor: Option<i64>,
    /// Order lines that name this ticket type (any status).
    pub order_lines: i64,
}

impl Store {
    /// Adds a ticket type; `None` when the event already has one of that name.
    pub async fn create_ticket_type(
        &self,
        tx: &mut WriteTx,
        event_id: EventId,
        name: &str,
        price_minor: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TicketTypeId>> {
        query_scalar(
            "INSERT INTO ticket_types (event_id, name, price_minor, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (event_id, name) DO NOTHING RETURNING id",
        )
        .bind(event_id)
        .bind(name)
        .bind(price_minor)
        .bind(ts(now))
        .fetch_optional(&mut **tx)
        .await
    }

    /// Ticket types of an event, in creation order.
    pub async fn ticket_types(&self, event_id: EventId) -> StoreResult<Vec<TicketTypeRow>> {
        query_as("SELECT id, event_id, name, price_minor FROM ticket_types WHERE event_id = ? ORDER BY id")
            .bind(event_id)
            .fetch_all(self.pool())
            .await
    }

    /// Ticket types of an event with the number of order lines of each, in creation order.
    pub async fn ticket_type_uses(&self, event_id: EventId) -> StoreResult<Vec<TicketTypeUse>> {
        query_as(
            "SELECT t.id, t.name, t.price_minor, \
             (SELECT count(*) FROM order_lines ol WHERE ol.ticket_type_id = t.id) AS order_lines \
             FROM ticket_types t WHERE t.event_id = ? ORDER BY t.id",
        )
        .bind(event_id)
        .fetch_all(self.pool())
        .await
    }

    /// Renames a ticket type; `false` when the event has another one of that name
    /// (ignoring case, as orders match names).
    pub async fn rename_ticket_type(&self, tx: &mut WriteTx, id: TicketTypeId, name: &str) -> StoreResult<bool> {
        let taken: Option<i64> = query_scalar(
            "SELECT o.id FROM ticket_types o JOIN ticket_types t ON t.event_id = o.event_id \
             WHERE t.id = ? AND o.id <> t.id AND lower(o.name) = lower(?)",
        )
        .bind(id)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
        if taken.is_some() {
            return Ok(false);
        }
        query("UPDATE ticket_types SET name = ? WHERE id = ?")
            .bind(name)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    /// Sets the listed price of a ticket type (orders keep the price they were paid at).
    pub async fn set_ticket_price(&self, tx: &mut WriteTx, id: TicketTypeId, price_minor: i64) -> StoreResult<()> {
        query("UPDATE ticket_types SET price_minor = ? WHERE id = ?")
            .bind(price_minor)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Removes a ticket type no order line uses; `false` (and nothing removed) when
    /// one does, decided in the same statement.
    /// Commission rules of that type go with it (no sale of it ever earned by them).
    pub async fn remove_unused_ticket_type(&self, tx: &mut WriteTx, id: TicketTypeId) -> StoreResult<bool> {
        query(
            "DELETE FROM commission_rules WHERE ticket_type_id = ? \
             AND NOT EXISTS (SELECT 1 FROM order_lines WHERE ticket_type_id = ?)",
        )
        .bind(id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        let done = query(
            "DELETE FROM ticket_types WHERE id = ? \
             AND NOT EXISTS (SELECT 1 FROM order_lines WHERE ticket_type_id = ?)",
        )
        .bind(id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
