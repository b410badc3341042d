//! Orders in bulk: new orders of a group-commit batch written with a few multi-row
//! statements instead of several statements per order.

use super::sql::{QueryBuilder, ts, ts_ms};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{EventId, MembershipId, OrderId, OrderInput, OrderStatus, TicketTypeId};
use chrono::{DateTime, Utc};

use std::collections::{HashMap, HashSet};

/// Rows per multi-row statement, well under SQLite's bound-parameter limit.
const CHUNK: usize = 500;

/// Ticket type ids by `(event, ASCII-lowercased name)`.
pub(super) type TypeIds = HashMap<(EventId, String), TicketTypeId>;

/// New orders through promoter links (they have no ledger yet: what they earn comes
/// from what is in hand).
fn new_sales<'a>(
    stored: &[(OrderId, Option<MembershipId>, bool)],
    orders: &[&'a OrderInput],
    types: &'a TypeIds,
) -> Vec<NewSale<'a>> {
    stored
        .iter()
        .zip(orders.iter())
        .filter_map(|(&(id, m, own), o)| {
            m.map(|m| NewSale {
                order_id: id,
                membership: m,
                self_referral: own,
                order: o,
                types,
            })
        })
        .collect()
}

/// A new order through a promoter's link, as commissions need it.
pub(super) struct NewSale<'a> {
    pub order_id: OrderId,
    pub membership: MembershipId,
    pub self_referral: bool,
    pub order: &'a OrderInput,
    pub types: &'a TypeIds,
}

impl Store {
    /// Which of these `(source, external_id)` orders are stored, or have a refund or
    /// cancellation waiting for them.
    pub async fn known_orders(
        &self,
        tx: &mut WriteTx,
        keys: &[(&str, &str)],
    ) -> StoreResult<HashSet<(String, String)>> {
        let mut known = HashSet::new();
        for chunk in keys.chunks(CHUNK) {
            let mut q = QueryBuilder::new("WITH k(source, external_id) AS (");
            q.push_values(chunk, |mut b, (source, id)| {
                b.push_bind(*source).push_bind(*id);
            });
            q.push(
                ") SELECT o.source, o.external_id FROM orders o JOIN k USING (source, external_id) \
                 UNION ALL SELECT p.source, p.external_id FROM pending_order_status p JOIN k USING (source, external_id)",
            );
            let rows: Vec<(String, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
            known.extend(rows);
        }
        Ok(known)
    }

    /// Records webhook delivery ids `(source, delivery_id, order_id)`; returns the ones
    /// not seen before as `(source, delivery_id)`.
    pub async fn record_deliveries(
        &self,
        tx: &mut WriteTx,
        deliveries: &[(&str, &str, &str)],
        now: DateTime<Utc>,
    ) -> StoreResult<HashSet<(String, String)>> {
        let mut fresh = HashSet::new();
        let now = ts(now);
        for chunk in deliveries.chunks(CHUNK) {
            let mut q =
                QueryBuilder::new("INSERT INTO webhook_deliveries (source, delivery_id, order_id, received_at) ");
            q.push_values(chunk, |mut b, (source, delivery, order)| {
                b.push_bind(*source)
                    .push_bind(*delivery)
                    .push_bind(*order)
                    .push_bind(now);
            });
            q.push(" ON CONFLICT DO NOTHING RETURNING source, delivery_id");
            let rows: Vec<(String, String)> = q.build_query_as().fetch_all(&mut **tx).await?;
            fresh.extend(rows);
        }
        Ok(fresh)
    }

    /// Stores orders known to be new (see [`Store::known_orders`]) with their lines;
    /// returns their ids in the order given.
    pub async fn insert_new_orders(
        &self,
        tx: &mut WriteTx,
        orders: &[&OrderInput],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OrderId>> {
        let now_ms = ts_ms(now);
        let zones = self.event_zones(tx, orders.iter().map(|o| o.event_id)).await?;
        let day = |o: &OrderInput| -> StoreResult<String> {
            match zones.get(&o.event_id) {
                Some(tz) => Ok(super::daily::sale_day(o.ordered_at, *tz)),
                None => Err(super::StoreError::Corrupt(format!(
                    "event {} has no organization",
                    o.event_id
                ))),
            }
        };
        let days: Vec<String> = orders.iter().map(|o| day(o)).collect::<StoreResult<_>>()?;
        let mut ids: HashMap<(String, String), (OrderId, Option<MembershipId>, bool)> =
            HashMap::with_capacity(orders.len());
        let dated: Vec<(&OrderInput, &String)> = orders.iter().copied().zip(&days).collect();
        for chunk in dated.chunks(CHUNK / 2) {
            let mut q = QueryBuilder::new(
                "INSERT INTO orders (source, external_id, event_id, ref_code, link_id, membership_id, buyer_name, \
                 buyer_email, buyer_phone, status, currency, self_referral, ordered_at, source_updated_at, created_at, \
                 updated_at, state_hash, sale_day) \
                 SELECT v.column1, v.column2, v.column3, v.column4, l.id, l.membership_id, v.column5, v.column6, \
                   v.column7, v.column8, v.column9, \
                   coalesce((SELECT lower(p.email) = lower(v.column6) FROM memberships m \
                             JOIN people p ON p.id = m.person_id WHERE m.id = l.membership_id), false), \
                   v.column10, v.column11, v.column12, v.column12, v.column13, v.column14 FROM (",
            );
            q.push_values(chunk, |mut b, (o, day)| {
                b.push_bind(&o.source)
                    .push_bind(&o.external_id)
                    .push_bind(o.event_id)
                    .push_bind(&o.ref_code)
                    .push_bind(&o.buyer_name)
                    .push_bind(&o.buyer_email)
                    .push_bind(&o.buyer_phone)
                    .push_bind(o.status.as_str())
                    .push_bind(&o.currency)
                    .push_bind(ts(o.ordered_at))
                    .push_bind(ts_ms(o.updated_at))
                    .push_bind(now_ms)
                    .push_bind(o.state_hash())
                    .push_bind(*day);
            });
            q.push(
                ") AS v LEFT JOIN links l ON l.code = v.column4 AND l.event_id = v.column3 AND l.revoked_at IS NULL \
                 RETURNING source, external_id, id, membership_id, self_referral",
            );
            let rows: Vec<(String, String, OrderId, Option<MembershipId>, bool)> =
                q.build_query_as().fetch_all(&mut **tx).await?;
            ids.extend(rows.into_iter().map(|(s, e, id, m, own)| ((s, e), (id, m, own))));
        }
        let stored: Vec<(OrderId, Option<MembershipId>, bool)> = orders
            .iter()
            .map(|o| {
                ids.get(&(o.source.clone(), o.external_id.clone()))
                    .copied()
                    .ok_or_else(|| super::StoreError::Corrupt(format!("order `{}` was not stored", o.external_id)))
            })
            .collect::<StoreResult<_>>()?;
        let with_ids: Vec<(OrderId, &OrderInput)> = stored.iter().map(|s| s.0).zip(orders.iter().copied()).collect();
        let types = self.insert_lines(tx, &with_ids, now).await?;
        let sales = new_sales(&stored, orders, &types);
        self.accrue_new_orders(tx, &sales, now).await?;
        Ok(stored.into_iter().map(|s| s.0).collect())
    }

    /// Inserts the lines of stored orders `(id, order)` (which have none yet); a
    /// refunded or cancelled order counts every ticket refunded.
    pub(super) async fn insert_lines(
        &self,
        tx: &mut WriteTx,
        stored: &[(OrderId, &OrderInput)],
        now: DateTime<Utc>,
    ) -> StoreResult<TypeIds> {
        let orders: Vec<&OrderInput> = stored.iter().map(|(_, o)| *o).collect();
        let types = self.ticket_type_ids(tx, &orders, now).await?;
        let lines: Vec<(OrderId, i64, EventId, &crate::domain::LineInput, bool)> = stored
            .iter()
            .flat_map(|&(id, o)| {
                let refund_all = matches!(o.status, OrderStatus::Refunded | OrderStatus::Cancelled);
                o.lines
                    .iter()
                    .enumerate()
                    .map(move |(i, l)| (id, i as i64, o.event_id, l, refund_all))
            })
            .collect();
        for chunk in lines.chunks(CHUNK) {
            let mut q = QueryBuilder::new(
                "INSERT INTO order_lines (order_id, line_no, ticket_type_id, quantity, refunded_quantity, unit_price_minor, \
                 refunded_minor) ",
            );
            q.push_values(chunk, |mut b, (order_id, line_no, event_id, l, refund_all)| {
                let type_id = types[&(*event_id, l.ticket_type.to_ascii_lowercase())];
                b.push_bind(*order_id)
                    .push_bind(*line_no)
                    .push_bind(type_id)
                    .push_bind(l.quantity)
                    .push_bind(if *refund_all { l.quantity } else { l.refunded_quantity })
                    .push_bind(l.unit_price_minor)
                    .push_bind(if *refund_all { 0 } else { l.refunded_minor });
            });
            q.build().execute(&mut **tx).await?;
        }
        Ok(types)
    }

    /// Ticket type ids by `(event, ASCII-lowercased name)` for every line, creating
    /// the types seen for the first time.
    async fn ticket_type_ids(
        &self,
        tx: &mut WriteTx,
        orders: &[&OrderInput],
        now: DateTime<Utc>,
    ) -> StoreResult<HashMap<(EventId, String), TicketTypeId>> {
        let events: HashSet<EventId> = orders.iter().map(|o| o.event_id).collect();
        if events.is_empty() {
            // No lines to type (and PostgreSQL has no empty `IN ()`).
            return Ok(HashMap::new());
        }
        let mut q = QueryBuilder::new("SELECT event_id, lower(name), id FROM ticket_types WHERE event_id IN (");
        let mut sep = q.separated(", ");
        for e in &events {
            sep.push_bind(*e);
        }
        q.push(") ORDER BY id DESC");
        let rows: Vec<(EventId, String, TicketTypeId)> = q.build_query_as().fetch_all(&mut **tx).await?;
        // Descending ids: the oldest type of a name is inserted last and wins.
        let mut types: HashMap<(EventId, String), TicketTypeId> =
            rows.into_iter().map(|(e, n, id)| ((e, n), id)).collect();
        for o in orders {
            for l in &o.lines {
                let key = (o.event_id, l.ticket_type.to_ascii_lowercase());
                if let std::collections::hash_map::Entry::Vacant(slot) = types.entry(key) {
                    let id = self
                        .ticket_type_id(tx, o.event_id, &l.ticket_type, l.unit_price_minor, now)
                        .await?;
                    slot.insert(id);
                }
            }
        }
        Ok(types)
    }
}
