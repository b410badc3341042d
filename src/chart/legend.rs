//! The legend of a daily chart: a colour swatch and a name per series (and the running
//! total's line), flowing left to right and wrapping; long names end with "…".

use super::ChartError;
use super::daily::colours;
use super::data::DailyChart;
use super::style::{self, INK, LINE, SMALL};
use super::text::{Align, Fonts};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Widest name in the legend, in pixels.
const MAX_NAME: i32 = 360;
/// Side of a swatch, and the room between a swatch and its name.
const SWATCH: i32 = 26;
const PAD: i32 = 12;
/// Room between entries, and between rows.
const SPACE: i32 = 36;
const ROW: i32 = 44;

/// One legend entry: a bar colour or the line.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub label: String,
    pub colour: RGBColor,
    pub line: bool,
}

/// The entries of `chart`: every series when there are several, the bars and the line
/// when there is a running total; nothing for a single series alone.
pub(super) fn entries(chart: &DailyChart) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    if chart.series.len() > 1 {
        let colours = colours(&chart.series);
        for (s, colour) in chart.series.iter().zip(colours) {
            out.push(Entry {
                label: s.label.clone(),
                colour,
                line: false,
            });
        }
    } else if chart.cumulative && !chart.series.is_empty() {
        out.push(Entry {
            label: "Tickets per day".into(),
            colour: colours(&chart.series)[0],
            line: false,
        });
    }
    if chart.cumulative {
        out.push(Entry {
            label: "Running total (right axis)".into(),
            colour: LINE,
            line: true,
        });
    }
    out
}

/// The legend placed: each entry with its left edge and baseline, and where it ends.
#[derive(Debug, Clone)]
pub(super) struct Legend {
    pub placed: Vec<(Entry, i32, i32)>,
    /// The row below the legend's last line (its top when empty).
    pub bottom: i32,
}

impl Legend {
    /// Flows `entries` from (`left`, `top`) and wraps before `right`.
    pub fn lay_out(fonts: &Fonts, entries: Vec<Entry>, left: i32, top: i32, right: i32) -> Legend {
        let (mut x, mut row) = (left, 0);
        let mut placed = Vec::new();
        for mut e in entries {
            e.label = fonts.fit(&e.label, SMALL, MAX_NAME);
            let width = SWATCH + PAD + fonts.width(&e.label, SMALL);
            if x > left && x + width > right {
                x = left;
                row += 1;
            }
            let baseline = top + row * ROW + (ROW + SMALL.cap()) / 2;
            placed.push((e, x, baseline));
            x += width + SPACE;
        }
        let rows = if placed.is_empty() { 0 } else { row + 1 };
        Legend {
            placed,
            bottom: top + rows * ROW,
        }
    }

    /// Draws the swatches and names.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, fonts: &Fonts) -> Result<(), ChartError> {
        for (e, x, baseline) in &self.placed {
            let mid = baseline - SMALL.cap() / 2;
            if e.line {
                style::fill(area, (x - 4, mid - 3), (x + SWATCH + 4, mid + 3), e.colour)?;
            } else {
                style::fill(area, (*x, mid - SWATCH / 2), (x + SWATCH, mid + SWATCH / 2), e.colour)?;
            }
            let at = (x + SWATCH + PAD, *baseline);
            fonts.label(area, &e.label, at, (SMALL, INK), Align::Left)?;
        }
        Ok(())
    }
}
