//! The order import CSV (`promoterd import-orders`): one row per order line.

mod row;

use super::{ApplyError, OrderError, OrderInput, RawOrder};
use crate::clock::Clock;
use crate::domain::{EventId, OrgId};
use crate::store::{IngestOutcome, Store, StoreError};
use row::Row;
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
    "refunded_minor",
    "currency",
];

/// Columns every import file needs.
const REQUIRED: &[&str] = &[
    "order_id",
    "event",
    "status",
    "ordered_at",
    "ticket_type",
    "quantity",
    "unit_price_minor",
    "currency",
];

/// Order fields every row of one order repeats, in the order they are compared.
const ORDER_FIELDS: &[&str] = &[
    "event",
    "status",
    "ordered_at",
    "updated_at",
    "ref",
    "buyer_name",
    "buyer_email",
    "buyer_phone",
];

/// A problem of the import file at a line as a spreadsheet shows it: the header is
/// line 1, and a row whose quoted cell holds line breaks counts from where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One order of the file and where its rows are.
#[derive(Debug, Clone)]
pub struct FileOrder {
    pub raw: RawOrder,
    /// The file line of each row, parallel to `raw.lines`.
    pub rows: Vec<u64>,
    /// Per row: the number columns that were not whole numbers (already reported).
    unparsed: Vec<Vec<&'static str>>,
}

impl FileOrder {
    fn first_line(&self) -> u64 {
        self.rows[0]
    }

    /// "line N: order `id`: …", naming the order's other rows.
    fn order_problem(&self, message: impl std::fmt::Display) -> FileProblem {
        let mut message = format!("order `{}`: {message}", self.raw.order_id);
        if self.rows.len() > 1 {
            let shown: Vec<String> = self.rows.iter().take(6).map(u64::to_string).collect();
            let more = if self.rows.len() > 6 { ", …" } else { "" };
            message.push_str(&format!(" (the order's rows are on lines {}{more})", shown.join(", ")));
        }
        FileProblem {
            line: self.first_line(),
            message,
        }
    }
}

/// The import file read: its orders, and every problem found while reading.
#[derive(Debug, Clone, Default)]
pub struct ImportFile {
    pub orders: Vec<FileOrder>,
    pub problems: Vec<FileProblem>,
    /// Data rows read.
    pub rows: usize,
}

/// What [`ImportFile::check`] found valid: the orders and the first line of each.
#[derive(Debug, Clone)]
pub struct CheckedImport {
    pub orders: Vec<OrderInput>,
    pub first_lines: Vec<u64>,
}

/// Reads the import CSV (one row per order line; rows of one order share `order_id`)
/// into orders, listing every problem of every row. Linear in the file's size.
pub fn read_import_csv(data: &[u8]) -> ImportFile {
    let mut file = ImportFile::default();
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(data);
    let Some(col) = read_header(&mut rdr, &mut file.problems) else {
        return file;
    };
    // Where each order id's order is in `file.orders`: a row joins its order at once.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut rec = csv::ByteRecord::new();
    loop {
        let line = start_line(data, rdr.position());
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if file.skip_unreadable(data, line, &e) {
                    continue;
                }
                break;
            }
        }
        file.rows += 1;
        let row = Row {
            rec: &rec,
            col: &col,
            line,
        };
        let parsed = row.parse(&mut file.problems);
        file.add_row(&mut index, line, parsed);
    }
    file
}

/// The file line where the record read from `pos` starts. The reader positions a
/// record where it began looking for it, before the blank lines it skips; a
/// spreadsheet counts from the record's first cell.
fn start_line(data: &[u8], pos: &csv::Position) -> u64 {
    let rest = data.get(pos.byte() as usize..).unwrap_or_default();
    let blank = rest.iter().take_while(|b| matches!(b, b'\r' | b'\n'));
    pos.line() + blank.filter(|b| **b == b'\n').count() as u64
}

/// Each known column's index in the header row; `None` when the header cannot be read,
/// names an unknown column or lacks a required one, each problem listed on line 1.
fn read_header(rdr: &mut csv::Reader<&[u8]>, problems: &mut Vec<FileProblem>) -> Option<HashMap<&'static str, usize>> {
    let problem = |message: String| FileProblem { line: 1, message };
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(problem(format!("cannot read the header row: {e}")));
            return None;
        }
    };
    let mut col: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        match std::str::from_utf8(h) {
            Ok(h) if IMPORT_COLUMNS.contains(&h) => {
                col.insert(IMPORT_COLUMNS.iter().find(|c| **c == h).expect("listed"), i);
            }
            Ok(h) => problems.push(problem(format!(
                "unknown column `{h}`; the columns are: {}",
                IMPORT_COLUMNS.join(", ")
            ))),
            Err(_) => problems.push(problem(format!(
                "column {} of the header is not UTF-8 text (save the file as UTF-8)",
                i + 1
            ))),
        }
    }
    for required in REQUIRED {
        if !col.contains_key(required) {
            problems.push(problem(format!("missing column `{required}`")));
        }
    }
    problems.is_empty().then_some(col)
}

impl ImportFile {
    /// Reports a record the reader refused at `line`. A row with the wrong number of
    /// cells counts as a row and reading goes on (`true`); any other error ends it.
    fn skip_unreadable(&mut self, data: &[u8], line: u64, e: &csv::Error) -> bool {
        let line = e.position().map_or(line, |pos| start_line(data, pos));
        let (message, go_on) = match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                self.rows += 1;
                (
                    format!("the row has {len} cells where the header has {expected_len}"),
                    true,
                )
            }
            _ => (format!("cannot read the file further: {e}"), false),
        };
        self.problems.push(FileProblem { line, message });
        go_on
    }
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows break the rules or conflict with stored orders: every one, by line.
    #[error("{} problem(s) in the file", .0.len())]
    Problems(Vec<FileProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Applying failed for a reason other than the orders themselves.
    #[error(transparent)]
    Apply(ApplyError),
}

impl ImportFile {
    /// Checks every order against the rules and the event it names. Either every order
    /// is valid, or every problem of the file is listed, by line.
    /// With `org` (the source is an organization's connection), only its events.
    pub async fn check(self, store: &Store, source: &str, org: Option<OrgId>) -> Result<CheckedImport, ImportError> {
        let mut problems = self.problems;
        let mut events: HashMap<String, Result<(EventId, String), OrderError>> = HashMap::new();
        let mut checked = CheckedImport {
            orders: Vec::with_capacity(self.orders.len()),
            first_lines: Vec::with_capacity(self.orders.len()),
        };
        for order in &self.orders {
            let name = order.raw.event.trim();
            let event = match events.get(name) {
                Some(e) => e.clone(),
                None => {
                    let e = match super::find_event(store, name, org).await {
                        Ok(found) => Ok(found),
                        Err(ApplyError::Order(e)) => Err(e),
                        Err(ApplyError::Store(e)) => return Err(ImportError::Store(e)),
                        Err(e @ ApplyError::Unavailable(_)) => return Err(ImportError::Apply(e)),
                    };
                    events.insert(name.to_string(), e.clone());
                    e
                }
            };
            let (id, currency) = match &event {
                Ok((id, c)) => (*id, c.as_str()),
                Err(e) => {
                    problems.push(order.order_problem(e));
                    (EventId(0), "")
                }
            };
            match super::check_all(source, &order.raw, id, currency) {
                Ok(o) if event.is_ok() => {
                    checked.orders.push(o);
                    checked.first_lines.push(order.first_line());
                }
                Ok(_) => {}
                Err(found) => {
                    for p in found {
                        let Some(row) = p.line else {
                            problems.push(order.order_problem(p.message()));
                            continue;
                        };
                        let moot = &order.unparsed[row];
                        let skip = (event.is_err() && p.field == "currency")
                            || moot.contains(&p.field)
                            || (p.field == "refunded_quantity" && moot.contains(&"quantity"));
                        if !skip {
                            problems.push(FileProblem {
                                line: order.rows[row],
                                message: p.message(),
                            });
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            return Ok(checked);
        }
        problems.sort_by_key(|p| p.line);
        Err(ImportError::Problems(problems))
    }
}

impl CheckedImport {
    /// Applies every order in one write transaction, or none: a conflict with stored
    /// data does not stop the pass, so every conflicting order is named, by its first
    /// line, and then nothing is committed.
    pub async fn apply(&self, store: &Store, clock: &Clock) -> Result<Vec<IngestOutcome>, ImportError> {
        let now = clock.now();
        let mut tx = store.write().await?;
        let mut out = Vec::with_capacity(self.orders.len());
        let mut problems = Vec::new();
        for (o, &line) in self.orders.iter().zip(&self.first_lines) {
            match store.apply_order(&mut tx, o, now).await? {
                IngestOutcome::Conflict(message) => problems.push(FileProblem { line, message }),
                outcome => out.push(outcome),
            }
        }
        if !problems.is_empty() {
            // Dropping the transaction rolls it back.
            drop(tx);
            return Err(ImportError::Problems(problems));
        }
        tx.commit().await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "order_id,event,status,ordered_at,buyer_name,ticket_type,quantity,unit_price_minor,currency\n";

    fn messages(file: &ImportFile) -> Vec<String> {
        file.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn csv_rows_group_into_orders() {
        let csv = format!(
            "{HEADER}A1,fest,paid,2026-11-20T10:00:00Z,,GA,2,2500,EUR\n\
             A1,fest,paid,2026-11-20T10:00:00Z,,VIP,1,9000,EUR\n\
             A2,fest,paid,2026-11-20T11:00:00Z,,GA,1,2500,EUR\n"
        );
        let file = read_import_csv(csv.as_bytes());
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        assert_eq!((file.orders.len(), file.rows), (2, 3));
        assert_eq!(file.orders[0].raw.lines.len(), 2);
        assert_eq!(file.orders[0].raw.lines[1].ticket_type, "VIP");
        assert_eq!(file.orders[0].rows, [2, 3]);
    }

    #[test]
    fn every_bad_column_of_the_header_is_named_on_line_1() {
        let file = read_import_csv("order_id,event,colour,size\nA1,fest,red,xl\n".as_bytes());
        let m = messages(&file);
        assert!(m[0].starts_with("line 1: unknown column `colour`"), "{m:?}");
        assert!(m[1].starts_with("line 1: unknown column `size`"), "{m:?}");
        assert!(m.contains(&"line 1: missing column `status`".to_string()), "{m:?}");
        assert!(file.orders.is_empty());
    }

    #[test]
    fn lines_are_the_files_lines_past_blank_lines_and_quoted_line_breaks() {
        let csv = format!(
            "{HEADER}A1,fest,paid,2026-11-20T10:00:00Z,\"Zoe\nBuyer\",GA,1,2500,EUR\n\
             \n\
             A2,fest,paid,2026-11-20T10:00:00Z,,GA,two,lots,EUR\n\
             A3,fest,paid\n"
        );
        let file = read_import_csv(csv.as_bytes());
        assert_eq!(file.orders[0].rows, [2], "a row starts where its record starts");
        assert_eq!(file.orders[0].raw.buyer_name.as_deref(), Some("Zoe\nBuyer"));
        assert_eq!(
            messages(&file),
            [
                "line 5: quantity `two` is not a whole number",
                "line 5: unit_price_minor `lots` is not a whole number",
                "line 6: the row has 3 cells where the header has 9",
            ]
        );
        assert_eq!(file.rows, 3);
    }

    #[test]
    fn rows_of_one_order_that_disagree_name_both_lines() {
        let csv = format!(
            "{HEADER}A1,fest,paid,2026-11-20T10:00:00Z,Zoe,GA,1,2500,EUR\n\
             A2,fest,paid,2026-11-20T10:00:00Z,,GA,1,2500,EUR\n\
             A1,fest,refunded,2026-11-20T10:00:00Z,Zed,VIP,1,9000,EUR\n"
        );
        let m = messages(&read_import_csv(csv.as_bytes()));
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].starts_with("line 4: status `refunded` differs from `paid` on line 2"),
            "{m:?}"
        );
        assert!(
            m[1].starts_with("line 4: buyer_name `Zed` differs from `Zoe` on line 2"),
            "{m:?}"
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_named_with_its_line_and_column() {
        let csv = [
            HEADER.as_bytes(),
            b"A1,fest,paid,2026-11-20T10:00:00Z,\xff\xfe,GA,1,2500,EUR\n",
        ]
        .concat();
        let m = messages(&read_import_csv(csv.as_slice()));
        assert_eq!(m, ["line 2: buyer_name is not UTF-8 text (save the file as UTF-8)"]);
    }
}
