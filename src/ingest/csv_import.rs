//! The order import CSV (`promoterd import-orders`): one row per order line.

use super::{RawLine, RawOrder};
use std::collections::HashMap;

/// Columns of the order import CSV, in the documented order (`order_id` first).
pub const IMPORT_COLUMNS: &[&str] = &[
    "order_id",
    "event",
    "status",
    "ordered_at",
    "updated_at",
    "ref",
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "ticket_type",
    "quantity",
    "refunded_quantity",
    "unit_price_minor",
    "currency",
];

/// Reads the import CSV (one row per order line; rows of one order share `order_id`)
/// into raw orders. Errors name the CSV line.
pub fn read_import_csv(input: impl std::io::Read) -> Result<Vec<RawOrder>, String> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = rdr
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .clone();
    let col: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    for h in headers.iter() {
        if !IMPORT_COLUMNS.contains(&h) {
            return Err(format!(
                "unknown column `{h}`; the columns are: {}",
                IMPORT_COLUMNS.join(", ")
            ));
        }
    }
    for required in [
        "order_id",
        "event",
        "status",
        "ordered_at",
        "ticket_type",
        "quantity",
        "unit_price_minor",
        "currency",
    ] {
        if !col.contains_key(required) {
            return Err(format!("missing column `{required}`"));
        }
    }
    let mut orders: Vec<RawOrder> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| format!("line {line}: {e}"))?;
        let get = |c: &str| col.get(c).and_then(|&i| rec.get(i)).unwrap_or("").to_string();
        let opt = |c: &str| Some(get(c)).filter(|s| !s.is_empty());
        let int = |c: &str, default: Option<i64>| -> Result<i64, String> {
            let v = get(c);
            if v.is_empty()
                && let Some(d) = default
            {
                return Ok(d);
            }
            v.parse()
                .map_err(|_| format!("line {line}: {c} `{v}` is not a whole number"))
        };
        let order = RawOrder {
            order_id: get("order_id"),
            event: get("event"),
            status: get("status"),
            ordered_at: get("ordered_at"),
            updated_at: opt("updated_at"),
            ref_code: opt("ref"),
            buyer_name: opt("buyer_name"),
            buyer_email: opt("buyer_email"),
            buyer_phone: opt("buyer_phone"),
            lines: Vec::new(),
        };
        let line_item = RawLine {
            ticket_type: get("ticket_type"),
            quantity: int("quantity", None)?,
            refunded_quantity: int("refunded_quantity", Some(0))?,
            unit_price_minor: int("unit_price_minor", None)?,
            currency: get("currency"),
        };
        match index.get(&order.order_id) {
            Some(&i) => {
                let existing = &mut orders[i];
                let mut head = existing.clone();
                head.lines.clear();
                if head != order {
                    return Err(format!(
                        "line {line}: order `{}` has order fields that differ from its first row",
                        order.order_id
                    ));
                }
                existing.lines.push(line_item);
            }
            None => {
                index.insert(order.order_id.clone(), orders.len());
                let mut order = order;
                order.lines.push(line_item);
                orders.push(order);
            }
        }
    }
    Ok(orders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_group_into_orders() {
        let csv = "order_id,event,status,ordered_at,ticket_type,quantity,unit_price_minor,currency\n\
                   A1,fest,paid,2026-11-20T10:00:00Z,GA,2,2500,EUR\n\
                   A1,fest,paid,2026-11-20T10:00:00Z,VIP,1,9000,EUR\n\
                   A2,fest,paid,2026-11-20T11:00:00Z,GA,1,2500,EUR\n";
        let orders = read_import_csv(csv.as_bytes()).unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].lines.len(), 2);
        assert_eq!(orders[0].lines[1].ticket_type, "VIP");
    }

    #[test]
    fn csv_with_unknown_column_or_bad_number_is_refused() {
        let bad = "order_id,event,colour\nA1,fest,red\n";
        assert!(
            read_import_csv(bad.as_bytes())
                .unwrap_err()
                .contains("unknown column `colour`")
        );
        let bad = "order_id,event,status,ordered_at,ticket_type,quantity,unit_price_minor,currency\n\
                   A1,fest,paid,2026-11-20T10:00:00Z,GA,two,2500,EUR\n";
        assert!(
            read_import_csv(bad.as_bytes())
                .unwrap_err()
                .contains("line 2: quantity `two`")
        );
    }
}
