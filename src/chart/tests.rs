//! Charts of known data, read back from their PNG bytes: size, where the bars are, what
//! a refund or an empty day does, that the same data gives the same bytes.

use super::daily::{self, Plan};
use super::*;
use chrono::NaiveDate;

mod samples;
use samples::*;

/// A decoded PNG: width, height, RGB pixels.
struct Image {
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(png: &Png) -> Image {
        let mut dec = png::Decoder::new(std::io::Cursor::new(png.bytes()));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut reader = dec.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        rgb.truncate(info.buffer_size());
        Image {
            w: info.width,
            h: info.height,
            rgb,
        }
    }

    fn at(&self, x: i32, y: i32) -> [u8; 3] {
        let i = (y as usize * self.w as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The highest row of the plot where day `i`'s centre column has `colour`.
    fn bar_top(&self, plan: &Plan, i: usize, colour: [u8; 3]) -> Option<i32> {
        let x = plan.centre(i);
        (plan.top..plan.bottom).find(|y| self.at(x, *y) == colour)
    }
}

fn plan(chart: &DailyChart) -> Plan {
    daily::plan(text::fonts().unwrap(), chart)
}

const BLUE: [u8; 3] = [0x00, 0x72, 0xb2];

fn one_series(per_day: Vec<i64>) -> DailyChart {
    DailyChart {
        title: "Summer Fest".into(),
        days: Days {
            first: day(1),
            count: per_day.len(),
        },
        series: vec![Series {
            label: "Instagram".into(),
            kind: SeriesKind::Link,
            per_day,
        }],
        cumulative: false,
    }
}

#[test]
fn a_daily_chart_is_wide_enough_for_a_phone() {
    let chart = promoter_chart();
    let img = Image::decode(&render_daily(&chart).unwrap());
    assert_eq!((img.w, img.h), (1200, plan(&chart).height));
    assert!(img.w >= 1080 && (700..900).contains(&img.h), "{} × {}", img.w, img.h);
}

#[test]
fn the_tallest_bar_is_on_the_best_day_and_an_empty_day_has_none() {
    let chart = one_series(vec![3, 0, 5, 12, 4, 0, 7]);
    let img = Image::decode(&render_daily(&chart).unwrap());
    let plan = plan(&chart);
    let tops: Vec<Option<i32>> = (0..7).map(|i| img.bar_top(&plan, i, BLUE)).collect();
    let tallest = (0..7).min_by_key(|i| tops[*i].unwrap_or(i32::MAX)).unwrap();
    assert_eq!(tallest, 3, "{tops:?}");
    assert_eq!(chart.best_day(), Some((3, 12)));
    for empty in [1, 5] {
        assert_eq!(tops[empty], None, "day {empty} sold nothing: {tops:?}");
        let (x0, x1) = plan.bar(empty);
        for x in x0..x1 {
            for y in plan.top..plan.bottom - 2 {
                assert_ne!(img.at(x, y), BLUE, "bar pixel at ({x}, {y}) on an empty day");
            }
        }
    }
}

#[test]
fn a_refund_lowers_its_day() {
    let before = one_series(vec![3, 9, 12, 4]);
    let mut after = before.clone();
    after.series[0].per_day[1] -= 2; // two tickets of day 1 refunded
    let layout = plan(&before);
    assert_eq!(layout.axis, plan(&after).axis, "same scale");
    let top = |chart: &DailyChart| {
        Image::decode(&render_daily(chart).unwrap())
            .bar_top(&layout, 1, BLUE)
            .unwrap()
    };
    assert!(top(&after) > top(&before), "the refunded day's bar is lower");
    assert!(after.summary().contains("26 tickets"), "{}", after.summary());
}

#[test]
fn a_day_refunding_more_than_it_sold_draws_no_bar_but_counts() {
    let chart = one_series(vec![5, -2, 4]);
    let img = Image::decode(&render_daily(&chart).unwrap());
    assert_eq!(img.bar_top(&plan(&chart), 1, BLUE), None);
    assert!(chart.summary().contains(": 7 tickets, best day"), "{}", chart.summary());
}

#[test]
fn stacked_series_keep_their_own_colours() {
    let chart = organizer_chart();
    let img = Image::decode(&render_daily(&chart).unwrap());
    let plan = plan(&chart);
    let colours = daily::colours(&chart.series);
    let seen =
        |c: &plotters::style::RGBColor| (0..chart.days.count).any(|i| img.bar_top(&plan, i, [c.0, c.1, c.2]).is_some());
    assert!(colours.iter().all(seen), "every series shows on some day");
}

#[test]
fn a_promoter_chart_holds_only_that_promoters_links() {
    let chart = promoter_chart();
    let labels: Vec<&str> = chart.series.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["TikTok", "Instagram bio", "Flyers – Uni campus"]);
    assert!(chart.series.iter().all(|s| s.kind == SeriesKind::Link));
    let theirs: i64 = promoter_rows()
        .iter()
        .filter(|r| r.membership_id == Some(PROMOTER))
        .map(|r| r.tickets)
        .sum();
    let shown: i64 = chart.series.iter().map(Series::total).sum();
    assert_eq!(shown, theirs, "other people's rows are left out");
}

#[test]
fn the_organizer_chart_names_the_top_promoters_and_keeps_the_rest_apart() {
    let chart = organizer_chart();
    let kinds: Vec<SeriesKind> = chart.series.iter().map(|s| s.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == SeriesKind::Promoter).count(), MAX_NAMED);
    assert_eq!(
        &kinds[MAX_NAMED..],
        [SeriesKind::Others, SeriesKind::OrganizationLinks, SeriesKind::Direct]
    );
    let totals: Vec<i64> = chart.series[..MAX_NAMED].iter().map(Series::total).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    let all: i64 = organizer_rows().iter().map(|r| r.tickets).sum();
    assert_eq!(chart.series.iter().map(Series::total).sum::<i64>(), all);
}

#[test]
fn folding_breaks_ties_by_label() {
    let s = |label: &str, v: i64| Series {
        label: label.into(),
        kind: SeriesKind::Promoter,
        per_day: vec![v],
    };
    let folded = fold_series(vec![s("Cy", 2), s("Al", 2), s("Bo", 3), s("Di", 1)], 2);
    let labels: Vec<&str> = folded.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["Bo", "Al", "2 other promoters"]);
    assert_eq!(folded[2].per_day, [3]);
}

#[test]
fn the_same_data_gives_the_same_bytes() {
    let chart = organizer_chart();
    assert_eq!(render_daily(&chart).unwrap(), render_daily(&chart.clone()).unwrap());
    let funnel = funnel();
    assert_eq!(render_funnel(&funnel).unwrap(), render_funnel(&funnel.clone()).unwrap());
}

#[test]
fn ninety_days_of_twelve_series_stay_small() {
    let chart = busy_chart(90, 12);
    assert_eq!(chart.series.len(), 12);
    let png = render_daily(&chart).unwrap();
    assert!(png.bytes().len() < 150_000, "{} bytes", png.bytes().len());
    let img = Image::decode(&png);
    assert_eq!(img.w, 1200);
}

#[test]
fn empty_single_day_and_long_charts_render() {
    let nothing = one_series(vec![0; 14]);
    assert_eq!(nothing.summary(), "Summer Fest, 14 days: no tickets sold");
    let img = Image::decode(&render_daily(&nothing).unwrap());
    let plan = plan(&nothing);
    assert!((0..14).all(|i| img.bar_top(&plan, i, BLUE).is_none()));
    let one = one_series(vec![5]);
    assert_eq!(one.summary(), "Summer Fest, Tue 1 Jul: 5 tickets");
    render_daily(&one).unwrap();
    let none = one_series(vec![]);
    render_daily(&none).unwrap();
    let year = one_series(vec![1; MAX_DAYS]);
    render_daily(&year).unwrap();
    let too_long = one_series(vec![1; MAX_DAYS + 1]);
    assert!(matches!(render_daily(&too_long), Err(ChartError::TooManyDays { .. })));
}

#[test]
fn a_series_of_the_wrong_length_is_refused() {
    let mut chart = one_series(vec![1, 2, 3]);
    chart.series[0].per_day.pop();
    assert!(matches!(
        render_daily(&chart),
        Err(ChartError::Misaligned { found: 2, .. })
    ));
}

#[test]
fn summaries_name_totals_and_the_best_day() {
    assert_eq!(
        promoter_chart().summary(),
        "Summer Fest, 14 days: 120 tickets, best day Sat 12 Jul (24), best link TikTok (53)"
    );
    assert_eq!(
        funnel().summary(),
        "Summer Fest funnel: 4,210 clicks → 161 orders → 230 tickets (3.8% of clicks ordered)"
    );
    let empty = Funnel::top("Summer Fest", vec![], 10);
    assert_eq!(empty.summary(), "Summer Fest funnel: no promoters yet");
    render_funnel(&empty).unwrap();
}

#[test]
fn a_funnel_grows_with_its_rows_and_folds_the_smallest() {
    let img = Image::decode(&render_funnel(&funnel()).unwrap());
    assert_eq!((img.w, img.h), (1200, funnel::height(funnel().rows.len())));
    let many: Vec<FunnelRow> = (0..500)
        .map(|i| row(&format!("P{i:03}"), 100 + i, i / 10, i / 8))
        .collect();
    let img = Image::decode(&render_funnel(&Funnel::top("Big", many.clone(), 500)).unwrap());
    assert_eq!(img.h, funnel::height(MAX_ROWS));
    let top = Funnel::top("Big", many, 10);
    assert_eq!(top.rows.len(), 11);
    assert_eq!(top.rows[0].label, "P499");
    assert_eq!(top.rows[10].label, "490 others");
}

#[test]
fn long_and_non_ascii_names_fit() {
    let fonts = text::fonts().unwrap();
    let cut = fonts.fit("José María Fernández-González de la Torre y Ñúñez", style::SMALL, 300);
    assert!(cut.ends_with('…') && fonts.width(&cut, style::SMALL) <= 300, "{cut}");
    assert_eq!(fonts.fit("Zoë", style::SMALL, 300), "Zoë");
}

/// Extra pictures for a look by eye: `PROMOTERD_CHART_DIR=/tmp/charts`.
#[test]
fn pictures_for_a_look() {
    let Some(dir) = std::env::var_os("PROMOTERD_CHART_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut long_names = organizer_chart();
    long_names.title = "Ένα πολύ μεγάλο φεστιβάλ μουσικής και τεχνών στην παραλία, δεύτερη εβδομάδα".into();
    let pictures = [
        ("busy-90.png", render_daily(&busy_chart(90, 12)).unwrap()),
        ("year.png", render_daily(&busy_chart(366, 4)).unwrap()),
        ("empty.png", render_daily(&one_series(vec![0; 14])).unwrap()),
        ("one-day.png", render_daily(&one_series(vec![5])).unwrap()),
        ("three-days.png", render_daily(&one_series(vec![5, 0, 2])).unwrap()),
        ("long-title.png", render_daily(&long_names).unwrap()),
        (
            "funnel-empty.png",
            render_funnel(&Funnel::top("Summer Fest", vec![], 5)).unwrap(),
        ),
    ];
    for (name, png) in pictures {
        std::fs::write(dir.join(name), png.bytes()).unwrap();
        println!("{name}: {} bytes", png.bytes().len());
    }
    for chart in [promoter_chart(), organizer_chart(), busy_chart(90, 12), long_names] {
        println!("{}", chart.summary());
    }
    println!("{}", funnel().summary());
}

/// The example pictures in `docs/charts/`: rendered from fixed data, they must match the
/// committed files byte for byte. `PROMOTERD_WRITE_CHARTS=1` writes them instead.
#[test]
fn docs_examples_match_their_committed_pictures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/charts");
    let pictures = [
        ("promoter-daily.png", render_daily(&promoter_chart()).unwrap()),
        ("organizer-daily.png", render_daily(&organizer_chart()).unwrap()),
        ("funnel.png", render_funnel(&funnel()).unwrap()),
    ];
    for (name, png) in pictures {
        let path = dir.join(name);
        if std::env::var_os("PROMOTERD_WRITE_CHARTS").is_some() {
            std::fs::write(&path, png.bytes()).unwrap();
        }
        let committed = std::fs::read(&path).unwrap();
        assert!(committed == png.bytes(), "{name} differs from {}", path.display());
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, d).unwrap()
}

#[test]
fn promoters_summed_by_the_store_are_one_others_series_named_by_their_count() {
    let days = Days::ending(NaiveDate::from_ymd_opt(2025, 7, 3).unwrap(), 3);
    let row = |m: i64, tickets: i64| DayRow {
        day: days.date(1),
        membership_id: Some(crate::domain::MembershipId(m)),
        link_id: None,
        tickets,
    };
    let names = Names {
        other_promoters: 34,
        ..names()
    };
    let chart = DailyChart::for_organizer("Fest", days, &[row(100, 5), row(-1, 9)], &names, MAX_NAMED);
    let got: Vec<(&str, SeriesKind, i64)> = chart
        .series
        .iter()
        .map(|s| (s.label.as_str(), s.kind, s.total()))
        .collect();
    assert_eq!(
        got,
        [
            (PROMOTER_NAMES[0], SeriesKind::Promoter, 5),
            ("34 other promoters", SeriesKind::Others, 9)
        ]
    );
}
