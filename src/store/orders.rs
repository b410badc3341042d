//! Orders from the checkout: one upsert path for the webhook and CSV import.

use super::sql::{AtMs, query, query_as, query_scalar, ts, ts_ms};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{EventId, MembershipId, OrderId, OrderInput, OrderStatus, TicketTypeId};
use chrono::{DateTime, Utc};

/// What applying an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// A new order was stored.
    Created(OrderId),
    /// An existing order was brought up to date.
    Updated(OrderId),
    /// Nothing changed: the same or an older state than the one stored.
    Unchanged(OrderId),
    /// A refund or cancellation for an order not seen yet: kept until it arrives.
    Pending,
    /// The order contradicts what is stored (e.g. another event); nothing may change.
    Conflict(String),
}

impl IngestOutcome {
    /// The stable name used in API answers and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            IngestOutcome::Created(_) => "created",
            IngestOutcome::Updated(_) => "updated",
            IngestOutcome::Unchanged(_) => "unchanged",
            IngestOutcome::Pending => "pending",
            IngestOutcome::Conflict(_) => "conflict",
        }
    }
}

/// An order as a promoter may see it: no buyer data.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub external_id: String,
    pub ordered_at: DateTime<Utc>,
    pub status: OrderStatus,
    pub link_label: Option<String>,
    pub link_sub_promoter: Option<String>,
    pub tickets: i64,
    pub net_minor: i64,
    pub currency: String,
    pub summary: String,
}

/// A newer state of a stored order. Buyer data once erased stays erased when the shop
/// reports the order again; the self-referral flag is still worked out from the address.
const UPDATE_ORDER: &str = "UPDATE orders SET buyer_name = CASE WHEN buyer_erased_at IS NULL THEN ?1 END, \
                     buyer_email = CASE WHEN buyer_erased_at IS NULL THEN ?2 END, \
                     buyer_phone = CASE WHEN buyer_erased_at IS NULL THEN ?3 END, status = ?4, \
                     source_updated_at = ?5, updated_at = ?6, state_hash = CASE WHEN buyer_erased_at IS NULL THEN ?7 END, \
                     self_referral = coalesce((SELECT lower(p.email) = lower(?2) FROM memberships m \
                       JOIN people p ON p.id = m.person_id WHERE m.id = orders.membership_id), false) \
                     WHERE id = ?8";

impl Store {
    /// Applies one order state inside `tx`. Attribution is fixed when the order is first
    /// seen; a state older than the stored one changes nothing. An order without lines
    /// is a status-only update (refund or cancellation). On `Conflict` the caller must
    /// roll back.
    pub async fn apply_order(
        &self,
        tx: &mut WriteTx,
        order: &OrderInput,
        now: DateTime<Utc>,
    ) -> StoreResult<IngestOutcome> {
        let existing: Option<(OrderId, EventId, DateTime<Utc>, Option<String>)> = query_as(
            "SELECT id, event_id, source_updated_at, state_hash FROM orders WHERE source = ? AND external_id = ?",
        )
        .bind(&order.source)
        .bind(&order.external_id)
        .fetch_optional(&mut **tx)
        .await?;
        let updated_at = ts_ms(order.updated_at);
        let state_hash = order.state_hash();
        if let Some((_, event_id, _, _)) = &existing
            && *event_id != order.event_id
        {
            return Ok(IngestOutcome::Conflict(format!(
                "order `{}` was first reported for another event; an order cannot move between events",
                order.external_id
            )));
        }
        if order.lines.is_empty() {
            return self
                .apply_status_only(tx, order, existing.map(|(id, _, stored, _)| (id, stored)), now)
                .await;
        }
        let outcome = match existing {
            Some((id, _, stored, _)) if stored > updated_at.0 => return Ok(IngestOutcome::Unchanged(id)),
            Some((id, _, stored, stored_hash)) if stored == updated_at.0 => {
                return Ok(match stored_hash {
                    Some(h) if h != state_hash => IngestOutcome::Conflict(format!(
                        "order `{}` differs from the stored state with the same updated_at; \
                         send the time of the change in updated_at",
                        order.external_id
                    )),
                    _ => IngestOutcome::Unchanged(id),
                });
            }
            Some((id, _, _, _)) => {
                query(UPDATE_ORDER)
                    .bind(&order.buyer_name)
                    .bind(&order.buyer_email)
                    .bind(&order.buyer_phone)
                    .bind(order.status)
                    .bind(updated_at)
                    .bind(ts_ms(now))
                    .bind(&state_hash)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                query("DELETE FROM order_lines WHERE order_id = ?")
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                IngestOutcome::Updated(id)
            }
            None => {
                // One insert path for new orders: the same as a group-commit batch.
                let id = self.insert_new_orders(tx, &[order], now).await?[0];
                self.apply_pending_status(tx, order, id, updated_at, now).await?;
                return Ok(IngestOutcome::Created(id));
            }
        };
        let order_id = match outcome {
            IngestOutcome::Created(id) | IngestOutcome::Updated(id) => id,
            _ => unreachable!("only stored orders get lines"),
        };
        // No pending status to apply: one is kept only for an order not stored yet.
        self.insert_lines(tx, &[(order_id, order)], now).await?;
        self.accrue_commissions(tx, &[order_id], now).await?;
        Ok(outcome)
    }

    /// A refund or cancellation that came before the order wins when it is newer.
    async fn apply_pending_status(
        &self,
        tx: &mut WriteTx,
        order: &OrderInput,
        order_id: OrderId,
        updated_at: AtMs,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let pending: Option<(OrderStatus, DateTime<Utc>)> = query_as(
            "DELETE FROM pending_order_status WHERE source = ? AND external_id = ? RETURNING status, updated_at",
        )
        .bind(&order.source)
        .bind(&order.external_id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((status, pending_at)) = pending
            && pending_at > updated_at.0
        {
            self.set_final_status(tx, order_id, status, ts_ms(pending_at), now)
                .await?;
        }
        Ok(())
    }

    async fn apply_status_only(
        &self,
        tx: &mut WriteTx,
        order: &OrderInput,
        existing: Option<(OrderId, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> StoreResult<IngestOutcome> {
        let updated_at = ts_ms(order.updated_at);
        match existing {
            Some((id, stored)) if stored >= updated_at.0 => Ok(IngestOutcome::Unchanged(id)),
            Some((id, _)) => {
                self.set_final_status(tx, id, order.status, updated_at, now).await?;
                Ok(IngestOutcome::Updated(id))
            }
            None => {
                query(
                    "INSERT INTO pending_order_status (source, external_id, status, updated_at) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (source, external_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at \
                     WHERE excluded.updated_at > pending_order_status.updated_at",
                )
                .bind(&order.source)
                .bind(&order.external_id)
                .bind(order.status)
                .bind(updated_at)
                .execute(&mut **tx)
                .await?;
                Ok(IngestOutcome::Pending)
            }
        }
    }

    /// Marks an order refunded or cancelled: every ticket refunded.
    async fn set_final_status(
        &self,
        tx: &mut WriteTx,
        order_id: OrderId,
        status: OrderStatus,
        source_updated_at: AtMs,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        query("UPDATE orders SET status = ?, source_updated_at = ?, updated_at = ?, state_hash = NULL WHERE id = ?")
            .bind(status)
            .bind(source_updated_at)
            .bind(ts_ms(now))
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
        query("UPDATE order_lines SET refunded_quantity = quantity, refunded_minor = 0 WHERE order_id = ?")
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
        self.accrue_commissions(tx, &[order_id], now).await?;
        Ok(())
    }

    /// Records a webhook delivery id; false when it was seen before.
    pub async fn record_delivery(
        &self,
        tx: &mut WriteTx,
        source: &str,
        delivery_id: &str,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = query(
            "INSERT INTO webhook_deliveries (source, delivery_id, order_id, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(source)
        .bind(delivery_id)
        .bind(order_id)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The id of an event's ticket type by name, created on first sight.
    pub(super) async fn ticket_type_id(
        &self,
        tx: &mut WriteTx,
        event_id: EventId,
        name: &str,
        price: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<TicketTypeId> {
        if let Some(id) = query_scalar(
            "SELECT id FROM ticket_types WHERE event_id = ? AND lower(name) = lower(?) ORDER BY id LIMIT 1",
        )
        .bind(event_id)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
        {
            return Ok(id);
        }
        query_scalar(
            "INSERT INTO ticket_types (event_id, name, price_minor, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(event_id)
        .bind(name)
        .bind(price)
        .bind(ts(now))
        .fetch_one(&mut **tx)
        .await
    }

    /// A promoter's referred orders for an event, newest first, without buyer data.
    pub async fn orders_of_membership(
        &self,
        membership_id: MembershipId,
        event_id: EventId,
        limit: i64,
    ) -> StoreResult<Vec<OrderRow>> {
        query_as(
            "SELECT o.external_id, o.ordered_at, o.status, l.label AS link_label, l.sub_promoter AS link_sub_promoter, \
               sum(ol.quantity - ol.refunded_quantity) AS tickets, \
               sum((ol.quantity - ol.refunded_quantity) * ol.unit_price_minor - ol.refunded_minor) AS net_minor, o.currency, \
               group_concat(ol.quantity || ' × ' || t.name, ', ') AS summary \
             FROM orders o JOIN order_lines ol ON ol.order_id = o.id JOIN ticket_types t ON t.id = ol.ticket_type_id \
             LEFT JOIN links l ON l.id = o.link_id \
             WHERE o.membership_id = ? AND o.event_id = ? \
             GROUP BY o.id ORDER BY o.ordered_at DESC, o.id DESC LIMIT ?",
        )
        .pg("SELECT o.external_id, o.ordered_at, o.status, l.label AS link_label, l.sub_promoter AS link_sub_promoter, \
               CAST(sum(ol.quantity - ol.refunded_quantity) AS BIGINT) AS tickets, \
               CAST(sum((ol.quantity - ol.refunded_quantity) * ol.unit_price_minor - ol.refunded_minor) AS BIGINT) \
                 AS net_minor, o.currency, \
               string_agg(ol.quantity || ' × ' || t.name, ', ' ORDER BY ol.line_no) AS summary \
             FROM orders o JOIN order_lines ol ON ol.order_id = o.id JOIN ticket_types t ON t.id = ol.ticket_type_id \
             LEFT JOIN links l ON l.id = o.link_id \
             WHERE o.membership_id = ? AND o.event_id = ? \
             GROUP BY o.id, l.id ORDER BY o.ordered_at DESC, o.id DESC LIMIT ?")
        .bind(membership_id)
        .bind(event_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }
}
