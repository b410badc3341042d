//! The order webhook's JSON body and its reading into a [`RawOrder`].

use super::{OrderError, OrderStatus, RawLine, RawOrder};

/// The order webhook's JSON body (documented in the README).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPayload {
    /// Unique id of this delivery; a repeated id changes nothing.
    pub id: Option<String>,
    /// `order.created`, `order.updated`, `order.refunded` or `order.cancelled`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the checkout emitted the event (informational).
    pub created_at: Option<String>,
    pub order: WebhookOrder,
}

/// The order inside a [`WebhookPayload`].
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookOrder {
    pub id: String,
    /// Event short name or numeric id.
    pub event: serde_json::Value,
    /// Defaults from the event type: paid, refunded or cancelled.
    pub status: Option<String>,
    #[serde(rename = "ref")]
    pub ref_code: Option<String>,
    /// The discount or voucher code the buyer entered: a promoter's promo code counts
    /// for them when `ref` is absent.
    #[serde(default)]
    pub promo_code: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    #[serde(default)]
    pub buyer: WebhookBuyer,
    #[serde(default)]
    pub lines: Vec<WebhookLine>,
}

/// The buyer of a [`WebhookOrder`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBuyer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A line of a [`WebhookOrder`].
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookLine {
    pub ticket_type: String,
    pub quantity: i64,
    #[serde(default)]
    pub refunded_quantity: i64,
    pub unit_price: i64,
    /// Money refunded beyond `refunded_quantity` tickets (a refund by amount).
    #[serde(default)]
    pub refunded_amount: i64,
    pub currency: String,
}

impl WebhookPayload {
    /// The payload as a raw order, or why its event type is not understood.
    pub fn into_raw(self) -> Result<RawOrder, OrderError> {
        let default_status = match self.kind.as_str() {
            "order.created" | "order.updated" => OrderStatus::Paid,
            "order.refunded" => OrderStatus::Refunded,
            "order.cancelled" => OrderStatus::Cancelled,
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(OrderError::Malformed(format!(
                    "type `{shown}` is not one of order.created, order.updated, order.refunded, order.cancelled"
                )));
            }
        };
        let event = match &self.order.event {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(OrderError::Malformed(
                    "order.event must be a short name or a numeric id".into(),
                ));
            }
        };
        let o = self.order;
        Ok(RawOrder {
            order_id: o.id,
            event,
            status: o.status.unwrap_or_else(|| default_status.as_str().into()),
            ordered_at: o.created_at,
            updated_at: o.updated_at,
            ref_code: o.ref_code,
            buyer_name: o.buyer.name,
            buyer_email: o.buyer.email,
            buyer_phone: o.buyer.phone,
            lines: o
                .lines
                .into_iter()
                .map(|l| RawLine {
                    ticket_type: l.ticket_type,
                    quantity: l.quantity,
                    refunded_quantity: l.refunded_quantity,
                    unit_price_minor: l.unit_price,
                    refunded_minor: l.refunded_amount,
                    currency: l.currency,
                })
                .collect(),
        })
    }
}
