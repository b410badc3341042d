//! Charts of sales over time as PNG pictures, pure: plain data in, deterministic bytes
//! and a one-line summary out; no store, no I/O, no front-end types (issue #19).
//!
//! - [`DailyChart`]: tickets per day as bars (stacked by series) with an optional
//!   running total line. [`DailyChart::for_promoter`] builds a promoter's chart (their
//!   links), [`DailyChart::for_organizer`] an organizer's (top promoters named, the rest
//!   together, organization links and direct sales apart) from per-day rollup rows.
//! - [`Funnel`]: clicks → orders → tickets per promoter.
//! - [`render_daily`], [`render_funnel`] draw them with plotters into an RGB buffer
//!   and encode an indexed PNG; the font is embedded (DejaVu Sans, `assets/fonts/`) and
//!   drawn with ab_glyph, so no system font or fontconfig is involved.
//! - [`DailyChart::summary`], [`Funnel::summary`]: the caption, alt text and the
//!   plain-text fallback, e.g. `Summer Fest, 14 days: 182 tickets, best day Sat 12 Jul (31)`.

mod daily;
mod data;
mod encode;
mod funnel;
mod legend;
mod style;
mod summary;
#[cfg(test)]
mod tests;
mod text;

pub use daily::{MAX_DAYS, render_daily};
pub use data::{
    DailyChart, DayRow, Days, Funnel, FunnelRow, MAX_NAMED, Names, OTHER_PROMOTERS, Series, SeriesKind, fold_series,
};
pub use funnel::{MAX_ROWS, render_funnel};

/// An encoded PNG image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png(Vec<u8>);

impl Png {
    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The encoded bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    /// A series has not one value per day of the chart.
    #[error("series {series:?} has {found} values for {expected} days")]
    Misaligned {
        series: String,
        expected: usize,
        found: usize,
    },
    /// More days than a chart can show one bar each for.
    #[error("{days} days is more than a chart shows ({max} at most)")]
    TooManyDays { days: usize, max: usize },
    /// The embedded font could not be loaded (a bug: it is checked by the tests).
    #[error("the chart font could not be loaded")]
    Font,
    /// Drawing failed inside plotters.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// Encoding the PNG failed.
    #[error("encoding the chart failed: {0}")]
    Encode(String),
}

impl ChartError {
    fn draw(e: impl std::fmt::Display) -> Self {
        ChartError::Draw(e.to_string())
    }
}
