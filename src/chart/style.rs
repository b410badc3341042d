//! The look shared by every chart: size, type sizes, the Okabe–Ito palette, "nice"
//! axis steps and numbers with thousands separators.

use super::ChartError;
use super::data::SeriesKind;
use super::text::Face;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Width of every chart, in pixels (phones scale it down; the type is sized for that).
pub(super) const WIDTH: u32 = 1200;
/// Outer margin.
pub(super) const MARGIN: i32 = 40;
/// Type: the title, the line under it, and labels (legend, axes, rows); font sizes in
/// pixels of a 1200-pixel-wide picture.
pub(super) const TITLE: Face = Face { size: 42.0, bold: true };
pub(super) const TEXT: Face = Face {
    size: 28.0,
    bold: false,
};
pub(super) const SMALL: Face = Face {
    size: 26.0,
    bold: false,
};
pub(super) const SMALL_BOLD: Face = Face { size: 26.0, bold: true };

pub(super) const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
/// Titles, labels and values: near-black on white.
pub(super) const INK: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
/// Axis labels and secondary text, still over 7:1 on white.
pub(super) const MUTED: RGBColor = RGBColor(0x4d, 0x4d, 0x4d);
pub(super) const GRID: RGBColor = RGBColor(0xe3, 0xe3, 0xe3);
pub(super) const AXIS: RGBColor = RGBColor(0x80, 0x80, 0x80);
/// The running-total line: the ink, so its axis labels share a colour with the text.
pub(super) const LINE: RGBColor = INK;

/// Okabe–Ito colours for named series, in order: blue, orange, bluish green, reddish
/// purple, sky blue, vermillion. They stay apart for the common colour-vision deficiencies.
pub(super) const NAMED: [RGBColor; 6] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0xd5, 0x5e, 0x00),
];
/// Folded series: light grey.
pub(super) const OTHERS: RGBColor = RGBColor(0xbb, 0xbb, 0xbb);
/// Organization links: Okabe–Ito yellow.
pub(super) const ORG_LINKS: RGBColor = RGBColor(0xf0, 0xe4, 0x42);
/// Direct sales: dark grey.
pub(super) const DIRECT: RGBColor = RGBColor(0x5a, 0x5a, 0x5a);

/// The colour of the `i`-th series of a chart, by its kind.
pub(super) fn series_colour(kind: SeriesKind, named_index: usize) -> RGBColor {
    match kind {
        SeriesKind::Link | SeriesKind::Promoter => NAMED[named_index % NAMED.len()],
        SeriesKind::Others => OTHERS,
        SeriesKind::OrganizationLinks => ORG_LINKS,
        SeriesKind::Direct => DIRECT,
    }
}

/// Fills the pixels from `from` to `to`, `to`'s column and row excluded (how plotters'
/// bitmap backend fills a filled rectangle's corners).
pub(super) fn fill<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    from: (i32, i32),
    to: (i32, i32),
    colour: RGBColor,
) -> Result<(), ChartError> {
    area.draw(&Rectangle::new([from, to], colour.filled()))
        .map_err(ChartError::draw)
}

/// A step of 1, 2, 2.5 or 5 times a power of ten (no 2.5 below 10) so that `0..=max`
/// takes at most `ticks` steps; and the axis top, a whole number of steps at or above
/// `max` (at least one step).
pub(super) fn nice_axis(max: i64, ticks: i64) -> (i64, i64) {
    let max = max.max(1);
    let ticks = ticks.max(1);
    let mut unit = 1i64;
    loop {
        let quarter = if unit >= 10 { unit * 5 / 2 } else { unit * 2 };
        for step in [unit, unit * 2, quarter, unit * 5] {
            if (max + step - 1) / step <= ticks {
                return (step, (max + step - 1) / step * step);
            }
        }
        unit *= 10;
    }
}

/// `1234567` → `1,234,567`.
pub(super) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
