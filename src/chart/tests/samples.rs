//! Fixed sample data for the chart tests and the pictures in `docs/charts/`.

use crate::chart::*;
use crate::domain::{LinkId, MembershipId};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The promoter whose chart the samples draw.
pub const PROMOTER: MembershipId = MembershipId(7);

fn first() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()
}

/// A small deterministic generator (an LCG), so samples need no crate.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1)) as i64
    }
}

/// 14 days of the promoter's three links (one refund among them) and another promoter's link.
pub fn promoter_rows() -> Vec<DayRow> {
    let links: [(i64, [i64; 14]); 3] = [
        (2, [2, 3, 0, 4, 5, 3, 2, 0, 4, 6, 5, 9, 6, 4]),
        (1, [1, 2, 0, 3, 2, 4, 1, 0, 3, 4, 3, 10, 5, 2]),
        (3, [0, 1, 0, 2, 1, 3, 2, 0, 2, 3, 2, 5, 4, 2]),
    ];
    let mut rows = Vec::new();
    for (link, per_day) in links {
        for (i, tickets) in per_day.into_iter().enumerate() {
            let day = first() + chrono::Days::new(i as u64);
            rows.push(DayRow {
                day,
                membership_id: Some(PROMOTER),
                link_id: Some(LinkId(link)),
                tickets,
            });
        }
    }
    // A sale of two and a refund of one on the same day: its day nets one more.
    let day = first() + chrono::Days::new(4);
    rows.push(DayRow {
        day,
        membership_id: Some(PROMOTER),
        link_id: Some(LinkId(2)),
        tickets: 2,
    });
    rows.push(DayRow {
        day,
        membership_id: Some(PROMOTER),
        link_id: Some(LinkId(2)),
        tickets: -2,
    });
    for i in 0..14 {
        let day = first() + chrono::Days::new(i);
        rows.push(DayRow {
            day,
            membership_id: Some(MembershipId(8)),
            link_id: Some(LinkId(9)),
            tickets: 30,
        });
    }
    rows
}

pub fn names() -> Names {
    let links = [
        (1, "Instagram bio"),
        (2, "TikTok"),
        (3, "Flyers – Uni campus"),
        (9, "Someone else's link"),
    ];
    let promoters = PROMOTER_NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| (MembershipId(i as i64 + 100), n.to_string()));
    Names {
        promoters: promoters.collect::<BTreeMap<_, _>>(),
        links: links.into_iter().map(|(id, n)| (LinkId(id), n.to_string())).collect(),
        other_promoters: 0,
    }
}

pub fn promoter_chart() -> DailyChart {
    let days = Days {
        first: first(),
        count: 14,
    };
    DailyChart::for_promoter("Summer Fest", days, PROMOTER, &promoter_rows(), &names())
}

pub const PROMOTER_NAMES: [&str; 12] = [
    "Ana Silva",
    "José María Fernández-González de la Torre",
    "Zoë Ångström",
    "Łukasz Wójcik",
    "Дмитрий Иванов",
    "Bo Li",
    "Chloé Martin",
    "Priya Natarajan",
    "Sam O'Connor",
    "Mia",
    "Tom",
    "Lee",
];

/// 30 days of 40 promoters (the first twelve named), organization links and direct sales.
pub fn organizer_rows() -> Vec<DayRow> {
    let mut lcg = Lcg::new(19);
    let mut rows = Vec::new();
    for i in 0..30u64 {
        let day = first() + chrono::Days::new(i);
        // Sales build up towards the event, with a weekend bump.
        let busy = 1 + i as i64 / 6 + if i % 7 >= 3 && i % 7 <= 4 { 2 } else { 0 };
        for p in 0..40i64 {
            // A few promoters sell most: the n-th about 1/n of the first.
            let weight = 24 / (p + 1) + 1;
            let tickets = lcg.below((busy * weight) as u64 / 2 + 1) - i64::from(lcg.below(12) == 0);
            let (membership_id, link_id) = (Some(MembershipId(100 + p)), Some(LinkId(1000 + p)));
            rows.push(DayRow {
                day,
                membership_id,
                link_id,
                tickets,
            });
        }
        rows.push(DayRow {
            day,
            membership_id: None,
            link_id: Some(LinkId(5)),
            tickets: lcg.below(busy as u64 * 2 + 1),
        });
        rows.push(DayRow {
            day,
            membership_id: None,
            link_id: None,
            tickets: lcg.below(busy as u64 + 2),
        });
    }
    rows
}

pub fn organizer_chart() -> DailyChart {
    let days = Days {
        first: first(),
        count: 30,
    };
    DailyChart::for_organizer("Summer Fest", days, &organizer_rows(), &names(), MAX_NAMED)
}

pub fn row(label: &str, clicks: i64, orders: i64, tickets: i64) -> FunnelRow {
    FunnelRow {
        label: label.into(),
        clicks,
        orders,
        tickets,
    }
}

/// Twelve promoters' clicks, orders and tickets: the top ten and "2 others".
pub fn funnel() -> Funnel {
    let counts = [
        (980, 41, 58),
        (400, 14, 20),
        (610, 22, 31),
        (450, 17, 25),
        (310, 11, 16),
        (720, 30, 44),
        (260, 9, 12),
        (190, 6, 9),
        (120, 4, 6),
        (90, 3, 4),
        (50, 2, 3),
        (30, 2, 2),
    ];
    let rows = PROMOTER_NAMES
        .iter()
        .zip(counts)
        .map(|(n, (c, o, t))| row(n, c, o, t))
        .collect();
    Funnel::top("Summer Fest", rows, 10)
}

/// `days` days of `n` series: named promoters, then others, organization links, direct.
pub fn busy_chart(days: usize, n: usize) -> DailyChart {
    let mut lcg = Lcg::new(90);
    let kind = |i: usize| match n - i {
        1 => SeriesKind::Direct,
        2 => SeriesKind::OrganizationLinks,
        3 => SeriesKind::Others,
        _ => SeriesKind::Promoter,
    };
    let series = (0..n)
        .map(|i| Series {
            label: format!("Promoter number {i}"),
            kind: kind(i),
            per_day: (0..days).map(|_| lcg.below(12)).collect(),
        })
        .collect();
    DailyChart {
        title: "Autumn Fest".into(),
        days: Days {
            first: first(),
            count: days,
        },
        series,
        cumulative: true,
    }
}
