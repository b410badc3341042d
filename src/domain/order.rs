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
}
