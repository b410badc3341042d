//! A validated order as ingestion hands it to the store: shared by both, owned by neither.

use super::{EventId, OrderStatus};
use chrono::{DateTime, Utc};

/// A validated order, ready for the store.
#[derive(Debug, Clone)]
pub struct OrderInput {
    pub source: String,
    pub external_id: String,
    pub event_id: EventId,
    pub ref_code: Option<String>,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    pub status: OrderStatus,
    pub currency: String,
    pub ordered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<LineInput>,
}

impl OrderInput {
    /// A digest of the order's state: status, buyer and lines.
    pub fn state_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            self.status.as_str(),
            self.buyer_name.as_deref().unwrap_or(""),
            self.buyer_email.as_deref().unwrap_or(""),
            self.buyer_phone.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for l in &self.lines {
            h.update(l.ticket_type.to_lowercase().as_bytes());
            h.update(format!("\0{}\0{}\0{}\0", l.quantity, l.refunded_quantity, l.unit_price_minor).as_bytes());
            // Only when set, so the states stored before refunds by amount keep their digest.
            if l.refunded_minor != 0 {
                h.update(format!("r{}\0", l.refunded_minor).as_bytes());
            }
        }
        hex::encode(&h.finalize()[..16])
    }
}

/// A validated order line.
#[derive(Debug, Clone)]
pub struct LineInput {
    pub ticket_type: String,
    pub quantity: i64,
    pub refunded_quantity: i64,
    pub unit_price_minor: i64,
    /// Money refunded for this line beyond its refunded tickets (a shop's refund by
    /// amount): net = (quantity - refunded_quantity) * unit_price_minor - refunded_minor.
    pub refunded_minor: i64,
}

impl LineInput {
    /// The line's net revenue in minor units.
    pub fn net_minor(&self) -> i64 {
        (self.quantity - self.refunded_quantity) * self.unit_price_minor - self.refunded_minor
    }
}
