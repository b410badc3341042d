//! Charts of an event with 500 promoters over 60 days: per-day rollup rows → organizer
//! chart → PNG, and the 500-promoter funnel. Issue 19's budget: p99 ≤ 50 ms for data and
//! render together; after divan's figures the run measures p50/p99 and fails past it.
//! Run with `cargo bench --bench charts`.

use chrono::NaiveDate;
use promoterd::chart::{self, DailyChart, DayRow, Days, Funnel, FunnelRow, MAX_NAMED, Names};
use promoterd::domain::{LinkId, MembershipId};
use std::time::{Duration, Instant};

const PROMOTERS: i64 = 500;
const DAYS: usize = 60;
const BUDGET: Duration = Duration::from_millis(50);

fn main() {
    divan::main();
    // `cargo bench` passes `--bench`; elsewhere (a debug build) only a smoke pass.
    let bench = std::env::args().any(|a| a == "--bench");
    let runs = if bench { 300 } else { 3 };
    let (rows, names, days) = event();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let chart = DailyChart::for_organizer("Summer Fest", days, &rows, &names, MAX_NAMED);
            let png = chart::render_daily(&chart).unwrap();
            std::hint::black_box((png, chart.summary()));
            start.elapsed()
        })
        .collect();
    times.sort();
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "organizer chart, {PROMOTERS} promoters × {DAYS} days, data + render: p50 {:.1} ms, p99 {:.1} ms ({runs} runs)",
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3
    );
    if bench {
        assert!(p(0.99) <= BUDGET, "p99 over the {BUDGET:?} budget");
    }
}

/// One row per promoter, link and day (what a per-day rollup returns), plus the
/// organization's links and direct sales; a few promoters sell most.
fn event() -> (Vec<DayRow>, Names, Days) {
    let days = Days::ending(NaiveDate::from_ymd_opt(2025, 8, 29).unwrap(), DAYS);
    let mut seed = 19u64;
    let mut below = |n: i64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) % n.max(1) as u64) as i64
    };
    let mut rows = Vec::new();
    for i in 0..DAYS {
        let day = days.date(i);
        for p in 0..PROMOTERS {
            let tickets = below(40 / (p + 1) + 2) - i64::from(below(20) == 0);
            rows.push(DayRow {
                day,
                membership_id: Some(MembershipId(p)),
                link_id: Some(LinkId(10_000 + p)),
                tickets,
            });
        }
        rows.push(DayRow {
            day,
            membership_id: None,
            link_id: Some(LinkId(1)),
            tickets: below(8),
        });
        rows.push(DayRow {
            day,
            membership_id: None,
            link_id: None,
            tickets: below(5),
        });
    }
    let names = Names {
        promoters: (0..PROMOTERS)
            .map(|p| (MembershipId(p), format!("Promoter {p:03} with a longer name")))
            .collect(),
        links: Default::default(),
        other_promoters: 0,
    };
    (rows, names, days)
}

fn funnel_rows() -> Vec<FunnelRow> {
    (0..PROMOTERS)
        .map(|p| FunnelRow {
            label: format!("Promoter {p:03}"),
            clicks: 5_000 / (p + 1) + 3,
            orders: 200 / (p + 1),
            tickets: 300 / (p + 1),
        })
        .collect()
}

#[divan::bench]
fn organizer_chart_data_and_render(bencher: divan::Bencher) {
    let (rows, names, days) = event();
    bencher.bench(|| {
        let chart = DailyChart::for_organizer("Summer Fest", days, divan::black_box(&rows), &names, MAX_NAMED);
        chart::render_daily(&chart).unwrap().into_bytes().len()
    });
}

#[divan::bench]
fn organizer_chart_render_only(bencher: divan::Bencher) {
    let (rows, names, days) = event();
    let chart = DailyChart::for_organizer("Summer Fest", days, &rows, &names, MAX_NAMED);
    bencher.bench(|| {
        chart::render_daily(divan::black_box(&chart))
            .unwrap()
            .into_bytes()
            .len()
    });
}

#[divan::bench]
fn funnel_data_and_render(bencher: divan::Bencher) {
    let rows = funnel_rows();
    bencher.bench(|| {
        let funnel = Funnel::top("Summer Fest", divan::black_box(rows.clone()), 15);
        chart::render_funnel(&funnel).unwrap().into_bytes().len()
    });
}
