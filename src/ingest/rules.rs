//! The rules an order must meet, listing every problem: one checker for the order
//! webhook (which reports the first) and the CSV import (which reports them all).

use super::{LineInput, OrderError, OrderInput, OrderStatus, RawLine, RawOrder};
use crate::domain::EventId;
use chrono::{DateTime, Utc};

/// Most tickets of one type in one order.
pub const MAX_QUANTITY: i64 = 10_000;
/// Highest unit price in minor units (10 million in major units).
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000;
const MAX_LINES: usize = 100;
const MAX_FIELD: usize = 500;

fn field(name: &'static str, value: &Option<String>) -> Result<Option<String>, Problem> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.len() > MAX_FIELD => Err(Problem::malformed(
            None,
            name,
            format!("{name} is longer than {MAX_FIELD} bytes"),
        )),
        Some(v) if v.chars().any(|c| c.is_control()) => Err(Problem::malformed(
            None,
            name,
            format!("{name} contains control characters"),
        )),
        Some(v) => Ok(Some(v.to_string())),
    }
}

fn time(name: &'static str, value: &str) -> Result<DateTime<Utc>, Problem> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Problem::malformed(
                None,
                name,
                format!("{name} `{value}` is not an RFC 3339 time like 2026-11-23T21:54:02Z"),
            )
        })
}

pub(super) fn check_id(raw: &RawOrder) -> Result<(), OrderError> {
    let id = raw.order_id.trim();
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(OrderError::Malformed(
            "order id must be 1 to 200 printable characters".into(),
        ));
    }
    Ok(())
}

/// One problem of an order found by [`check_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// For a problem of one line: its index in [`RawOrder::lines`].
    pub line: Option<usize>,
    /// The field at fault (`quantity`, `currency`, `status`…).
    pub field: &'static str,
    /// What is wrong, without the line; a `Conflict` or a `Malformed` order.
    pub error: OrderError,
}

impl Problem {
    fn malformed(line: Option<usize>, field: &'static str, msg: String) -> Self {
        Problem {
            line,
            field,
            error: OrderError::Malformed(msg),
        }
    }

    /// The error as the webhook reports it: a line's problem names the line (from 1).
    pub fn into_error(self) -> OrderError {
        let Some(i) = self.line else { return self.error };
        match self.error {
            OrderError::Malformed(m) => OrderError::Malformed(format!("line {}: {m}", i + 1)),
            OrderError::Conflict(m) => OrderError::Conflict(format!("line {}: {m}", i + 1)),
            other => other,
        }
    }

    /// What is wrong, without the error's category.
    pub fn message(&self) -> String {
        match &self.error {
            OrderError::Malformed(m) | OrderError::Conflict(m) => m.clone(),
            other => other.to_string(),
        }
    }
}

/// The value, or `None` with the problem noted.
fn keep<T>(problems: &mut Vec<Problem>, r: Result<T, Problem>) -> Option<T> {
    r.map_err(|p| problems.push(p)).ok()
}

/// Checks a raw order against the rules, for an event already looked up.
pub fn check(source: &str, raw: &RawOrder, event_id: EventId, currency: &str) -> Result<OrderInput, OrderError> {
    check_all(source, raw, event_id, currency).map_err(|mut problems| problems.swap_remove(0).into_error())
}

/// Like [`check`], listing every problem of the order (never an empty list), in the
/// order [`check`] would meet them.
pub fn check_all(source: &str, raw: &RawOrder, event_id: EventId, currency: &str) -> Result<OrderInput, Vec<Problem>> {
    let mut problems = Vec::new();
    let status = check_head(raw, &mut problems);
    let lines: Vec<LineInput> = raw
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| check_line(i, l, currency, &mut problems))
        .collect();
    let (ordered_at, updated_at) = check_times(raw, &mut problems);
    let contact = check_contact(raw, &mut problems);
    let (Some(status), Some(ordered_at), Some(updated_at), true) =
        (status, ordered_at, updated_at, problems.is_empty())
    else {
        return Err(problems);
    };
    Ok(OrderInput {
        source: source.to_string(),
        external_id: raw.order_id.trim().to_string(),
        event_id,
        ref_code: contact.ref_code,
        buyer_name: contact.buyer_name,
        buyer_email: contact.buyer_email,
        buyer_phone: contact.buyer_phone,
        status: settled_status(status, &lines),
        currency: currency.to_string(),
        ordered_at,
        updated_at,
        lines,
    })
}

/// Checks the order id, the status and the number of lines; the status if it parses.
fn check_head(raw: &RawOrder, problems: &mut Vec<Problem>) -> Option<OrderStatus> {
    if let Err(e) = check_id(raw) {
        problems.push(Problem {
            line: None,
            field: "order_id",
            error: e,
        });
    }
    let status = OrderStatus::parse(&raw.status);
    if status.is_none() {
        problems.push(Problem::malformed(
            None,
            "status",
            format!(
                "status `{}` is not one of paid, partially_refunded, refunded, cancelled",
                raw.status
            ),
        ));
    }
    if raw.lines.is_empty() && !matches!(status, Some(OrderStatus::Refunded | OrderStatus::Cancelled) | None) {
        problems.push(Problem::malformed(
            None,
            "lines",
            "an order needs at least one line (only a refund or cancellation may leave them out)".into(),
        ));
    }
    if raw.lines.len() > MAX_LINES {
        problems.push(Problem::malformed(
            None,
            "lines",
            format!("an order has at most {MAX_LINES} lines"),
        ));
    }
    status
}

/// Checks line `i` of an order against the event's currency; the line as stored
/// (kept even when it breaks a rule, since the order is then refused anyway).
fn check_line(i: usize, l: &RawLine, currency: &str, problems: &mut Vec<Problem>) -> LineInput {
    let at = Some(i);
    let name = l.ticket_type.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        problems.push(Problem::malformed(
            at,
            "ticket_type",
            "ticket type must be 1 to 100 printable characters".into(),
        ));
    }
    if !(1..=MAX_QUANTITY).contains(&l.quantity) {
        problems.push(Problem::malformed(
            at,
            "quantity",
            format!("quantity {} is not between 1 and {MAX_QUANTITY}", l.quantity),
        ));
    }
    if !(0..=l.quantity).contains(&l.refunded_quantity) {
        problems.push(Problem::malformed(
            at,
            "refunded_quantity",
            format!(
                "refunded quantity {} is not between 0 and the quantity",
                l.refunded_quantity
            ),
        ));
    }
    if !(0..=MAX_UNIT_PRICE).contains(&l.unit_price_minor) {
        problems.push(Problem::malformed(
            at,
            "unit_price_minor",
            format!(
                "unit price {} is not between 0 and {MAX_UNIT_PRICE} minor units",
                l.unit_price_minor
            ),
        ));
    }
    let kept = (l.quantity - l.refunded_quantity).clamp(0, MAX_QUANTITY) * l.unit_price_minor.clamp(0, MAX_UNIT_PRICE);
    if !(0..=kept).contains(&l.refunded_minor) {
        problems.push(Problem::malformed(
            at,
            "refunded_amount",
            format!(
                "refunded amount {} is not between 0 and the price of the tickets kept ({kept} minor units)",
                l.refunded_minor
            ),
        ));
    }
    if !l.currency.trim().eq_ignore_ascii_case(currency) {
        problems.push(Problem {
            line: at,
            field: "currency",
            error: OrderError::Conflict(format!(
                "currency `{}` differs from the event's currency {currency}",
                l.currency.trim()
            )),
        });
    }
    LineInput {
        ticket_type: name.to_string(),
        quantity: l.quantity,
        refunded_quantity: l.refunded_quantity,
        unit_price_minor: l.unit_price_minor,
        refunded_minor: l.refunded_minor,
    }
}

/// `ordered_at`, and `updated_at` (which defaults to it), each if it parses.
fn check_times(raw: &RawOrder, problems: &mut Vec<Problem>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let ordered_at = keep(problems, time("ordered_at", &raw.ordered_at));
    let updated_at = match &raw.updated_at {
        Some(u) if !u.trim().is_empty() => keep(problems, time("updated_at", u)),
        _ => ordered_at,
    };
    (ordered_at, updated_at)
}

/// The optional text fields of an order, checked: the ref and the buyer.
struct Contact {
    ref_code: Option<String>,
    buyer_name: Option<String>,
    buyer_email: Option<String>,
    buyer_phone: Option<String>,
}

/// Checks the buyer's email, the ref, the buyer's name and phone, in that order; the
/// email and the ref lowercased.
fn check_contact(raw: &RawOrder, problems: &mut Vec<Problem>) -> Contact {
    let buyer_email = keep(problems, field("buyer_email", &raw.buyer_email))
        .flatten()
        .map(|e| e.to_lowercase());
    if let Some(e) = &buyer_email
        && crate::commands::parse_email(e).is_none()
    {
        problems.push(Problem::malformed(
            None,
            "buyer_email",
            format!("buyer_email `{e}` is not an email address"),
        ));
    }
    let ref_code = keep(problems, field("ref", &raw.ref_code))
        .flatten()
        .map(|r| r.to_lowercase());
    Contact {
        ref_code,
        buyer_name: keep(problems, field("buyer_name", &raw.buyer_name)).flatten(),
        buyer_email,
        buyer_phone: keep(problems, field("buyer_phone", &raw.buyer_phone)).flatten(),
    }
}

/// A paid or partly refunded order's status as its lines' refunds make it: paid with
/// none refunded, refunded with all, partly refunded between.
fn settled_status(status: OrderStatus, lines: &[LineInput]) -> OrderStatus {
    if lines.is_empty() || !matches!(status, OrderStatus::Paid | OrderStatus::PartiallyRefunded) {
        return status;
    }
    let refunded: i64 = lines.iter().map(|l| l.refunded_quantity).sum();
    let total: i64 = lines.iter().map(|l| l.quantity).sum();
    let money_back = lines.iter().any(|l| l.refunded_minor > 0);
    match refunded {
        0 if money_back => OrderStatus::PartiallyRefunded,
        0 => OrderStatus::Paid,
        r if r == total => OrderStatus::Refunded,
        _ => OrderStatus::PartiallyRefunded,
    }
}
