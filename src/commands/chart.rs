//! `chart [event] [days]`: sales over time as pictures. A promoter gets their own tickets
//! per day (by link, with the running total); an organizer gets tickets per day stacked
//! by promoter and the funnel per promoter. Each picture's one-line summary is its caption.

use super::Core;
use super::args::Args;
use super::command::{Command, declare};
use super::grants::{Member, OrganizerOfEvent};
use super::spec::{ArgKind, CommandSpec, EVENT_OPT, opt};
use crate::chart::{self, DailyChart, DayRow, Days, Funnel, FunnelRow, MAX_NAMED, Names};
use crate::domain::{DigestKind, MembershipId, PersonId};
use crate::error::{CommandError, UserError};
use crate::reply::{Attachment, Block, Reply, Table};
use crate::store::{DaySource, EventRow, FoldedDays, MembershipRow, OrgRow, StoreError};
use chrono::NaiveDate;

type Res = Result<Reply, CommandError>;

/// Days a chart covers when none are asked for.
pub const DEFAULT_DAYS: u32 = 30;
/// Most days a chart covers.
pub const MAX_CHART_DAYS: u32 = 180;
/// Promoters named in the funnel; the rest are summed into one row.
const FUNNEL_ROWS: usize = 12;

/// `chart [event] [days]`.
#[derive(Debug)]
pub struct Chart {
    pub days: Option<u32>,
}

impl Command for Chart {
    type Grant = Member<OrganizerOfEvent>;
    const SPEC: CommandSpec = declare!(
        Chart,
        "chart",
        [
            EVENT_OPT,
            opt(
                "days",
                ArgKind::Whole {
                    min: 1,
                    max: MAX_CHART_DAYS
                },
                "how many days, up to today or the event's day (default 30)"
            )
        ],
        "Sales per day as a picture (organizers: by promoter, and the funnel)",
        "chart summer-fest 14",
        picks_only_event = true,
        private = true,
        deferred = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(Chart {
            days: args.opt("days")?,
        })
    }

    async fn run(self, core: &Core, ctx: Member<OrganizerOfEvent>) -> Res {
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        match ctx {
            Member::Organizer(o) => core.organizer_chart(&o.org, &o.event, days).await,
            Member::Promoter(p) => core.promoter_chart(&p.org, &p.event, p.membership.id, days).await,
        }
    }
}

impl Core {
    /// The weekly digest's picture: the last 7 days of the person's first upcoming event
    /// (an organizer's: tickets per promoter; a promoter's: their own). A chart that
    /// cannot be drawn is logged and left out; the digest still goes.
    pub(crate) async fn week_chart(
        &self,
        org: &OrgRow,
        person_id: PersonId,
        kind: DigestKind,
    ) -> Result<Option<Attachment>, StoreError> {
        let horizon = self.clock.now() - chrono::Duration::days(1);
        let events = self.store.events_of_org(org.id).await?;
        let mut upcoming = events.iter().filter(|e| e.starts_at >= horizon);
        let chart = match kind {
            // Only the daily picture: the digest has the numbers as tables already.
            DigestKind::Organizer => match upcoming.next() {
                Some(e) => self.organizer_daily_picture(org, e, 7).await,
                None => return Ok(None),
            },
            DigestKind::Promoter => {
                let ms = self.store.active_memberships_of(person_id).await?;
                let found = upcoming.find_map(|e| {
                    ms.iter()
                        .find(|m| m.event_id == Some(e.id) || (m.org_id == org.id && m.event_id.is_none()))
                        .map(|m| (e, m.id))
                });
                match found {
                    Some((e, m)) => self.promoter_chart(org, e, m, 7).await,
                    None => return Ok(None),
                }
            }
        };
        match chart {
            Ok(reply) => Ok(reply.attachments.into_iter().next()),
            Err(crate::error::CommandError::Internal(e)) => Err(e),
            Err(e) => {
                tracing::warn!(org = %org.slug, error = %e, "digest: the week's chart could not be drawn");
                Ok(None)
            }
        }
    }

    /// The days a chart of `event` shows: `count` days on the organization's calendar,
    /// ending today, or on the event's day once it has passed.
    pub(crate) fn chart_days(&self, org: &OrgRow, event: &EventRow, count: u32) -> Result<Days, CommandError> {
        let tz: chrono_tz::Tz = org
            .time_zone
            .parse()
            .map_err(|_| CommandError::Invariant(format!("organization time zone `{}`", org.time_zone)))?;
        let today = self.clock.now().with_timezone(&tz).date_naive();
        let event_day = event.starts_at.with_timezone(&tz).date_naive();
        Ok(Days::ending(last_day(today, event_day), count as usize))
    }

    async fn day_rows(
        &self,
        event: &EventRow,
        membership: Option<MembershipId>,
        days: Days,
    ) -> Result<Vec<DayRow>, CommandError> {
        let last = days.date(days.count.saturating_sub(1));
        let rows = self.store.daily_sales(event.id, membership, days.first, last).await?;
        Ok(rows
            .into_iter()
            .map(|r| DayRow {
                day: r.day,
                membership_id: r.membership_id,
                link_id: r.link_id,
                tickets: r.tickets,
            })
            .collect())
    }

    /// A promoter's own chart: only rows of their membership are read, and the chart
    /// builder drops any other.
    pub(crate) async fn promoter_chart(
        &self,
        org: &OrgRow,
        event: &EventRow,
        membership: MembershipId,
        count: u32,
    ) -> Res {
        let days = self.chart_days(org, event, count)?;
        let rows = self.day_rows(event, Some(membership), days).await?;
        let mut names = Names::default();
        for l in self.store.links_of_membership(membership, event.id).await? {
            names.links.insert(l.id, l.shown_label());
        }
        let chart = DailyChart::for_promoter(&event.name, days, membership, &rows, &names);
        let summary = chart.summary();
        let png = draw(move || chart::render_daily(&chart)).await?;
        Ok(Reply::text(summary.clone())
            .titled(format!("{} — your tickets per day", event.name))
            .with_attachment(picture(&format!("chart-{}.png", event.slug), png, summary))
            .private())
    }

    /// An organizer's charts of one event: tickets per day by promoter, and the funnel.
    /// An organizer's tickets per day by promoter alone (the weekly digest's picture).
    async fn organizer_daily_picture(&self, org: &OrgRow, event: &EventRow, count: u32) -> Res {
        let days = self.chart_days(org, event, count)?;
        let last = days.date(days.count.saturating_sub(1));
        let (folded, members) = tokio::try_join!(
            self.store.daily_sales_folded(event.id, days.first, last, MAX_NAMED),
            self.store.memberships_of_org(event.org_id, Some(event.id)),
        )?;
        let chart = organizer_daily(event, days, &folded, &members);
        let summary = chart.summary();
        let png = draw(move || chart::render_daily(&chart)).await?;
        Ok(Reply::text(summary.clone()).with_attachment(picture(&format!("chart-{}.png", event.slug), png, summary)))
    }

    pub(crate) async fn organizer_chart(&self, org: &OrgRow, event: &EventRow, count: u32) -> Res {
        let days = self.chart_days(org, event, count)?;
        // The rollup, the promoters and the running totals, read at once.
        let last = days.date(days.count.saturating_sub(1));
        let (folded, members, numbers) = tokio::try_join!(
            async {
                Ok(self
                    .store
                    .daily_sales_folded(event.id, days.first, last, MAX_NAMED)
                    .await?)
            },
            async { Ok(self.store.memberships_of_org(event.org_id, Some(event.id)).await?) },
            self.event_numbers(event, None),
        )?;
        let chart = organizer_daily(event, days, &folded, &members);
        let per = numbers.per_membership();
        let funnel_rows: Vec<FunnelRow> = members
            .iter()
            .filter_map(|m| {
                let n = per.get(&m.id)?;
                Some(FunnelRow {
                    label: m.shown_name(),
                    clicks: n.clicks,
                    orders: n.orders,
                    tickets: n.tickets,
                })
            })
            .collect();
        let funnel = Funnel::top(&event.name, funnel_rows, FUNNEL_ROWS);
        let (daily_summary, funnel_summary, table) = (chart.summary(), funnel.summary(), funnel_table(&funnel));
        // Both pictures queued at once for the drawing thread.
        let (daily_png, funnel_png) = tokio::try_join!(
            draw(move || chart::render_daily(&chart)),
            draw(move || chart::render_funnel(&funnel)),
        )?;
        Ok(Reply::text(daily_summary.clone())
            .titled(format!("{} — tickets per day", event.name))
            .line(funnel_summary.clone())
            .with(Block::Table(table))
            .with_attachment(picture(&format!("chart-{}.png", event.slug), daily_png, daily_summary))
            .with_attachment(picture(
                &format!("funnel-{}.png", event.slug),
                funnel_png,
                funnel_summary,
            ))
            .private())
    }
}

/// An organizer's tickets per day: the top promoters by name, the rest together.
fn organizer_daily(event: &EventRow, days: Days, folded: &FoldedDays, members: &[MembershipRow]) -> DailyChart {
    let mut names = Names {
        other_promoters: folded.other_promoters,
        ..Names::default()
    };
    for m in members {
        names.promoters.insert(m.id, m.shown_name());
    }
    DailyChart::for_organizer(&event.name, days, &folded_rows(folded), &names, MAX_NAMED)
}

/// An organizer's folded days as the chart's rows: the store already summed the
/// promoters past the top few ([`chart::OTHER_PROMOTERS`]).
fn folded_rows(folded: &FoldedDays) -> Vec<DayRow> {
    folded
        .rows
        .iter()
        .map(|&(day, source, tickets)| {
            let (membership_id, link_id) = match source {
                DaySource::Promoter(m) => (Some(m), None),
                DaySource::OtherPromoters => (Some(chart::OTHER_PROMOTERS), None),
                // Any link: the chart only tells organization links from direct sales.
                DaySource::OrganizationLinks => (None, Some(crate::domain::LinkId(0))),
                DaySource::Direct => (None, None),
            };
            DayRow {
                day,
                membership_id,
                link_id,
                tickets,
            }
        })
        .collect()
}

/// The funnel as a table: the text version of its picture (and all a mail shows of it).
fn funnel_table(f: &Funnel) -> Table {
    let mut t = Table::new(&["Promoter", "Clicks", "Orders", "Tickets"], &[false, true, true, true]);
    for r in &f.rows {
        t.row(vec![
            r.label.clone(),
            r.clicks.to_string(),
            r.orders.to_string(),
            r.tickets.to_string(),
        ]);
    }
    t
}

/// A picture to draw, and where its bytes go.
type Job = Box<dyn FnOnce() + Send>;

/// The one thread that draws every chart, in turn: a rush of charts (a digest pass,
/// many `chart` commands) takes one core at most and cannot starve redirects and
/// webhooks, and its buffers are reused by one allocator arena instead of a new one
/// per blocking thread.
fn drawer() -> &'static std::sync::mpsc::Sender<Job> {
    static DRAWER: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    DRAWER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("promoterd-charts".into())
            .spawn(move || {
                for job in rx {
                    // A panic while drawing fails that picture (its sender is dropped),
                    // not the drawer.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .map_err(|e| tracing::error!(error = %e, "charts: the drawing thread could not start"))
            .ok();
        tx
    })
}

/// Draws a picture on the drawing thread: a few milliseconds of CPU that would
/// otherwise hold up the tasks of an async worker.
async fn draw(
    f: impl FnOnce() -> Result<chart::Png, chart::ChartError> + Send + 'static,
) -> Result<chart::Png, CommandError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    let stopped = || CommandError::Invariant("drawing a chart: the drawing thread is not running".into());
    drawer().send(job).map_err(|_| stopped())?;
    match rx.await {
        Ok(Ok(png)) => Ok(png),
        Ok(Err(e)) => Err(CommandError::Invariant(format!("drawing a chart: {e}"))),
        Err(_) => Err(stopped()),
    }
}

fn picture(filename: &str, png: chart::Png, caption: String) -> Attachment {
    Attachment {
        filename: filename.to_string(),
        mime: "image/png".into(),
        data: png.into_bytes(),
        caption,
    }
}

/// The last day of a chart that ends at `today` or on `event_day`, whichever is first;
/// an event long past still shows the days before it.
pub(crate) fn last_day(today: NaiveDate, event_day: NaiveDate) -> NaiveDate {
    today.min(event_day)
}
