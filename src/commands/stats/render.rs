//! Reports as replies: the pure rendering of `report`'s structs (and of a promoter's
//! orders) into fields and tables.

use super::report::{EventReport, Leaderboard, Numbers, PromoterReport, Totals};
use crate::commands::local_time::local_clock;
use crate::domain::MembershipId;
use crate::money::{money, percent};
use crate::reply::{Block, Reply, Table};
use crate::store::{EventRow, OrderRow};

/// Clicks, orders, tickets, revenue before and after refunds, conversion.
pub(crate) fn summary(n: &Numbers, currency: &str) -> Block {
    Block::Fields(vec![
        (
            "Clicks".into(),
            format!("{} ({} unique visitors per day)", n.clicks, n.uniques),
        ),
        ("Orders".into(), n.orders.to_string()),
        ("Tickets".into(), n.tickets.to_string()),
        ("Gross revenue".into(), money(n.gross, currency)),
        (
            "Refunded".into(),
            format!("{} ({} tickets)", money(n.gross - n.net, currency), n.sold - n.tickets),
        ),
        ("Net revenue".into(), money(n.net, currency)),
        ("Conversion".into(), percent(n.orders, n.clicks)),
    ])
}

pub(crate) fn by_type_table(n: &Numbers, currency: &str) -> Table {
    let mut t = Table::new(&["Ticket type", "Tickets", "Net revenue"], &[false, true, true]).caption("By ticket type");
    for (name, tickets, net) in &n.by_type {
        t.row(vec![name.clone(), tickets.to_string(), money(*net, currency)]);
    }
    t
}

/// One promoter's report added to `reply`: summary, by ticket type, by link.
pub(crate) fn promoter_report(report: &PromoterReport, currency: &str, mut reply: Reply) -> Reply {
    let n = &report.numbers;
    let mut by_link = Table::new(
        &["Link", "Clicks", "Orders", "Tickets", "Net revenue"],
        &[false, true, true, true, true],
    )
    .caption("By link");
    for (label, ln) in &report.by_link {
        by_link.row(vec![
            label.clone(),
            ln.clicks.to_string(),
            ln.orders.to_string(),
            ln.tickets.to_string(),
            money(ln.net, currency),
        ]);
    }
    reply = reply
        .with(summary(n, currency))
        .with(Block::Table(by_type_table(n, currency)));
    if !report.by_link.is_empty() {
        reply = reply.with(Block::Table(by_link));
    }
    if n.self_orders > 0 {
        reply = reply.line(format!(
            "{} order(s) were bought with the promoter's own email address: they count, and are marked as self-referrals.",
            n.self_orders
        ));
    }
    reply
}

/// A promoter's latest orders, times on the organization's clock (named in the header).
pub(crate) fn my_orders(orders: Vec<OrderRow>, time_zone: &str, event_name: &str) -> Reply {
    let time_header = format!("Time ({time_zone})");
    let mut t = Table::new(
        &["Order", &time_header, "Tickets", "Via", "Status", "Net"],
        &[false, false, false, false, false, true],
    );
    for o in orders {
        t.row(vec![
            o.external_id,
            local_clock(&o.ordered_at, time_zone),
            o.summary,
            o.link_label
                .as_deref()
                .map(|l| crate::store::shown_link_label(l, o.link_sub_promoter.as_deref()))
                .unwrap_or_default(),
            o.status.as_str().replace('_', " "),
            money(o.net_minor, &o.currency),
        ]);
    }
    Reply::default()
        .titled(format!("Your orders — {event_name}"))
        .with(Block::Table(t))
        .line("The 50 latest orders; buyer details are only visible to the organizer.")
        .private()
}

/// The organizer's table of promoters: a column per ticket type when the report is wide.
pub(crate) fn promoters_table(report: &EventReport, currency: &str) -> Table {
    let wide = report.wide();
    let mut headers: Vec<String> = vec!["Promoter".into()];
    if wide {
        headers.extend(report.types.iter().cloned());
    }
    headers.extend(["Tickets", "Net revenue", "Clicks", "Conv."].map(String::from));
    let numeric: Vec<bool> = headers.iter().enumerate().map(|(i, _)| i > 0).collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut t = Table::new(&header_refs, &numeric).caption("Promoters");
    for r in &report.promoters {
        let n = &r.numbers;
        let mut row = vec![r.listed_name()];
        if wide {
            row.extend(n.by_type.iter().map(|(_, tickets, _)| tickets.to_string()));
        }
        row.extend([
            n.tickets.to_string(),
            money(n.net, currency),
            n.clicks.to_string(),
            percent(n.orders, n.clicks),
        ]);
        t.row(row);
    }
    t
}

pub(crate) fn totals_table(totals: &Totals, currency: &str) -> Table {
    let mut t = Table::new(
        &["", "Orders", "Tickets", "Gross", "Net revenue"],
        &[false, true, true, true, true],
    )
    .caption("Totals");
    for (label, n) in [
        ("Promoters", &totals.promoters),
        ("Organization links", &totals.org_links),
        ("Direct (no link)", &totals.direct),
        ("Event total", &totals.event),
    ] {
        t.row(vec![
            label.into(),
            n.orders.to_string(),
            n.tickets.to_string(),
            money(n.gross, currency),
            money(n.net, currency),
        ]);
    }
    t
}

/// The organizer's `stats <event>`.
pub(crate) fn event_report(report: &EventReport, event: &EventRow) -> Reply {
    let cur = &event.currency;
    let mut reply = Reply::default().titled(format!("Sales — {}", event.name)).private();
    if report.promoters.is_empty() {
        reply = reply.line(format!(
            "No active promoters for {} yet. Invite one with `invite <email> {}`.",
            event.name, event.slug
        ));
    } else {
        reply = reply.with(Block::Table(promoters_table(report, cur)));
    }
    reply = reply
        .with(Block::Table(
            by_type_table(&report.totals.event, cur).caption("Event by ticket type"),
        ))
        .with(Block::Table(totals_table(&report.totals, cur)));
    if report.any_self() {
        reply = reply.line("* includes self-referrals: orders bought with the promoter's own email address.");
    }
    if !report.wide() {
        reply = reply.line(format!(
            "Send `stats {} <promoter email>` for one promoter by ticket type.",
            event.slug
        ));
    }
    reply
}

/// The leaderboard of an event; the organizer's view has tickets and is private.
pub(crate) fn leaderboard(board: &Leaderboard, event_name: &str, me: Option<MembershipId>, organizer: bool) -> Reply {
    let headers: &[&str] = if organizer {
        &["Rank", "Promoter", "Tickets"]
    } else {
        &["Rank", "Promoter"]
    };
    let mut t = Table::new(headers, &[true, false, true]);
    for (i, r) in board.rows.iter().enumerate() {
        let mut name = r.name.clone();
        if Some(r.membership_id) == me {
            name.push_str("  ← you");
        }
        let mut row = vec![format!("#{}", i + 1), name];
        if organizer {
            row.push(r.tickets.to_string());
        }
        t.row(row);
    }
    let mut reply = Reply::default()
        .titled(format!("Leaderboard — {event_name}"))
        .with(Block::Table(t));
    // The organizer's view has every promoter's tickets: never in a group.
    reply.private = organizer;
    reply
}
