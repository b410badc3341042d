//! One data row of the order import CSV: its cells read (text that is not UTF-8 and
//! numbers that are not whole are reported), then added to its order.

use super::{FileOrder, FileProblem, ImportFile, ORDER_FIELDS};
use crate::ingest::{RawLine, RawOrder};
use std::collections::HashMap;

/// One data row of the file, at its line.
pub(super) struct Row<'a> {
    pub(super) rec: &'a csv::ByteRecord,
    pub(super) col: &'a HashMap<&'static str, usize>,
    pub(super) line: u64,
}

/// A data row read: the order it belongs to (without lines), its order fields in
/// [`ORDER_FIELDS`] order, its line item, and its number columns that were not whole
/// numbers.
pub(super) struct ParsedRow {
    order: RawOrder,
    fields: Vec<String>,
    item: RawLine,
    unparsed: Vec<&'static str>,
}

impl Row<'_> {
    fn problem(&self, message: String) -> FileProblem {
        FileProblem {
            line: self.line,
            message,
        }
    }

    /// Reads every cell, in the order the problems are listed: the order fields, the
    /// order id, then the line item's cells.
    pub(super) fn parse(&self, problems: &mut Vec<FileProblem>) -> ParsedRow {
        let fields: Vec<String> = ORDER_FIELDS.iter().map(|c| self.text(c, problems)).collect();
        let opt = |i: usize| Some(fields[i].clone()).filter(|s| !s.is_empty());
        let order = RawOrder {
            order_id: self.text("order_id", problems),
            event: fields[0].clone(),
            status: fields[1].clone(),
            ordered_at: fields[2].clone(),
            updated_at: opt(3),
            ref_code: opt(4),
            buyer_name: opt(5),
            buyer_email: opt(6),
            buyer_phone: opt(7),
            lines: Vec::new(),
        };
        let mut unparsed = Vec::new();
        let item = RawLine {
            ticket_type: self.text("ticket_type", problems),
            quantity: self.int("quantity", None, problems, &mut unparsed),
            refunded_quantity: self.int("refunded_quantity", Some(0), problems, &mut unparsed),
            unit_price_minor: self.int("unit_price_minor", None, problems, &mut unparsed),
            refunded_minor: self.int("refunded_minor", Some(0), problems, &mut unparsed),
            currency: self.text("currency", problems),
        };
        ParsedRow {
            order,
            fields,
            item,
            unparsed,
        }
    }

    /// The cell of column `c` (empty if the file has no such column); text that is not
    /// UTF-8 is reported and read lossily.
    fn text(&self, c: &'static str, problems: &mut Vec<FileProblem>) -> String {
        let bytes = self.col.get(c).and_then(|&i| self.rec.get(i)).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => {
                problems.push(self.problem(format!("{c} is not UTF-8 text (save the file as UTF-8)")));
                String::from_utf8_lossy(bytes).into_owned()
            }
        }
    }

    /// The whole number in column `c`, or `default` when it is empty. A cell that is
    /// missing or not a whole number is reported, noted in `unparsed`, and reads as
    /// `default` or else 1.
    fn int(
        &self,
        c: &'static str,
        default: Option<i64>,
        problems: &mut Vec<FileProblem>,
        unparsed: &mut Vec<&'static str>,
    ) -> i64 {
        let v = self.text(c, problems);
        match (v.is_empty(), default) {
            (true, Some(d)) => return d,
            (true, None) => problems.push(self.problem(format!("{c} is empty"))),
            _ => match v.parse() {
                Ok(n) => return n,
                Err(_) => problems.push(self.problem(format!("{c} `{v}` is not a whole number"))),
            },
        }
        unparsed.push(c);
        default.unwrap_or(1)
    }
}

impl ImportFile {
    /// Adds a row to its order (found through `index`), or starts the order with it.
    pub(super) fn add_row(&mut self, index: &mut HashMap<String, usize>, line: u64, row: ParsedRow) {
        let ParsedRow {
            mut order,
            fields,
            item,
            unparsed,
        } = row;
        match index.get(&order.order_id) {
            Some(&i) => {
                let existing = &mut self.orders[i];
                existing.report_disagreements(&fields, line, &mut self.problems);
                existing.raw.lines.push(item);
                existing.rows.push(line);
                existing.unparsed.push(unparsed);
            }
            None => {
                index.insert(order.order_id.clone(), self.orders.len());
                order.lines.push(item);
                self.orders.push(FileOrder {
                    raw: order,
                    rows: vec![line],
                    unparsed: vec![unparsed],
                });
            }
        }
    }
}

impl FileOrder {
    /// Reports each order field of a further row (at `line`, `fields` in
    /// [`ORDER_FIELDS`] order) that differs from the order's first row.
    fn report_disagreements(&self, fields: &[String], line: u64, problems: &mut Vec<FileProblem>) {
        let first = self.first_line();
        let head = &self.raw;
        let theirs = [
            Some(&head.event),
            Some(&head.status),
            Some(&head.ordered_at),
            head.updated_at.as_ref(),
            head.ref_code.as_ref(),
            head.buyer_name.as_ref(),
            head.buyer_email.as_ref(),
            head.buyer_phone.as_ref(),
        ];
        for ((name, ours), theirs) in ORDER_FIELDS.iter().zip(fields).zip(theirs) {
            let theirs = theirs.map(String::as_str).unwrap_or("");
            if ours != theirs {
                problems.push(FileProblem {
                    line,
                    message: format!(
                        "{name} `{ours}` differs from `{theirs}` on line {first}, the first row of \
                         order `{}`; rows of one order must agree on the order fields",
                        head.order_id
                    ),
                });
            }
        }
    }
}
