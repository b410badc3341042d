//! What a chart shows, as plain data easy to fill from the store's rows: days, series of
//! tickets per day, funnel rows; and the builders that pick a promoter's or an organizer's view.

use crate::domain::{LinkId, MembershipId};
use chrono::{Days as ChronoDays, NaiveDate};
use std::collections::BTreeMap;

/// Most series a daily chart names; the rest are folded into one "others" series.
pub const MAX_NAMED: usize = 6;

/// The days a chart covers: `count` consecutive days of the organization's calendar
/// (its time zone), from `first`. The caller decides which days those are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub first: NaiveDate,
    pub count: usize,
}

impl Days {
    /// The `count` days ending with `last` (included).
    pub fn ending(last: NaiveDate, count: usize) -> Days {
        let back = count.saturating_sub(1) as u64;
        let first = last.checked_sub_days(ChronoDays::new(back)).unwrap_or(NaiveDate::MIN);
        Days { first, count }
    }

    /// The `i`-th day (0 is `first`).
    pub fn date(&self, i: usize) -> NaiveDate {
        self.first
            .checked_add_days(ChronoDays::new(i as u64))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Where `day` falls, if it is one of these days.
    pub fn index(&self, day: NaiveDate) -> Option<usize> {
        let i = usize::try_from((day - self.first).num_days()).ok()?;
        (i < self.count).then_some(i)
    }
}

/// What a series stands for; it decides the series' colour and where it is stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeriesKind {
    /// One of a promoter's links (promoter chart).
    Link,
    /// One promoter, all their links (organizer chart).
    Promoter,
    /// Links or promoters folded together.
    Others,
    /// The organization's own links.
    OrganizationLinks,
    /// Sales through no link or promoter.
    Direct,
}

/// Tickets per day from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The name shown in the legend (truncated with an ellipsis when long).
    pub label: String,
    pub kind: SeriesKind,
    /// One value per day of the chart: tickets net of refunds, counted on the day of the
    /// sale. A negative day (more refunded than sold) draws no bar; totals and the
    /// running total count it.
    pub per_day: Vec<i64>,
}

impl Series {
    /// Net tickets over all days.
    pub fn total(&self) -> i64 {
        self.per_day.iter().sum()
    }
}

/// Tickets per day as bars, stacked by series, with an optional running-total line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyChart {
    /// The event's name, shown as the title.
    pub title: String,
    pub days: Days,
    /// Stacked bottom to top in this order; [`fold_series`] orders them.
    pub series: Vec<Series>,
    /// Whether to draw the running total of all series as a line (right axis).
    pub cumulative: bool,
}

impl DailyChart {
    /// Net tickets of each day, all series together.
    pub fn per_day_totals(&self) -> Vec<i64> {
        let mut totals = vec![0; self.days.count];
        for s in &self.series {
            for (t, v) in totals.iter_mut().zip(&s.per_day) {
                *t += v;
            }
        }
        totals
    }

    /// A promoter's chart: their tickets per day, one series per link (the busiest
    /// [`MAX_NAMED`] named, the rest together), with the running total. Rows of other
    /// memberships, organization links and direct sales are left out: a promoter's
    /// chart can only show that promoter's sales.
    pub fn for_promoter(title: &str, days: Days, membership_id: MembershipId, rows: &[DayRow], names: &Names) -> Self {
        let mine = rows.iter().filter(|r| r.membership_id == Some(membership_id));
        let by_link = group(days, mine, |r| r.link_id);
        let series = by_link
            .into_iter()
            .map(|(link, per_day)| Series {
                label: match link {
                    Some(id) => names.link(id),
                    None => "Without a link".to_string(),
                },
                kind: SeriesKind::Link,
                per_day,
            })
            .collect();
        DailyChart {
            title: title.to_string(),
            days,
            series: fold_series(series, MAX_NAMED),
            cumulative: true,
        }
    }

    /// An organizer's chart of one event: tickets per day stacked by promoter (the top
    /// `top` named, at most [`MAX_NAMED`], the rest together), the organization's links
    /// and direct sales apart.
    pub fn for_organizer(title: &str, days: Days, rows: &[DayRow], names: &Names, top: usize) -> Self {
        let by_source = group(days, rows.iter(), |r| match (r.membership_id, r.link_id) {
            (Some(OTHER_PROMOTERS), _) => (SeriesKind::Others, OTHER_PROMOTERS),
            (Some(m), _) => (SeriesKind::Promoter, m),
            (None, Some(_)) => (SeriesKind::OrganizationLinks, MembershipId(0)),
            (None, None) => (SeriesKind::Direct, MembershipId(0)),
        });
        let series = by_source
            .into_iter()
            .map(|((kind, id), per_day)| Series {
                label: match kind {
                    SeriesKind::Promoter => names.promoter(id),
                    SeriesKind::Others => match names.other_promoters {
                        1 => "1 other promoter".to_string(),
                        n => format!("{n} other promoters"),
                    },
                    SeriesKind::OrganizationLinks => "Organization links".to_string(),
                    _ => "Direct sales".to_string(),
                },
                kind,
                per_day,
            })
            .collect();
        DailyChart {
            title: title.to_string(),
            days,
            series: fold_series(series, top.min(MAX_NAMED)),
            cumulative: false,
        }
    }
}

/// Sums rows into one per-day vector per key, in key order; rows outside `days` are left out.
fn group<'a, K: Ord>(
    days: Days,
    rows: impl Iterator<Item = &'a DayRow>,
    key: impl Fn(&DayRow) -> K,
) -> BTreeMap<K, Vec<i64>> {
    let mut out: BTreeMap<K, Vec<i64>> = BTreeMap::new();
    for r in rows {
        if let Some(i) = days.index(r.day) {
            out.entry(key(r)).or_insert_with(|| vec![0; days.count])[i] += r.tickets;
        }
    }
    out
}

/// One row of a per-day rollup: net tickets of one organization day through one source,
/// named the way the stats facts name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRow {
    pub day: NaiveDate,
    /// The promoter's membership; `None` for organization links and direct sales.
    pub membership_id: Option<MembershipId>,
    /// The link; `None` for sales through no link.
    pub link_id: Option<LinkId>,
    /// Tickets net of refunds (a refund lowers the day of its sale).
    pub tickets: i64,
}

/// Rows of promoters already summed together (by the store, past its top few): one
/// "N other promoters" series, N from [`Names::other_promoters`].
pub const OTHER_PROMOTERS: MembershipId = MembershipId(-1);

/// Display names of promoters (by membership) and links (by id), for labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub promoters: BTreeMap<MembershipId, String>,
    pub links: BTreeMap<LinkId, String>,
    /// How many promoters the [`OTHER_PROMOTERS`] rows sum.
    pub other_promoters: usize,
}

impl Names {
    fn promoter(&self, id: MembershipId) -> String {
        self.promoters
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("Promoter #{id}"))
    }

    fn link(&self, id: LinkId) -> String {
        self.links.get(&id).cloned().unwrap_or_else(|| format!("Link #{id}"))
    }
}

/// Orders series for stacking and keeps at most `named` of the links or promoters: the
/// biggest by total (ties by label, then as given), the rest summed into one "N other
/// promoters" / "N other links" series; then any `Others`, organization-link and direct
/// series, in that order. Series without a single non-zero day are dropped.
pub fn fold_series(series: Vec<Series>, named: usize) -> Vec<Series> {
    let (mut people, rest): (Vec<Series>, Vec<Series>) = series
        .into_iter()
        .filter(|s| s.per_day.iter().any(|v| *v != 0))
        .partition(|s| matches!(s.kind, SeriesKind::Link | SeriesKind::Promoter));
    people.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.label.cmp(&b.label)));
    let folded = people.split_off(named.min(people.len()));
    if let Some(first) = folded.first() {
        let word = match (first.kind, folded.len()) {
            (SeriesKind::Link, 1) => "other link",
            (SeriesKind::Link, _) => "other links",
            (_, 1) => "other promoter",
            _ => "other promoters",
        };
        let mut per_day = vec![0; first.per_day.len()];
        for s in &folded {
            for (t, v) in per_day.iter_mut().zip(&s.per_day) {
                *t += v;
            }
        }
        people.push(Series {
            label: format!("{} {word}", folded.len()),
            kind: SeriesKind::Others,
            per_day,
        });
    }
    let mut rest = rest;
    rest.sort_by_key(|s| s.kind);
    people.extend(rest);
    people
}

/// Clicks, orders and tickets of one promoter (or of a group of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelRow {
    pub label: String,
    pub clicks: i64,
    /// Orders with tickets left after refunds.
    pub orders: i64,
    /// Tickets net of refunds.
    pub tickets: i64,
}

/// Clicks → orders → tickets per promoter of one event, one row each, drawn in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funnel {
    /// The event's name, shown as the title.
    pub title: String,
    pub rows: Vec<FunnelRow>,
}

impl Funnel {
    /// The busiest `top` rows (by tickets, then orders, then clicks, ties by label) and
    /// the rest summed into one "N others" row.
    pub fn top(title: &str, mut rows: Vec<FunnelRow>, top: usize) -> Self {
        rows.sort_by(|a, b| {
            (b.tickets, b.orders, b.clicks)
                .cmp(&(a.tickets, a.orders, a.clicks))
                .then_with(|| a.label.cmp(&b.label))
        });
        let rest = rows.split_off(top.min(rows.len()));
        if !rest.is_empty() {
            let sum = |f: fn(&FunnelRow) -> i64| rest.iter().map(f).sum();
            rows.push(FunnelRow {
                label: match rest.len() {
                    1 => "1 other".to_string(),
                    n => format!("{n} others"),
                },
                clicks: sum(|r| r.clicks),
                orders: sum(|r| r.orders),
                tickets: sum(|r| r.tickets),
            });
        }
        Funnel {
            title: title.to_string(),
            rows,
        }
    }
}
