//! Pure reports built from an event's facts (sales, order counts, clicks, links): no store,
//! no text. `render` turns them into replies.

use crate::domain::{LinkId, MembershipId, MembershipStatus, PersonId};
use crate::store::{ClickFact, LinkRow, MembershipRow, OrderCountFact, SalesFact};
use std::collections::HashMap;

/// Sales and clicks of an event, loaded once and summed by any (membership, link) filter.
pub(crate) struct EventNumbers {
    sales: Vec<SalesFact>,
    counts: Vec<OrderCountFact>,
    clicks: Vec<ClickFact>,
    link_owner: HashMap<LinkId, Option<MembershipId>>,
    /// Ticket types in creation order.
    types: Vec<String>,
}

/// Sums for one selection.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Numbers {
    pub clicks: i64,
    pub uniques: i64,
    pub orders: i64,
    pub refunded_orders: i64,
    pub self_orders: i64,
    pub tickets: i64,
    pub sold: i64,
    pub gross: i64,
    pub net: i64,
    /// (ticket type, tickets, net) in ticket-type order.
    pub by_type: Vec<(String, i64, i64)>,
}

impl Numbers {
    fn add_sale(&mut self, s: &SalesFact) {
        self.tickets += s.tickets;
        self.sold += s.sold;
        self.gross += s.gross_minor;
        self.net += s.net_minor;
        if let Some(t) = self.by_type.iter_mut().find(|t| t.0 == s.ticket_type) {
            t.1 += s.tickets;
            t.2 += s.net_minor;
        }
    }

    fn add_count(&mut self, c: &OrderCountFact) {
        self.orders += c.orders;
        self.refunded_orders += c.refunded;
        self.self_orders += c.self_orders;
    }

    fn add_clicks(&mut self, c: &ClickFact) {
        self.clicks += c.clicks;
        self.uniques += c.uniques;
    }

    /// Adds another selection's sums (same ticket types).
    pub(crate) fn add(&mut self, o: &Numbers) {
        self.clicks += o.clicks;
        self.uniques += o.uniques;
        self.orders += o.orders;
        self.refunded_orders += o.refunded_orders;
        self.self_orders += o.self_orders;
        self.tickets += o.tickets;
        self.sold += o.sold;
        self.gross += o.gross;
        self.net += o.net;
        for (mine, theirs) in self.by_type.iter_mut().zip(&o.by_type) {
            mine.1 += theirs.1;
            mine.2 += theirs.2;
        }
    }
}

impl EventNumbers {
    /// The facts of an event; `links` tell whose link each click came through, `types`
    /// are the event's ticket types in creation order.
    pub(crate) fn new(
        sales: Vec<SalesFact>,
        counts: Vec<OrderCountFact>,
        clicks: Vec<ClickFact>,
        links: &[LinkRow],
        types: Vec<String>,
    ) -> Self {
        EventNumbers {
            sales,
            counts,
            clicks,
            link_owner: links.iter().map(|l| (l.id, l.membership_id)).collect(),
            types,
        }
    }

    /// Zero for every ticket type of the event.
    pub(crate) fn zero(&self) -> Numbers {
        Numbers {
            by_type: self.types.iter().map(|t| (t.clone(), 0, 0)).collect(),
            ..Default::default()
        }
    }

    /// Sums the facts whose (membership, link) pass `keep`.
    pub(crate) fn of(&self, keep: impl Fn(Option<MembershipId>, Option<LinkId>) -> bool) -> Numbers {
        let mut n = self.zero();
        for s in self.sales.iter().filter(|s| keep(s.membership_id, s.link_id)) {
            n.add_sale(s);
        }
        for c in self.counts.iter().filter(|c| keep(c.membership_id, c.link_id)) {
            n.add_count(c);
        }
        for c in &self.clicks {
            let owner = self.link_owner.get(&c.link_id).copied().flatten();
            if keep(owner, Some(c.link_id)) {
                n.add_clicks(c);
            }
        }
        n
    }

    /// Sums per membership, in one pass over the facts (the organizer's table).
    pub(crate) fn per_membership(&self) -> HashMap<MembershipId, Numbers> {
        let mut per: HashMap<MembershipId, Numbers> = HashMap::new();
        for s in &self.sales {
            if let Some(m) = s.membership_id {
                per.entry(m).or_insert_with(|| self.zero()).add_sale(s);
            }
        }
        for c in &self.counts {
            if let Some(m) = c.membership_id {
                per.entry(m).or_insert_with(|| self.zero()).add_count(c);
            }
        }
        for c in &self.clicks {
            if let Some(m) = self.link_owner.get(&c.link_id).copied().flatten() {
                per.entry(m).or_insert_with(|| self.zero()).add_clicks(c);
            }
        }
        per
    }
}

/// One promoter's numbers for an event: in all, and per link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PromoterReport {
    pub numbers: Numbers,
    /// (link label as people see it, its numbers), in the order of the links given.
    pub by_link: Vec<(String, Numbers)>,
}

impl PromoterReport {
    /// The report of membership `membership_id`, whose links are `links`.
    pub(crate) fn build(numbers: &EventNumbers, membership_id: MembershipId, links: &[LinkRow]) -> Self {
        PromoterReport {
            numbers: numbers.of(|mid, _| mid == Some(membership_id)),
            by_link: links
                .iter()
                .map(|l| (l.shown_label(), numbers.of(|_, link| link == Some(l.id))))
                .collect(),
        }
    }
}

/// One person's row in the organizer's table: every membership of theirs for the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PromoterRow {
    pub email: String,
    /// Every membership of theirs is revoked.
    pub revoked: bool,
    /// Revoked, and they ended one themselves (`leave`).
    pub left: bool,
    pub numbers: Numbers,
}

impl PromoterRow {
    /// The name in the table: the address, marked when revoked and when it includes
    /// self-referrals.
    pub(crate) fn listed_name(&self) -> String {
        let mut name = self.email.clone();
        if self.revoked {
            name.push_str(if self.left { " (left)" } else { " (revoked)" });
        }
        if self.numbers.self_orders > 0 {
            name.push_str(" *");
        }
        name
    }
}

/// An event's sums by where the sales came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Totals {
    pub promoters: Numbers,
    pub org_links: Numbers,
    /// Sales without a link.
    pub direct: Numbers,
    pub event: Numbers,
}

/// The organizer's view of an event: promoters ranked, and the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventReport {
    /// Ticket types in creation order.
    pub types: Vec<String>,
    /// By net tickets, then net revenue (both descending), then listed name.
    pub promoters: Vec<PromoterRow>,
    pub totals: Totals,
}

impl EventReport {
    /// From the event's facts and its memberships (`memberships_of_org` for the event):
    /// active and revoked ones count, one row per person.
    pub(crate) fn build(numbers: &EventNumbers, members: &[MembershipRow]) -> Self {
        // One row per person: someone promoting this event and all events is listed once.
        let mut people: Vec<(PersonId, String, Vec<MembershipId>, bool, bool)> = Vec::new();
        for m in members
            .iter()
            .filter(|m| matches!(m.status, MembershipStatus::Active | MembershipStatus::Revoked))
        {
            match people.iter_mut().find(|p| p.0 == m.person_id) {
                Some(p) => {
                    p.2.push(m.id);
                    p.3 &= m.status == MembershipStatus::Revoked;
                    p.4 |= m.left_by_self;
                }
                None => people.push((
                    m.person_id,
                    m.email.clone(),
                    vec![m.id],
                    m.status == MembershipStatus::Revoked,
                    m.left_by_self,
                )),
            }
        }
        let per = numbers.per_membership();
        let mut promoters: Vec<PromoterRow> = people
            .into_iter()
            .map(|(_, email, ids, revoked, left)| {
                let mut n = numbers.zero();
                for m in ids.iter().filter_map(|id| per.get(id)) {
                    n.add(m);
                }
                PromoterRow {
                    email,
                    revoked,
                    left,
                    numbers: n,
                }
            })
            .collect();
        promoters.sort_by(|a, b| {
            b.numbers
                .tickets
                .cmp(&a.numbers.tickets)
                .then(b.numbers.net.cmp(&a.numbers.net))
                .then(a.listed_name().cmp(&b.listed_name()))
        });
        EventReport {
            types: numbers.types.clone(),
            promoters,
            totals: Totals {
                promoters: numbers.of(|mid, _| mid.is_some()),
                org_links: numbers.of(|mid, link| mid.is_none() && link.is_some()),
                direct: numbers.of(|_, link| link.is_none()),
                event: numbers.of(|_, _| true),
            },
        }
    }

    /// Few enough ticket types for a column each in the promoters' table.
    pub(crate) fn wide(&self) -> bool {
        self.types.len() <= 4
    }

    /// Some promoter's numbers include self-referrals.
    pub(crate) fn any_self(&self) -> bool {
        self.promoters.iter().any(|r| r.numbers.self_orders > 0)
    }
}

/// A place on the leaderboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaderRow {
    pub membership_id: MembershipId,
    /// The name the promoter chose, else their chat name, else their address's local
    /// part: never the address, never an id.
    pub name: String,
    pub tickets: i64,
    pub net: i64,
}

/// Active promoters of an event ranked by net tickets, then net revenue, then who joined
/// first (membership id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaderboard {
    pub rows: Vec<LeaderRow>,
}

impl Leaderboard {
    pub(crate) fn build(numbers: &EventNumbers, members: &[MembershipRow]) -> Self {
        let per = numbers.per_membership();
        let mut rows: Vec<LeaderRow> = members
            .iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .map(|m| {
                let n = per.get(&m.id);
                LeaderRow {
                    membership_id: m.id,
                    name: m.shown_name(),
                    tickets: n.map_or(0, |n| n.tickets),
                    net: n.map_or(0, |n| n.net),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.tickets
                .cmp(&a.tickets)
                .then(b.net.cmp(&a.net))
                .then(a.membership_id.cmp(&b.membership_id))
        });
        Leaderboard { rows }
    }

    /// (rank from 1, places) of a membership; `None` when it is not on the board.
    pub(crate) fn rank_of(&self, membership_id: MembershipId) -> Option<(usize, usize)> {
        self.rows
            .iter()
            .position(|r| r.membership_id == membership_id)
            .map(|i| (i + 1, self.rows.len()))
    }
}
