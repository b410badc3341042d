//! Numbers: a promoter's own stats and orders, the organizer's promoter table, the leaderboard.

use super::{Core, Invocation, Scope, organizer_scope, promoter_scope};
use crate::error::CommandError;
use crate::money::{money, percent};
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{ClickFact, EventRow, LinkRow, MembershipRow, OrderCountFact, SalesFact};
use std::collections::HashMap;

type Res = Result<Reply, CommandError>;

/// Sales and clicks of an event, loaded once and summed by any (membership, link) filter.
pub(super) struct EventNumbers {
    sales: Vec<SalesFact>,
    counts: Vec<OrderCountFact>,
    clicks: Vec<ClickFact>,
    link_owner: HashMap<i64, Option<i64>>,
    /// Ticket types in creation order.
    types: Vec<String>,
}

/// Sums for one selection.
#[derive(Debug, Default, Clone)]
pub(super) struct Numbers {
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
    pub(super) fn add(&mut self, o: &Numbers) {
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
    /// Zero for every ticket type of the event.
    pub(super) fn zero(&self) -> Numbers {
        Numbers {
            by_type: self.types.iter().map(|t| (t.clone(), 0, 0)).collect(),
            ..Default::default()
        }
    }

    /// Sums the facts whose (membership, link) pass `keep`.
    pub(super) fn of(&self, keep: impl Fn(Option<i64>, Option<i64>) -> bool) -> Numbers {
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
    pub(super) fn per_membership(&self) -> HashMap<i64, Numbers> {
        let mut per: HashMap<i64, Numbers> = HashMap::new();
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

fn summary(n: &Numbers, currency: &str) -> Block {
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

fn by_type_table(n: &Numbers, currency: &str) -> Table {
    let mut t = Table::new(&["Ticket type", "Tickets", "Net revenue"], &[false, true, true]).caption("By ticket type");
    for (name, tickets, net) in &n.by_type {
        t.row(vec![name.clone(), tickets.to_string(), money(*net, currency)]);
    }
    t
}

impl Core {
    /// Loads an event's facts; only one membership's when given.
    pub(super) async fn event_numbers(
        &self,
        event: &EventRow,
        membership: Option<i64>,
    ) -> Result<EventNumbers, CommandError> {
        let links = match membership {
            Some(m) => self.store.links_of_membership(m, event.id).await?,
            None => self.store.links_of_event(event.id).await?,
        };
        Ok(EventNumbers {
            sales: self.store.sales_facts(event.id, membership).await?,
            counts: self.store.order_counts(event.id, membership).await?,
            clicks: self.store.click_facts(event.id, membership).await?,
            link_owner: links.iter().map(|l| (l.id, l.membership_id)).collect(),
            types: self
                .store
                .ticket_types(event.id)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect(),
        })
    }

    /// One promoter's report: summary, by ticket type, by link.
    async fn promoter_report(
        &self,
        event: &EventRow,
        m: &MembershipRow,
        mut reply: Reply,
    ) -> Result<Reply, CommandError> {
        let numbers = self.event_numbers(event, Some(m.id)).await?;
        let n = numbers.of(|mid, _| mid == Some(m.id));
        let links: Vec<LinkRow> = self.store.links_of_membership(m.id, event.id).await?;
        let mut by_link = Table::new(
            &["Link", "Clicks", "Orders", "Tickets", "Net revenue"],
            &[false, true, true, true, true],
        )
        .caption("By link");
        for l in &links {
            let ln = numbers.of(|_, link| link == Some(l.id));
            by_link.row(vec![
                l.shown_label(),
                ln.clicks.to_string(),
                ln.orders.to_string(),
                ln.tickets.to_string(),
                money(ln.net, &event.currency),
            ]);
        }
        reply = reply
            .with(summary(&n, &event.currency))
            .with(Block::Table(by_type_table(&n, &event.currency)));
        if !links.is_empty() {
            reply = reply.with(Block::Table(by_link));
        }
        if n.self_orders > 0 {
            reply = reply.line(format!(
                "{} order(s) were bought with the promoter's own email address: they count, and are marked as self-referrals.",
                n.self_orders
            ));
        }
        Ok(reply)
    }

    pub(super) async fn my_stats(&self, scope: Scope) -> Res {
        let (org, event, m) = promoter_scope(scope);
        let mut reply = Reply::default()
            .titled(format!("Your sales — {}", event.name))
            .private();
        reply = self.promoter_report(&event, &m, reply).await?;
        if org.leaderboard
            && let Some((rank, of)) = self.rank_of(&event, m.id).await?
        {
            reply = reply.line(format!("Leaderboard: you are #{rank} of {of}."));
        }
        Ok(reply)
    }

    pub(super) async fn my_orders(&self, scope: Scope) -> Res {
        let (org, event, m) = promoter_scope(scope);
        let orders = self.store.orders_of_membership(m.id, event.id, 50).await?;
        if orders.is_empty() {
            return Ok(Reply::text(format!(
                "No orders through your links for {} yet. Share `mylink`!",
                event.name
            ))
            .private());
        }
        // Times in the organization's zone, named in the column header.
        let time_header = format!("Time ({})", org.time_zone);
        let mut t = Table::new(
            &["Order", &time_header, "Tickets", "Via", "Status", "Net"],
            &[false, false, false, false, false, true],
        );
        for o in orders {
            t.row(vec![
                o.external_id,
                super::organizer::local_clock(&o.ordered_at, &org.time_zone),
                o.summary,
                o.link_label
                    .as_deref()
                    .map(|l| crate::store::shown_link_label(l, o.link_sub_promoter.as_deref()))
                    .unwrap_or_default(),
                o.status.replace('_', " "),
                money(o.net_minor, &o.currency),
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Your orders — {}", event.name))
            .with(Block::Table(t))
            .line("The 50 latest orders; buyer details are only visible to the organizer.")
            .private())
    }

    pub(super) async fn stats(&self, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let event = event.expect("resolved by authorize");
        let members = self.store.memberships_of_org(org.id, Some(event.id)).await?;
        if let Some(email) = inv.get("promoter") {
            let Some(m) = members.iter().find(|m| m.email == email && m.status != "invited") else {
                refuse!("{email} is not a promoter of {}.", event.name);
            };
            let reply = Reply::default()
                .titled(format!("{} — {}", m.email, event.name))
                .private();
            return self.promoter_report(&event, m, reply).await;
        }
        let numbers = self.event_numbers(&event, None).await?;
        let cur = &event.currency;
        let wide = numbers.types.len() <= 4;
        let mut headers: Vec<String> = vec!["Promoter".into()];
        if wide {
            headers.extend(numbers.types.iter().cloned());
        }
        headers.extend(["Tickets", "Net revenue", "Clicks", "Conv."].map(String::from));
        let numeric: Vec<bool> = headers.iter().enumerate().map(|(i, _)| i > 0).collect();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut t = Table::new(&header_refs, &numeric).caption("Promoters");
        // One row per person: someone promoting this event and all events is listed once.
        let mut people: Vec<(i64, String, Vec<i64>, bool)> = Vec::new();
        for m in members.iter().filter(|m| m.status == "active" || m.status == "revoked") {
            match people.iter_mut().find(|p| p.0 == m.person_id) {
                Some(p) => {
                    p.2.push(m.id);
                    p.3 &= m.status == "revoked";
                }
                None => people.push((m.person_id, m.email.clone(), vec![m.id], m.status == "revoked")),
            }
        }
        let per = numbers.per_membership();
        let mut rows: Vec<(Numbers, String)> = Vec::new();
        for (_, email, ids, revoked) in people {
            let mut n = numbers.zero();
            for id in &ids {
                if let Some(m) = per.get(id) {
                    n.add(m);
                }
            }
            let mut name = email;
            if revoked {
                name.push_str(" (revoked)");
            }
            if n.self_orders > 0 {
                name.push_str(" *");
            }
            rows.push((n, name));
        }
        rows.sort_by(|a, b| {
            b.0.tickets
                .cmp(&a.0.tickets)
                .then(b.0.net.cmp(&a.0.net))
                .then(a.1.cmp(&b.1))
        });
        let mut any_self = false;
        for (n, name) in &rows {
            any_self |= n.self_orders > 0;
            let mut row = vec![name.clone()];
            if wide {
                row.extend(n.by_type.iter().map(|(_, tickets, _)| tickets.to_string()));
            }
            row.extend([
                n.tickets.to_string(),
                money(n.net, cur),
                n.clicks.to_string(),
                percent(n.orders, n.clicks),
            ]);
            t.row(row);
        }
        let promoters = numbers.of(|mid, _| mid.is_some());
        let org_links = numbers.of(|mid, link| mid.is_none() && link.is_some());
        let direct = numbers.of(|_, link| link.is_none());
        let total = numbers.of(|_, _| true);
        let mut totals = Table::new(
            &["", "Orders", "Tickets", "Gross", "Net revenue"],
            &[false, true, true, true, true],
        )
        .caption("Totals");
        for (label, n) in [
            ("Promoters", &promoters),
            ("Organization links", &org_links),
            ("Direct (no link)", &direct),
            ("Event total", &total),
        ] {
            totals.row(vec![
                label.into(),
                n.orders.to_string(),
                n.tickets.to_string(),
                money(n.gross, cur),
                money(n.net, cur),
            ]);
        }
        let mut reply = Reply::default().titled(format!("Sales — {}", event.name)).private();
        if rows.is_empty() {
            reply = reply.line(format!(
                "No active promoters for {} yet. Invite one with `invite <email> {}`.",
                event.name, event.slug
            ));
        } else {
            reply = reply.with(Block::Table(t));
        }
        reply = reply
            .with(Block::Table(by_type_table(&total, cur).caption("Event by ticket type")))
            .with(Block::Table(totals));
        if any_self {
            reply = reply.line("* includes self-referrals: orders bought with the promoter's own email address.");
        }
        if !wide {
            reply = reply.line(format!(
                "Send `stats {} <promoter email>` for one promoter by ticket type.",
                event.slug
            ));
        }
        Ok(reply)
    }

    /// Active promoters of an event ranked by net tickets, then net revenue.
    async fn ranking(&self, event: &EventRow) -> Result<Vec<(MembershipRow, Numbers)>, CommandError> {
        let members = self.store.memberships_of_org(event.org_id, Some(event.id)).await?;
        let numbers = self.event_numbers(event, None).await?;
        let mut per = numbers.per_membership();
        let mut ranked: Vec<(MembershipRow, Numbers)> = members
            .into_iter()
            .filter(|m| m.status == "active")
            .map(|m| {
                let n = per.remove(&m.id).unwrap_or_else(|| numbers.zero());
                (m, n)
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.1.tickets
                .cmp(&a.1.tickets)
                .then(b.1.net.cmp(&a.1.net))
                .then(a.0.id.cmp(&b.0.id))
        });
        Ok(ranked)
    }

    async fn rank_of(&self, event: &EventRow, membership_id: i64) -> Result<Option<(usize, usize)>, CommandError> {
        let ranked = self.ranking(event).await?;
        Ok(ranked
            .iter()
            .position(|(m, _)| m.id == membership_id)
            .map(|i| (i + 1, ranked.len())))
    }

    pub(super) async fn leaderboard(&self, scope: Scope) -> Res {
        let (org, event, me, organizer) = match scope {
            Scope::Organizer { org, event, .. } => (org, event.expect("resolved by authorize"), None, true),
            Scope::Promoter { org, event, membership } => (org, event, Some(membership.id), false),
            Scope::Personal | Scope::Person(_) => unreachable!("leaderboard needs a member scope"),
        };
        if !org.leaderboard {
            let hint = if organizer {
                " Turn it on with `setleaderboard on`."
            } else {
                ""
            };
            refuse!("The leaderboard of {} is off.{hint}", org.name);
        }
        let ranked = self.ranking(&event).await?;
        let headers: &[&str] = if organizer {
            &["Rank", "Promoter", "Tickets"]
        } else {
            &["Rank", "Promoter"]
        };
        let mut t = Table::new(headers, &[true, false, true]);
        for (i, (m, n)) in ranked.iter().enumerate() {
            // The name the promoter chose, else their chat name, else their address's
            // local part: never the address, never an id.
            let mut name = m.shown_name();
            if Some(m.id) == me {
                name.push_str("  ← you");
            }
            let mut row = vec![format!("#{}", i + 1), name];
            if organizer {
                row.push(n.tickets.to_string());
            }
            t.row(row);
        }
        let mut reply = Reply::default()
            .titled(format!("Leaderboard — {}", event.name))
            .with(Block::Table(t));
        // The organizer's view has every promoter's tickets: never in a group.
        reply.private = organizer;
        Ok(reply)
    }
}
