//! Reports built from hand-made facts and rendered, without a database.

use super::render;
use super::report::{EventNumbers, EventReport, Leaderboard, PromoterReport};
use crate::domain::{EventId, LinkId, MembershipId, OrgId, PersonId};
use crate::reply::{Block, Reply, Table};
use crate::store::{ClickFact, EventRow, LinkRow, MembershipRow, OrderCountFact, SalesFact};

/// Tickets of a type through (membership, link): `sold` before refunds, `tickets` after,
/// at `price` minor units each.
fn sale(membership: Option<i64>, link: Option<i64>, ty: &str, sold: i64, tickets: i64, price: i64) -> SalesFact {
    SalesFact {
        membership_id: membership.map(MembershipId),
        link_id: link.map(LinkId),
        ticket_type: ty.into(),
        sold,
        tickets,
        gross_minor: sold * price,
        net_minor: tickets * price,
        self_tickets: 0,
    }
}

fn count(membership: Option<i64>, link: Option<i64>, orders: i64, refunded: i64, self_orders: i64) -> OrderCountFact {
    OrderCountFact {
        membership_id: membership.map(MembershipId),
        link_id: link.map(LinkId),
        orders,
        refunded,
        self_orders,
    }
}

fn clicks(link: i64, clicks: i64, uniques: i64) -> ClickFact {
    ClickFact {
        link_id: LinkId(link),
        clicks,
        uniques,
    }
}

fn link(id: i64, membership: Option<i64>, label: &str) -> LinkRow {
    LinkRow {
        id: LinkId(id),
        code: format!("code{id}"),
        org_id: OrgId(1),
        event_id: EventId(1),
        membership_id: membership.map(MembershipId),
        parent_id: None,
        kind: crate::domain::LinkKind::Channel,
        label: label.into(),
        sub_promoter: None,
        revoked: false,
        disabled_by: None,
    }
}

fn member(id: i64, person: i64, email: &str, status: &str, name: Option<&str>) -> MembershipRow {
    MembershipRow {
        id: MembershipId(id),
        org_id: OrgId(1),
        event_id: Some(EventId(1)),
        person_id: PersonId(person),
        status: crate::domain::MembershipStatus::from_stored(status).unwrap(),
        email: email.into(),
        display_name: name.map(String::from),
        left_by_self: false,
    }
}

fn event() -> EventRow {
    EventRow {
        id: EventId(1),
        org_id: OrgId(1),
        slug: "fest".into(),
        name: "Summer Fest".into(),
        starts_at: "2027-06-01T16:00:00Z".parse().unwrap(),
        ticket_url: "https://tickets.example/fest".into(),
        currency: "EUR".into(),
        checkout: crate::domain::Shop::Webhook,
    }
}

fn types() -> Vec<String> {
    vec!["Early".into(), "Regular".into()]
}

/// Links: 10 and 11 are Ana's (membership 1), 20 is Ben's (2), 30 the organization's.
fn links() -> Vec<LinkRow> {
    vec![
        link(10, Some(1), "main"),
        link(11, Some(1), "instagram"),
        link(20, Some(2), "main"),
        link(30, None, "poster"),
    ]
}

/// Ana: 3 Early sold, 1 refunded, 2 Regular; Ben: 2 Regular, one order fully refunded;
/// the organization's poster: 1 Early; a direct sale of 1 Regular; a cancelled order
/// of Ben's that counts nothing.
fn facts() -> EventNumbers {
    let sales = vec![
        sale(Some(1), Some(10), "Early", 3, 2, 1000),
        sale(Some(1), Some(11), "Regular", 2, 2, 2500),
        sale(Some(2), Some(20), "Regular", 4, 2, 2500),
        sale(None, Some(30), "Early", 1, 1, 1000),
        sale(None, None, "Regular", 1, 1, 2500),
    ];
    let counts = vec![
        count(Some(1), Some(10), 1, 0, 0),
        count(Some(1), Some(11), 1, 0, 1),
        count(Some(2), Some(20), 1, 1, 0),
        // A cancelled order: in all_orders only.
        count(Some(2), Some(20), 0, 0, 0),
        count(None, Some(30), 1, 0, 0),
        count(None, None, 1, 0, 0),
    ];
    let click_facts = vec![clicks(10, 20, 15), clicks(11, 5, 5), clicks(20, 8, 4), clicks(30, 2, 2)];
    EventNumbers::new(sales, counts, click_facts, &links(), types())
}

/// The reply's first table, or the first with that caption.
fn table_where(reply: &Reply, caption: Option<&str>) -> Table {
    reply
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if caption.is_none() || t.caption.as_deref() == caption => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no table {caption:?} in {reply:?}"))
}

fn table(reply: &Reply, caption: &str) -> Table {
    table_where(reply, Some(caption))
}

fn table_of(reply: &Reply) -> Table {
    table_where(reply, None)
}

fn fields(reply: &Reply) -> Vec<(String, String)> {
    reply
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Fields(f) => Some(f.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn cells(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

#[test]
fn promoter_numbers_are_net_of_refunds() {
    let report = PromoterReport::build(&facts(), MembershipId(1), &links()[..2]);
    let n = &report.numbers;
    assert_eq!((n.sold, n.tickets), (5, 4));
    assert_eq!((n.gross, n.net), (3000 + 5000, 2000 + 5000));
    assert_eq!((n.orders, n.self_orders, n.clicks, n.uniques), (2, 1, 25, 20));
    assert_eq!(
        n.by_type,
        vec![("Early".to_string(), 2, 2000), ("Regular".to_string(), 2, 5000)]
    );
    let by_link: Vec<(&str, i64, i64)> = report
        .by_link
        .iter()
        .map(|(l, n)| (l.as_str(), n.tickets, n.clicks))
        .collect();
    assert_eq!(by_link, vec![("main", 2, 20), ("instagram", 2, 5)]);
}

#[test]
fn cancelled_orders_count_nothing() {
    let ben = PromoterReport::build(&facts(), MembershipId(2), &links()[2..3]).numbers;
    // One order left, one fully refunded; the cancelled one is neither.
    assert_eq!((ben.orders, ben.refunded_orders), (1, 1));
    assert_eq!((ben.sold, ben.tickets, ben.gross, ben.net), (4, 2, 10000, 5000));
}

#[test]
fn promoter_report_renders_summary_types_links_and_self_referrals() {
    let report = PromoterReport::build(&facts(), MembershipId(1), &links()[..2]);
    let reply = render::promoter_report(&report, "EUR", Reply::default());
    let f = fields(&reply);
    let get = |k: &str| f.iter().find(|(l, _)| l == k).map(|(_, v)| v.as_str());
    assert_eq!(get("Clicks"), Some("25 (20 unique visitors per day)"));
    assert_eq!(get("Gross revenue"), Some("80.00 EUR"));
    assert_eq!(get("Refunded"), Some("10.00 EUR (1 tickets)"));
    assert_eq!(get("Net revenue"), Some("70.00 EUR"));
    assert_eq!(get("Conversion"), Some("8.0%"));
    assert_eq!(
        table(&reply, "By ticket type").rows,
        cells(&[&["Early", "2", "20.00 EUR"], &["Regular", "2", "50.00 EUR"]])
    );
    assert_eq!(
        table(&reply, "By link").rows,
        cells(&[
            &["main", "20", "1", "2", "20.00 EUR"],
            &["instagram", "5", "1", "2", "50.00 EUR"]
        ])
    );
    assert!(
        reply
            .to_plain()
            .contains("1 order(s) were bought with the promoter's own email address")
    );
}

#[test]
fn a_promoter_without_links_or_clicks_has_no_link_table_and_no_conversion() {
    let report = PromoterReport::build(&facts(), MembershipId(9), &[]);
    assert_eq!(report.numbers, facts().zero());
    let reply = render::promoter_report(&report, "EUR", Reply::default());
    assert!(reply.blocks.len() == 2, "{reply:?}");
    assert!(fields(&reply).contains(&("Conversion".into(), "–".into())));
}

#[test]
fn event_report_splits_totals_by_source() {
    let members = [
        member(1, 100, "ana@example.com", "active", Some("Ana")),
        member(2, 200, "ben@example.com", "active", None),
    ];
    let report = EventReport::build(&facts(), &members);
    let t = &report.totals;
    assert_eq!(
        (t.promoters.orders, t.promoters.tickets, t.promoters.net),
        (3, 6, 12000)
    );
    assert_eq!((t.org_links.orders, t.org_links.tickets, t.org_links.net), (1, 1, 1000));
    assert_eq!((t.direct.orders, t.direct.tickets, t.direct.net), (1, 1, 2500));
    assert_eq!((t.event.orders, t.event.tickets, t.event.gross), (5, 8, 21500));
    let reply = render::event_report(&report, &event());
    assert_eq!(
        table(&reply, "Totals").rows,
        cells(&[
            &["Promoters", "3", "6", "180.00 EUR", "120.00 EUR"],
            &["Organization links", "1", "1", "10.00 EUR", "10.00 EUR"],
            &["Direct (no link)", "1", "1", "25.00 EUR", "25.00 EUR"],
            &["Event total", "5", "8", "215.00 EUR", "155.00 EUR"],
        ])
    );
    assert_eq!(
        table(&reply, "Event by ticket type").rows,
        cells(&[&["Early", "3", "30.00 EUR"], &["Regular", "5", "125.00 EUR"]])
    );
}

#[test]
fn event_report_lists_each_person_once_ranked_with_ties_by_name() {
    let members = [
        // Ana promotes this event and all events: one row, both memberships summed.
        member(1, 100, "ana@example.com", "active", None),
        member(7, 100, "ana@example.com", "active", None),
        member(2, 200, "ben@example.com", "revoked", None),
        member(3, 300, "cat@example.com", "active", None),
        member(4, 400, "abe@example.com", "active", None),
        member(5, 500, "dan@example.com", "invited", None),
    ];
    let sales = vec![
        sale(Some(1), Some(10), "Early", 3, 2, 1000),
        sale(Some(7), None, "Regular", 1, 1, 2500),
        sale(Some(2), Some(20), "Regular", 4, 2, 2500),
        sale(Some(3), None, "Early", 2, 2, 1000),
    ];
    let numbers = EventNumbers::new(
        sales,
        vec![count(Some(1), Some(10), 1, 0, 1)],
        vec![],
        &links(),
        types(),
    );
    let report = EventReport::build(&numbers, &members);
    let names: Vec<String> = report.promoters.iter().map(|r| r.listed_name()).collect();
    // Ana 3 tickets; Ben 2 tickets 50.00; Cat 2 tickets 20.00; Abe nothing; Dan is only invited.
    assert_eq!(
        names,
        vec![
            "ana@example.com *",
            "ben@example.com (revoked)",
            "cat@example.com",
            "abe@example.com"
        ]
    );
    assert!(report.wide() && report.any_self());
    let reply = render::event_report(&report, &event());
    let t = table(&reply, "Promoters");
    assert_eq!(
        t.headers,
        [
            "Promoter",
            "Early",
            "Regular",
            "Tickets",
            "Net revenue",
            "Clicks",
            "Conv."
        ]
    );
    assert_eq!(t.rows[0], ["ana@example.com *", "2", "1", "3", "45.00 EUR", "0", "–"]);
    let text = reply.to_plain();
    assert!(text.contains("* includes self-referrals"));
    assert!(!text.contains("<promoter email>"));
}

#[test]
fn event_report_ties_on_tickets_and_net_go_by_name() {
    let members = [
        member(1, 100, "zed@example.com", "active", None),
        member(2, 200, "amy@example.com", "active", None),
    ];
    let sales = vec![
        sale(Some(1), None, "Early", 1, 1, 1000),
        sale(Some(2), None, "Early", 1, 1, 1000),
    ];
    let numbers = EventNumbers::new(sales, vec![], vec![], &[], types());
    let report = EventReport::build(&numbers, &members);
    let names: Vec<String> = report.promoters.iter().map(|r| r.listed_name()).collect();
    assert_eq!(names, vec!["amy@example.com", "zed@example.com"]);
}

#[test]
fn event_report_without_promoters_or_with_many_types() {
    let many: Vec<String> = ["A", "B", "C", "D", "E"].map(String::from).to_vec();
    let numbers = EventNumbers::new(vec![], vec![], vec![], &[], many);
    let report = EventReport::build(&numbers, &[member(1, 100, "dan@example.com", "invited", None)]);
    assert!(report.promoters.is_empty() && !report.wide());
    let text = render::event_report(&report, &event()).to_plain();
    assert!(text.contains("No active promoters for Summer Fest yet. Invite one with `invite <email> fest`."));
    assert!(text.contains("Send `stats fest <promoter email>` for one promoter by ticket type."));
    assert!(!text.contains("self-referrals"));
}

#[test]
fn leaderboard_ranks_active_promoters_with_ties_by_membership() {
    let members = [
        member(3, 300, "cat@example.com", "active", Some("Cat")),
        member(1, 100, "ana@example.com", "active", None),
        member(2, 200, "ben@example.com", "revoked", None),
        member(4, 400, "dan@example.com", "active", None),
        member(5, 500, "eve@example.com", "active", None),
    ];
    let sales = vec![
        sale(Some(1), None, "Early", 2, 2, 1000),
        sale(Some(2), None, "Early", 9, 9, 1000),
        sale(Some(3), None, "Early", 2, 2, 1000),
        sale(Some(4), None, "Regular", 2, 2, 2500),
    ];
    let numbers = EventNumbers::new(sales, vec![], vec![], &[], types());
    let board = Leaderboard::build(&numbers, &members);
    let order: Vec<(i64, &str, i64)> = board
        .rows
        .iter()
        .map(|r| (r.membership_id.get(), r.name.as_str(), r.tickets))
        .collect();
    // Dan: same tickets, more revenue; Ana and Cat tie, the earlier membership first.
    assert_eq!(order, vec![(4, "dan", 2), (1, "ana", 2), (3, "Cat", 2), (5, "eve", 0)]);
    assert_eq!(board.rank_of(MembershipId(3)), Some((3, 4)));
    assert_eq!(board.rank_of(MembershipId(2)), None);

    let promoter = render::leaderboard(&board, "Summer Fest", Some(MembershipId(1)), false);
    assert!(!promoter.private);
    let t = table_of(&promoter);
    assert_eq!(t.headers, ["Rank", "Promoter"]);
    assert_eq!(t.rows[1], ["#2", "ana  ← you"]);
    let organizer = render::leaderboard(&board, "Summer Fest", None, true);
    assert!(organizer.private);
    assert_eq!(table_of(&organizer).rows[0], ["#1", "dan", "2"]);
    assert_eq!(organizer.title.as_deref(), Some("Leaderboard — Summer Fest"));
}

#[test]
fn my_orders_shows_local_times_links_and_statuses() {
    let order = crate::store::OrderRow {
        external_id: "A-1".into(),
        ordered_at: "2027-05-01T10:00:00Z".parse().unwrap(),
        status: crate::domain::OrderStatus::PartiallyRefunded,
        link_label: Some("instagram".into()),
        link_sub_promoter: Some("Zoe".into()),
        tickets: 2,
        net_minor: 4900,
        currency: "EUR".into(),
        summary: "2× Early".into(),
    };
    let reply = render::my_orders(vec![order], "Europe/Berlin", "Summer Fest");
    let t = table_of(&reply);
    assert_eq!(t.headers[1], "Time (Europe/Berlin)");
    assert_eq!(
        t.rows,
        cells(&[&[
            "A-1",
            "2027-05-01 12:00",
            "2× Early",
            "instagram (for Zoe)",
            "partially refunded",
            "49.00 EUR"
        ]])
    );
    assert!(reply.private);
}
