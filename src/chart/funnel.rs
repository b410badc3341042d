//! The funnel chart: one row per promoter, clicks → orders → tickets as three columns of
//! bars (each on its own scale, the number beside each bar) and the share of clicks that ordered.

use super::data::{Funnel, FunnelRow};
use super::style::{self, AXIS, BACKGROUND, INK, MARGIN, MUTED, NAMED, SMALL, SMALL_BOLD, TEXT, TITLE, WIDTH};
use super::text::{Align, Fonts, fonts};
use super::{ChartError, Png, encode};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most rows drawn; beyond, the smallest are folded into one "N others" row.
pub const MAX_ROWS: usize = 20;
/// Height of a row, of a bar in it, and where the first row starts.
const ROW: i32 = 58;
const BAR: i32 = 32;
const FIRST_ROW: i32 = MARGIN + 176;
/// Width of the names column and of the "ordered" column.
const NAME_W: i32 = 290;
const RATE_W: i32 = 130;
const GUTTER: i32 = 20;
/// Zebra stripes behind every other row, to follow a row across on a phone.
const STRIPE: RGBColor = RGBColor(0xf2, 0xf2, 0xf2);
/// Clicks in sky blue, orders in orange, tickets in blue (Okabe–Ito).
const METRICS: [(&str, RGBColor); 3] = [("Clicks", NAMED[4]), ("Orders", NAMED[1]), ("Tickets", NAMED[0])];

/// Height of a funnel of `rows` rows (after folding), in pixels.
pub(super) fn height(rows: usize) -> u32 {
    let rows = rows.max(1) as i32 + 1; // and the total
    (FIRST_ROW + rows * ROW + 16 + MARGIN) as u32
}

/// Left edge and width of metric `m`'s column (its bars and numbers).
pub(super) fn column(m: usize) -> (i32, i32) {
    let start = MARGIN + NAME_W + GUTTER;
    let end = WIDTH as i32 - MARGIN - RATE_W - GUTTER;
    let width = (end - start - 2 * GUTTER) / 3;
    (start + m as i32 * (width + GUTTER), width)
}

/// Draws `funnel` as a PNG, 1200 wide, one row per promoter and a total. Past
/// [`MAX_ROWS`] rows, the rows are ordered and folded as [`Funnel::top`] does.
pub fn render_funnel(funnel: &Funnel) -> Result<Png, ChartError> {
    let fonts = fonts()?;
    let folded;
    let funnel = if funnel.rows.len() > MAX_ROWS {
        folded = Funnel::top(&funnel.title, funnel.rows.clone(), MAX_ROWS - 1);
        &folded
    } else {
        funnel
    };
    let h = height(funnel.rows.len());
    let mut rgb = vec![0u8; (WIDTH * h * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (WIDTH, h)).into_drawing_area();
        area.fill(&BACKGROUND).map_err(ChartError::draw)?;
        header(&area, fonts, funnel)?;
        if funnel.rows.is_empty() {
            let at = (WIDTH as i32 / 2, FIRST_ROW + ROW);
            fonts.label(&area, "No promoters yet", at, (TEXT, MUTED), Align::Centre)?;
        } else {
            let most = |f: fn(&FunnelRow) -> i64| funnel.rows.iter().map(f).max().unwrap_or(0);
            let scale = [most(|r| r.clicks), most(|r| r.orders), most(|r| r.tickets)];
            for (i, r) in funnel.rows.iter().enumerate() {
                row(&area, fonts, (i, r), scale)?;
            }
            total(&area, fonts, funnel)?;
        }
        area.present().map_err(ChartError::draw)?;
    }
    encode::png(&rgb, WIDTH, h)
}

/// Title, subtitle and the column headings.
fn header<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, fonts: &Fonts, funnel: &Funnel) -> Result<(), ChartError> {
    let title = fonts.fit(&funnel.title, TITLE, WIDTH as i32 - 2 * MARGIN);
    fonts.label(area, &title, (MARGIN, MARGIN + TITLE.cap()), (TITLE, INK), Align::Left)?;
    let what = "Clicks → orders → tickets per promoter; ordered: orders per click";
    let at = (MARGIN, MARGIN + TITLE.cap() + 46);
    fonts.label(area, what, at, (TEXT, MUTED), Align::Left)?;
    let baseline = FIRST_ROW - 18;
    fonts.label(area, "Promoter", (MARGIN, baseline), (SMALL_BOLD, INK), Align::Left)?;
    for (m, (name, _)) in METRICS.iter().enumerate() {
        let (x, _) = column(m);
        fonts.label(area, name, (x, baseline), (SMALL_BOLD, INK), Align::Left)?;
    }
    let right = WIDTH as i32 - MARGIN;
    fonts.label(area, "Ordered", (right, baseline), (SMALL_BOLD, INK), Align::Right)
}

/// The pixel rows of row `i`'s bars, `y0..y1`, and its text baseline.
pub(super) fn row_span(i: usize) -> (i32, i32, i32) {
    let top = FIRST_ROW + i as i32 * ROW;
    let y0 = top + (ROW - BAR) / 2;
    (y0, y0 + BAR, top + (ROW + SMALL.cap()) / 2)
}

/// One promoter's row: stripe, name, three bars with their numbers, the rate.
fn row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fonts: &Fonts,
    (i, r): (usize, &FunnelRow),
    scale: [i64; 3],
) -> Result<(), ChartError> {
    let top = FIRST_ROW + i as i32 * ROW;
    if i % 2 == 1 {
        style::fill(
            area,
            (MARGIN - 12, top),
            (WIDTH as i32 - MARGIN + 12, top + ROW),
            STRIPE,
        )?;
    }
    let (y0, y1, baseline) = row_span(i);
    let name = fonts.fit(&r.label, SMALL, NAME_W);
    fonts.label(area, &name, (MARGIN, baseline), (SMALL, INK), Align::Left)?;
    let values = [r.clicks, r.orders, r.tickets];
    for (m, (_, colour)) in METRICS.iter().enumerate() {
        let (x, width) = column(m);
        // Room for the widest number of the column beside the longest bar.
        let room = width - fonts.width(&style::thousands(scale[m]), SMALL) - 10;
        let len = (values[m].max(0) as f64 * f64::from(room) / scale[m].max(1) as f64).round() as i32;
        if len > 0 {
            style::fill(area, (x, y0), (x + len, y1), *colour)?;
        }
        let ink = if values[m] == 0 { MUTED } else { INK };
        let text = style::thousands(values[m]);
        fonts.label(area, &text, (x + len + 8, baseline), (SMALL, ink), Align::Left)?;
    }
    let rate = crate::money::percent(r.orders, r.clicks);
    fonts.label(
        area,
        &rate,
        (WIDTH as i32 - MARGIN, baseline),
        (SMALL, INK),
        Align::Right,
    )
}

/// The total row under a rule: all clicks, orders, tickets and the overall rate.
fn total<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, fonts: &Fonts, funnel: &Funnel) -> Result<(), ChartError> {
    let i = funnel.rows.len();
    let top = FIRST_ROW + i as i32 * ROW + 8;
    style::fill(area, (MARGIN - 12, top), (WIDTH as i32 - MARGIN + 12, top + 2), AXIS)?;
    let (_, _, baseline) = row_span(i);
    let baseline = baseline + 8;
    fonts.label(area, "Total", (MARGIN, baseline), (SMALL_BOLD, INK), Align::Left)?;
    let (clicks, orders, tickets) = funnel.totals();
    for (m, v) in [clicks, orders, tickets].into_iter().enumerate() {
        let (x, _) = column(m);
        fonts.label(
            area,
            &style::thousands(v),
            (x, baseline),
            (SMALL_BOLD, INK),
            Align::Left,
        )?;
    }
    let rate = crate::money::percent(orders, clicks);
    let at = (WIDTH as i32 - MARGIN, baseline);
    fonts.label(area, &rate, at, (SMALL_BOLD, INK), Align::Right)
}
