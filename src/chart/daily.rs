//! The daily chart: tickets per day as bars stacked by series, an optional running total
//! on the right axis, drawn with plotters into an RGB buffer and encoded as a PNG.

use super::data::{DailyChart, Series, SeriesKind};
use super::style::{self, AXIS, BACKGROUND, GRID, INK, LINE, MARGIN, MUTED, SMALL, TEXT, TITLE, WIDTH};
use super::text::{Align, Fonts, fonts};
use super::{ChartError, Png, encode, legend};
use chrono::Datelike;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Height of the plot, in pixels; the picture is as tall as its legend makes it (about 800).
const PLOT_HEIGHT: i32 = 470;
/// Room under the plot for the day labels.
const FOOT: i32 = 48;
/// Most days a chart draws (a year, with room for a leap day).
pub const MAX_DAYS: usize = 366;
/// Widest bar, in pixels (a chart of one or two days).
const MAX_BAR: i32 = 160;
/// Space between the plot and its axis labels.
const GAP: i32 = 14;

/// Where things go: the plot rectangle, the axes and the legend.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub left: i32,
    pub right: i32,
    pub top: i32,
    pub bottom: i32,
    /// Height of the whole picture.
    pub height: u32,
    /// Left axis: (step, top value).
    pub axis: (i64, i64),
    /// Right axis of the running total, with as many steps as the left one.
    pub running: Option<(i64, i64)>,
    pub legend: legend::Legend,
    pub n: usize,
}

impl Plan {
    /// The pixel columns of day `i`'s bar, `x0..x1`.
    pub fn bar(&self, i: usize) -> (i32, i32) {
        let slot = f64::from(self.right - self.left) / self.n.max(1) as f64;
        // Gaps between bars while there is room; touching bars for long ranges.
        let width = if slot >= 5.0 {
            (slot * 0.72).floor()
        } else {
            slot.ceil()
        };
        let width = (width as i32).clamp(1, MAX_BAR);
        let centre = f64::from(self.left) + slot * (i as f64 + 0.5);
        let x0 = (centre - f64::from(width) / 2.0).round() as i32;
        (x0, x0 + width)
    }

    /// The centre column of day `i`.
    pub fn centre(&self, i: usize) -> i32 {
        let (x0, x1) = self.bar(i);
        (x0 + x1) / 2
    }

    /// The pixel row of `value` on an axis topping at `top`.
    pub fn y(&self, value: i64, top: i64) -> i32 {
        let h = f64::from(self.bottom - self.top);
        self.bottom - (value.max(0) as f64 * h / top.max(1) as f64).round() as i32
    }
}

/// Lays out `chart`: the legend under the title, the plot below it, room for the axes.
pub(super) fn plan(fonts: &Fonts, chart: &DailyChart) -> Plan {
    let empty = is_empty(chart);
    let stacks = stack_tops(chart);
    // An empty chart keeps a few grid lines (0 to 5) around its message.
    let most = if empty {
        5
    } else {
        stacks.iter().copied().max().unwrap_or(0)
    };
    let axis = style::nice_axis(most, 5);
    let running = (chart.cumulative && !empty).then(|| {
        let most = running_totals(chart).into_iter().max().unwrap_or(0);
        let steps = axis.1 / axis.0;
        let (step, _) = style::nice_axis((most + steps - 1) / steps, 1);
        (step, step * steps)
    });
    let widest = |(step, top): (i64, i64)| {
        (0..=top / step)
            .map(|k| fonts.width(&style::thousands(k * step), SMALL))
            .max()
            .unwrap_or(0)
    };
    let left = MARGIN + widest(axis) + GAP;
    let right = WIDTH as i32 - MARGIN - running.map_or(0, |r| widest(r) + GAP);
    let entries = if empty { Vec::new() } else { legend::entries(chart) };
    let legend_top = MARGIN + 100;
    let legend = legend::Legend::lay_out(fonts, entries, MARGIN, legend_top, WIDTH as i32 - MARGIN);
    let top = legend.bottom + 36;
    let bottom = top + PLOT_HEIGHT;
    Plan {
        left,
        right,
        top,
        bottom,
        height: (bottom + FOOT + MARGIN) as u32,
        axis,
        running,
        legend,
        n: chart.days.count,
    }
}

/// Draws `chart` as a PNG, 1200 wide and about 800 high (taller with a long legend).
pub fn render_daily(chart: &DailyChart) -> Result<Png, ChartError> {
    check(chart)?;
    let fonts = fonts()?;
    let plan = plan(fonts, chart);
    let mut rgb = vec![0u8; (WIDTH * plan.height * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (WIDTH, plan.height)).into_drawing_area();
        area.fill(&BACKGROUND).map_err(ChartError::draw)?;
        header(&area, fonts, chart)?;
        plan.legend.draw(&area, fonts)?;
        axes(&area, fonts, chart, &plan)?;
        if is_empty(chart) {
            let msg = match chart.days.count {
                1 => "No tickets sold on this day".to_string(),
                n => format!("No tickets sold in these {n} days"),
            };
            let mid = ((plan.left + plan.right) / 2, (plan.top + plan.bottom) / 2);
            fonts.label(&area, &msg, mid, (TEXT, MUTED), Align::Centre)?;
        } else {
            bars(&area, chart, &plan)?;
            line(&area, chart, &plan)?;
        }
        area.present().map_err(ChartError::draw)?;
    }
    encode::png(&rgb, WIDTH, plan.height)
}

/// Refuses charts it cannot draw faithfully.
fn check(chart: &DailyChart) -> Result<(), ChartError> {
    if chart.days.count > MAX_DAYS {
        return Err(ChartError::TooManyDays {
            days: chart.days.count,
            max: MAX_DAYS,
        });
    }
    match chart.series.iter().find(|s| s.per_day.len() != chart.days.count) {
        Some(s) => Err(ChartError::Misaligned {
            series: s.label.clone(),
            expected: chart.days.count,
            found: s.per_day.len(),
        }),
        None => Ok(()),
    }
}

fn is_empty(chart: &DailyChart) -> bool {
    chart.series.iter().all(|s| s.per_day.iter().all(|v| *v == 0))
}

/// Height of each day's stack: the sum of its positive values.
fn stack_tops(chart: &DailyChart) -> Vec<i64> {
    let mut tops = vec![0; chart.days.count];
    for s in &chart.series {
        for (t, v) in tops.iter_mut().zip(&s.per_day) {
            *t += (*v).max(0);
        }
    }
    tops
}

/// The running total of all series at the end of each day.
fn running_totals(chart: &DailyChart) -> Vec<i64> {
    chart
        .per_day_totals()
        .into_iter()
        .scan(0, |sum, v| {
            *sum += v;
            Some(*sum)
        })
        .collect()
}

/// Title and the line under it: what is counted and over which days.
fn header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fonts: &Fonts,
    chart: &DailyChart,
) -> Result<(), ChartError> {
    let title = fonts.fit(&chart.title, TITLE, WIDTH as i32 - 2 * MARGIN);
    fonts.label(area, &title, (MARGIN, MARGIN + TITLE.cap()), (TITLE, INK), Align::Left)?;
    let last = chart.days.date(chart.days.count.saturating_sub(1));
    let range = if chart.days.count <= 1 {
        super::summary::day_name(chart.days.first)
    } else {
        format!("{} – {}", chart.days.first.format("%-d %b"), last.format("%-d %b %Y"))
    };
    let what = if chart.cumulative {
        "Tickets per day and running total"
    } else {
        "Tickets per day"
    };
    let at = (MARGIN, MARGIN + TITLE.cap() + 46);
    fonts.label(area, &format!("{what}, {range}"), at, (TEXT, MUTED), Align::Left)
}

/// Grid lines and labels of both axes, and the day labels under the plot.
fn axes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fonts: &Fonts,
    chart: &DailyChart,
    plan: &Plan,
) -> Result<(), ChartError> {
    let (step, top) = plan.axis;
    for k in 0..=top / step {
        let y = plan.y(k * step, top);
        let colour = if k == 0 { AXIS } else { GRID };
        style::fill(area, (plan.left, y), (plan.right, y + 1), colour)?;
        let at = (plan.left - GAP, y + SMALL.cap() / 2);
        fonts.label(area, &style::thousands(k * step), at, (SMALL, MUTED), Align::Right)?;
        if let Some((rstep, _)) = plan.running {
            let at = (plan.right + GAP, y + SMALL.cap() / 2);
            fonts.label(area, &style::thousands(k * rstep), at, (SMALL, LINE), Align::Left)?;
        }
    }
    day_labels(area, fonts, chart, plan)
}

/// Day labels under the plot, with a tick on each labelled day and small ticks on the
/// others when the labels skip days.
fn day_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fonts: &Fonts,
    chart: &DailyChart,
    plan: &Plan,
) -> Result<(), ChartError> {
    let labels = which_labels(fonts, chart, plan);
    if labels.len() < chart.days.count && chart.days.count <= 120 {
        for i in 0..chart.days.count {
            let x = plan.centre(i);
            style::fill(area, (x, plan.bottom), (x + 1, plan.bottom + 5), AXIS)?;
        }
    }
    let baseline = plan.bottom + GAP + SMALL.cap() + 4;
    for (i, text) in labels {
        let x = plan.centre(i);
        style::fill(area, (x, plan.bottom), (x + 1, plan.bottom + 10), AXIS)?;
        fonts.label(area, &text, (x, baseline), (SMALL, MUTED), Align::Centre)?;
    }
    Ok(())
}

/// The labelled days, as dense as fits: every day ("Tue 1 Jul" up to six days), every
/// other or third day, weekly on Mondays, or monthly on the 1st ("Aug", "Jan 2026").
fn which_labels(fonts: &Fonts, chart: &DailyChart, plan: &Plan) -> Vec<(usize, String)> {
    let days = chart.days;
    let n = days.count;
    let long = n <= 6;
    let room = fonts.width(if long { "Wed 30 Sep" } else { "30 Sep" }, SMALL) + 24;
    let fits = ((plan.right - plan.left) / room).max(1) as usize;
    let format = if long { "%a %-d %b" } else { "%-d %b" };
    let every = |step: usize, start: usize| -> Vec<(usize, String)> {
        (start..n)
            .step_by(step)
            .map(|i| (i, days.date(i).format(format).to_string()))
            .collect()
    };
    if let Some(step) = [1, 2, 3].into_iter().find(|s| n.div_ceil(*s) <= fits) {
        return every(step, 0);
    }
    if n.div_ceil(7) <= fits {
        let monday = (0..n.min(7)).find(|i| days.date(*i).weekday() == chrono::Weekday::Mon);
        return every(7, monday.unwrap_or(0));
    }
    let firsts: Vec<usize> = (0..n).filter(|i| days.date(*i).day() == 1).collect();
    let step = firsts.len().div_ceil(fits).max(1);
    firsts
        .into_iter()
        .step_by(step)
        .map(|i| {
            let d = days.date(i);
            let format = if d.month() == 1 { "%b %Y" } else { "%b" };
            (i, d.format(format).to_string())
        })
        .collect()
}

/// The bars: each day's positive values stacked in series order; zero draws nothing.
fn bars<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &DailyChart, plan: &Plan) -> Result<(), ChartError> {
    let top = plan.axis.1;
    let colours = colours(&chart.series);
    for i in 0..plan.n {
        let (x0, x1) = plan.bar(i);
        let mut below = 0;
        for (s, colour) in chart.series.iter().zip(&colours) {
            let v = s.per_day[i].max(0);
            if v == 0 {
                continue;
            }
            let (y0, y1) = (plan.y(below + v, top), plan.y(below, top));
            // A white line between stacked segments, when there is room for it.
            let gap = i32::from(below > 0 && y1 - y0 > 2);
            below += v;
            if y0 < y1 {
                style::fill(area, (x0, y0), (x1, y1 - gap), *colour)?;
            }
        }
    }
    Ok(())
}

/// Each series' colour: named ones take the palette in order, the others by kind.
pub(super) fn colours(series: &[Series]) -> Vec<RGBColor> {
    let mut named = 0;
    series
        .iter()
        .map(|s| {
            let c = style::series_colour(s.kind, named);
            if matches!(s.kind, SeriesKind::Link | SeriesKind::Promoter) {
                named += 1;
            }
            c
        })
        .collect()
}

/// The running total as a thick black line over the bars, dots on each day when few.
fn line<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &DailyChart, plan: &Plan) -> Result<(), ChartError> {
    let Some((_, top)) = plan.running else {
        return Ok(());
    };
    let points: Vec<(i32, i32)> = running_totals(chart)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (plan.centre(i), plan.y(v, top)))
        .collect();
    let stroke = ShapeStyle::from(&LINE).stroke_width(5);
    area.draw(&PathElement::new(points.clone(), stroke))
        .map_err(ChartError::draw)?;
    if plan.n <= 31 {
        for p in points {
            area.draw(&Circle::new(p, 7, LINE.filled())).map_err(ChartError::draw)?;
        }
    }
    Ok(())
}
