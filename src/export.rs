//! The referred-buyers CSV: RFC 4180, streamed row by row, formula injection neutralized.

use crate::money::amount;
use crate::store::{ExportFilter, ExportRow, Store, StoreError};
use crate::text::StackText;
use chrono::{DateTime, Datelike, Offset, Timelike, Utc};
use futures::TryStreamExt;
use std::io::Write;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the CSV: {0}")]
    Csv(csv::Error),
    /// The CSV passed the cap of a [`Capped`] writer; reading stopped there.
    #[error("the export is larger than {0} bytes")]
    TooLarge(usize),
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> Self {
        if let csv::ErrorKind::Io(io) = e.kind()
            && let Some(over) = io.get_ref().and_then(|i| i.downcast_ref::<OverCap>())
        {
            return ExportError::TooLarge(over.0);
        }
        ExportError::Csv(e)
    }
}

/// What a [`Capped`] writer fails with past its cap.
#[derive(Debug, thiserror::Error)]
#[error("more than {0} bytes")]
struct OverCap(usize);

/// An in-memory file that holds at most `cap` bytes and fails past them, so that an
/// export for a chat or mail attachment stops reading rows at the cap instead of
/// building a file of any size.
#[derive(Debug)]
pub struct Capped {
    pub data: Vec<u8>,
    cap: usize,
}

impl Capped {
    /// An empty file that holds at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Capped { data: Vec::new(), cap }
    }
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.data.len() + buf.len() > self.cap {
            return Err(std::io::Error::other(OverCap(self.cap)));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The header row, in column order.
pub const COLUMNS: [&str; 14] = [
    "order_id",
    "order_time",
    "event",
    "ticket_type",
    "quantity",
    "amount",
    "currency",
    "order_status",
    "buyer_name",
    "buyer_email",
    "buyer_phone",
    "promoter",
    "link_code",
    "link_label",
];

/// Makes a cell safe to open in a spreadsheet (OWASP's CSV injection rules): a cell
/// starting with `=`, `+`, `-`, `@`, a tab, a carriage return or a line feed (or the
/// full-width `＝ ＋ － ＠` some locales evaluate too) gets a leading `'`. Every cell is
/// also quoted by [`csv_writer`], so a `,` or `;` inside a cell never starts a new cell
/// in a reader of either separator.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | '＝' | '＋' | '－' | '＠') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// A plain phone number: `+` or a digit first, then only digits, spaces, dashes, dots
/// and parentheses, with at least 5 digits. It cannot call a function or name a cell,
/// so the guard leaves it as the buyer typed it.
pub fn is_plain_phone(cell: &str) -> bool {
    let mut chars = cell.chars();
    let first_ok = matches!(chars.next(), Some('+' | '0'..='9' | '('));
    first_ok
        && cell.chars().filter(char::is_ascii_digit).count() >= 5
        && cell[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
}

/// [`neutralize`] for the phone column: a plain phone number is kept as typed.
pub fn neutralize_phone(cell: &str) -> std::borrow::Cow<'_, str> {
    if is_plain_phone(cell) {
        cell.into()
    } else {
        neutralize(cell)
    }
}

/// The CSV writer of every export: RFC 4180 with CRLF, every cell quoted (OWASP), so
/// spreadsheets that split on `;` (many European locales) see the same cells.
pub fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(out)
}

/// A UTC time in the organization's zone, with its offset, to the second:
/// `2026-05-28T22:26:53+02:00`. Written digit by digit (no strftime parsing per row).
fn local_time(t: &DateTime<Utc>, tz: Option<chrono_tz::Tz>) -> StackText<40> {
    let (local, offset) = match tz {
        None | Some(chrono_tz::UTC) => (t.naive_utc(), 0),
        Some(tz) => {
            let l = t.with_timezone(&tz);
            (l.naive_local(), l.offset().fix().local_minus_utc())
        }
    };
    let (sign, off) = if offset < 0 { ('-', -offset) } else { ('+', offset) };
    StackText::of(format_args!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        off / 3600,
        off / 60 % 60
    ))
    .expect("an RFC 3339 time with offset (25 bytes) fits")
}

/// Writes one row, copying a cell only when it must be neutralized.
fn write_record<W: Write>(w: &mut csv::Writer<W>, row: &ExportRow, tz: Option<chrono_tz::Tz>) -> csv::Result<()> {
    let time = local_time(&row.ordered_at, tz);
    let quantity = row.quantity - row.refunded_quantity;
    let number = |v: &dyn std::fmt::Display| StackText::<24>::of(v).expect("an i64 (at most 21 bytes) fits");
    fn o(v: &Option<String>) -> std::borrow::Cow<'_, str> {
        neutralize(v.as_deref().unwrap_or(""))
    }
    w.write_field(neutralize(&row.order_id).as_bytes())?;
    w.write_field(time.as_str())?;
    w.write_field(neutralize(&row.event_slug).as_bytes())?;
    w.write_field(neutralize(&row.ticket_type).as_bytes())?;
    w.write_field(number(&quantity).as_str())?;
    w.write_field(number(&amount(row.amount_minor, &row.currency)).as_str())?;
    w.write_field(neutralize(&row.currency).as_bytes())?;
    w.write_field(neutralize(row.status.as_str()).as_bytes())?;
    w.write_field(o(&row.buyer_name).as_bytes())?;
    w.write_field(o(&row.buyer_email).as_bytes())?;
    w.write_field(neutralize_phone(row.buyer_phone.as_deref().unwrap_or("")).as_bytes())?;
    w.write_field(neutralize(&row.promoter).as_bytes())?;
    w.write_field(neutralize(&row.link_code).as_bytes())?;
    w.write_field(neutralize(&row.link_label).as_bytes())?;
    w.write_record(None::<&[u8]>)
}

/// Streams the export for `filter` into `out`; returns the number of data rows.
/// Order times are shown in `time_zone` with their offset.
pub async fn write_csv(
    store: &Store,
    filter: &ExportFilter,
    time_zone: &str,
    out: impl Write,
) -> Result<usize, ExportError> {
    let tz = time_zone.parse::<chrono_tz::Tz>().ok();
    // The header is fixed words: written plain, so it reads the same in every tool.
    let mut out = out;
    let mut header = COLUMNS.join(",");
    header.push_str("\r\n");
    out.write_all(header.as_bytes()).map_err(csv::Error::from)?;
    let mut w = csv_writer(out);
    let mut rows = std::pin::pin!(store.export_rows(filter));
    let mut n = 0;
    while let Some(row) = rows.try_next().await? {
        write_record(&mut w, &row, tz)?;
        n += 1;
    }
    w.flush().map_err(csv::Error::from)?;
    Ok(n)
}

/// Writes the export into a [`Capped`] file for an attachment: (bytes, rows).
pub async fn attachment(
    store: &Store,
    filter: &ExportFilter,
    time_zone: &str,
    cap: usize,
) -> Result<(Vec<u8>, usize), ExportError> {
    let mut file = Capped::new(cap);
    let rows = write_csv(store, filter, time_zone, &mut file).await?;
    Ok((file.data, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn times_show_in_the_zone_with_offset() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            local_time(&at("2026-05-28T20:26:53Z"), Some(chrono_tz::UTC)).as_str(),
            "2026-05-28T20:26:53+00:00"
        );
        assert_eq!(
            local_time(&at("2026-05-28T20:26:53Z"), None).as_str(),
            "2026-05-28T20:26:53+00:00"
        );
        assert_eq!(
            local_time(&at("2026-05-28T20:26:53Z"), Some(berlin)).as_str(),
            "2026-05-28T22:26:53+02:00"
        );
        // Fractions of a second are not shown; offsets west of UTC are negative.
        assert_eq!(
            local_time(&at("2026-05-28T20:26:53.5Z"), None).as_str(),
            "2026-05-28T20:26:53+00:00"
        );
        let la: chrono_tz::Tz = "America/St_Johns".parse().unwrap();
        assert_eq!(
            local_time(&at("2026-01-05T12:00:00Z"), Some(la)).as_str(),
            "2026-01-05T08:30:00-03:30"
        );
    }

    #[test]
    fn formula_cells_are_neutralized_and_others_kept() {
        assert_eq!(neutralize("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(neutralize("+1 555 0100"), "'+1 555 0100");
        assert_eq!(neutralize("-2"), "'-2");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("Ana Díaz"), "Ana Díaz");
        assert_eq!(neutralize(""), "");
        assert_eq!(neutralize("＝1+1"), "'＝1+1");
        // Issue 15: plain phone numbers stay as typed; anything else in that column is guarded.
        for phone in ["+49 30 1234567", "+1 (555) 010-0199", "030 123.456", "(030) 12345"] {
            assert_eq!(neutralize_phone(phone), phone);
        }
        for hostile in ["+1+cmd|' /C calc'!A0", "=1+2", "-2+3", "+SUM(A1)", "@x", "+12"] {
            assert_eq!(neutralize_phone(hostile), format!("'{hostile}"), "{hostile}");
        }
        assert_eq!(neutralize("\n=1"), "'\n=1");
    }

    /// Issue 14.8: `x;=1+1;y` must stay one cell for a reader that splits on `;`.
    #[test]
    fn separators_inside_a_cell_never_split_it_for_either_reader() {
        let mut w = csv_writer(Vec::new());
        for cell in ["x;=1+1;y", "a,=2+2", "plain", "=3+3"] {
            w.write_field(neutralize(cell).as_bytes()).unwrap();
        }
        w.write_record(None::<&[u8]>).unwrap();
        let bytes = w.into_inner().unwrap();
        for sep in [b',', b';'] {
            let mut r = csv::ReaderBuilder::new()
                .delimiter(sep)
                .has_headers(false)
                .from_reader(bytes.as_slice());
            let record = r.records().next().unwrap().unwrap();
            let cells: Vec<&str> = record.iter().collect();
            if sep == b',' {
                assert_eq!(cells, ["x;=1+1;y", "a,=2+2", "plain", "'=3+3"]);
            } else {
                // A `;` reader never splits inside the quotes: `=1+1` never becomes a cell.
                assert_eq!(cells.len(), 1, "{cells:?}");
                assert!(cells[0].starts_with("x;=1+1;y"), "{cells:?}");
            }
            assert!(cells.iter().all(|c| !c.starts_with(['=', '+', '-', '@'])), "{cells:?}");
        }
    }
}
