//! The one-line summary of a chart: its caption, its alt text and the plain-text
//! fallback where no picture can be shown.

use super::data::{DailyChart, Funnel, Series, SeriesKind};
use super::style::thousands;
use chrono::NaiveDate;

/// `Sat 12 Jul`.
pub(super) fn day_name(day: NaiveDate) -> String {
    day.format("%a %-d %b").to_string()
}

/// `1 ticket`, `1,204 tickets`.
fn tickets(n: i64) -> String {
    if n == 1 {
        "1 ticket".into()
    } else {
        format!("{} tickets", thousands(n))
    }
}

impl DailyChart {
    /// The day with the most tickets (the first of equals), if any day sold more than it refunded.
    pub fn best_day(&self) -> Option<(usize, i64)> {
        let totals = self.per_day_totals();
        let best = (0..totals.len()).max_by_key(|&i| (totals[i], std::cmp::Reverse(i)))?;
        (totals[best] > 0).then_some((best, totals[best]))
    }

    /// One line: `Summer Fest, 14 days: 182 tickets, best day Sat 12 Jul (31), top
    /// promoter Ana (54)`; or that nothing sold.
    pub fn summary(&self) -> String {
        let span = match self.days.count {
            1 => day_name(self.days.first),
            n => format!("{n} days"),
        };
        let head = format!("{}, {span}", self.title);
        if self.series.iter().all(|s| s.per_day.iter().all(|v| *v == 0)) {
            return format!("{head}: no tickets sold");
        }
        let total: i64 = self.series.iter().map(Series::total).sum();
        let mut line = format!("{head}: {}", tickets(total));
        if let Some((i, n)) = self.best_day().filter(|_| self.days.count > 1) {
            line += &format!(", best day {} ({})", day_name(self.days.date(i)), thousands(n));
        }
        let named: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| matches!(s.kind, SeriesKind::Link | SeriesKind::Promoter))
            .collect();
        if let Some(top) = named.first().filter(|t| self.series.len() > 1 && t.total() > 0) {
            let what = if top.kind == SeriesKind::Link {
                "best link"
            } else {
                "top promoter"
            };
            line += &format!(", {what} {} ({})", top.label, thousands(top.total()));
        }
        line
    }
}

impl Funnel {
    /// Clicks, orders and tickets of all rows.
    pub fn totals(&self) -> (i64, i64, i64) {
        self.rows
            .iter()
            .fold((0, 0, 0), |(c, o, t), r| (c + r.clicks, o + r.orders, t + r.tickets))
    }

    /// One line: `Summer Fest funnel: 4,210 clicks → 161 orders → 230 tickets (3.8% of
    /// clicks ordered)`; or that there is nothing yet.
    pub fn summary(&self) -> String {
        let head = format!("{} funnel", self.title);
        if self.rows.is_empty() {
            return format!("{head}: no promoters yet");
        }
        let (clicks, orders, sold) = self.totals();
        if (clicks, orders, sold) == (0, 0, 0) {
            return format!("{head}: no clicks or orders yet");
        }
        let rate = if clicks > 0 {
            format!("{} of clicks ordered", crate::money::percent(orders, clicks))
        } else {
            "no clicks".to_string()
        };
        let clicks = if clicks == 1 {
            "1 click".into()
        } else {
            format!("{} clicks", thousands(clicks))
        };
        let orders = if orders == 1 {
            "1 order".into()
        } else {
            format!("{} orders", thousands(orders))
        };
        format!("{head}: {clicks} → {orders} → {} ({rate})", tickets(sold))
    }
}
