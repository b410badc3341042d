//! Tracking links and their click counters.

use super::sql::{QueryBuilder, query, query_as, query_scalar, ts};
use super::{LinkChange, Store, StoreResult, WriteTx};
use crate::domain::{EventId, LinkId, LinkKind, MembershipId, OrgId, PersonId};
use chrono::{DateTime, Utc};

/// A tracking link.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: LinkId,
    pub code: String,
    pub org_id: OrgId,
    pub event_id: EventId,
    pub membership_id: Option<MembershipId>,
    pub parent_id: Option<LinkId>,
    pub kind: LinkKind,
    pub label: String,
    pub sub_promoter: Option<String>,
    /// Off: with its promoter (`revoke`), or on its own (`disablelink`, then `disabled_by`).
    pub revoked: bool,
    /// Who turned the link off on its own.
    pub disabled_by: Option<PersonId>,
}

/// A new tracking link.
#[derive(Debug, Clone)]
pub struct NewLink<'a> {
    pub code: &'a str,
    pub org_id: OrgId,
    pub event_id: EventId,
    pub membership_id: Option<MembershipId>,
    pub parent_id: Option<LinkId>,
    pub kind: LinkKind,
    pub label: &'a str,
    pub sub_promoter: Option<&'a str>,
    pub created_by: Option<PersonId>,
}

/// What a redirect needs to know about a live link.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkTarget {
    pub link_id: LinkId,
    pub code: String,
    pub event_id: EventId,
    pub ticket_url: String,
    /// The shop of the link's event, which decides how the code travels.
    pub checkout: crate::domain::Shop,
    /// pretix: whether the link's voucher exists (until then the link opens the page).
    pub voucher_live: bool,
}

/// A live link as the full rebuild reads it: its event's page is read once per event
/// ([`EventPage`]), its voucher state once for all ([`LinkTableHead`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveLink {
    pub link_id: LinkId,
    pub code: String,
    pub event_id: EventId,
}

/// An event's ticket page and shop, which decide where its links lead.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventPage {
    pub event_id: EventId,
    pub ticket_url: String,
    pub checkout: crate::domain::Shop,
}

/// A row of the link log: the one scope a change touched.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkLogRow {
    pub seq: i64,
    pub link_id: Option<LinkId>,
    pub membership_id: Option<MembershipId>,
    pub event_id: Option<EventId>,
    /// A code that no longer leads anywhere (its link deleted or given another code).
    pub gone_code: Option<String>,
}

impl LinkLogRow {
    /// The links the change may have touched.
    pub fn change(&self) -> Option<LinkChange> {
        match (self.link_id, self.membership_id, self.event_id) {
            (Some(l), _, _) => Some(LinkChange::Link(l)),
            (_, Some(m), _) => Some(LinkChange::Membership(m)),
            (_, _, Some(e)) => Some(LinkChange::Event(e)),
            _ => None,
        }
    }
}

/// What a full rebuild of the link table reads before the links, in their snapshot.
#[derive(Debug)]
pub struct LinkTableHead {
    /// The link log's newest row in the snapshot: the table follows the log from there.
    pub log_at: i64,
    pub pages: Vec<EventPage>,
    /// Links whose pretix voucher exists for their event's current pretix event.
    pub vouchers: Vec<LinkId>,
}

/// A link a change may have touched: its target, and whether it redirects.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkState {
    #[sqlx(flatten)]
    pub target: LinkTarget,
    pub live: bool,
}

/// Clicks to add, aggregated per link and day by the caller.
#[derive(Debug, Clone, Default)]
pub struct ClickBatch {
    /// (link id, day `YYYY-MM-DD`, clicks, visitor hashes seen).
    pub rows: Vec<(LinkId, String, i64, Vec<[u8; 16]>)>,
}

/// How a link is named to people: its label, with the sub-promoter it was made for.
pub fn shown_link_label(label: &str, sub_promoter: Option<&str>) -> String {
    match sub_promoter {
        Some(name) if name.eq_ignore_ascii_case(label) => format!("{name} (sub-promoter)"),
        Some(name) => format!("{label} (for {name})"),
        None => label.to_string(),
    }
}

impl LinkRow {
    /// The label as people see it (with the sub-promoter's name).
    pub fn shown_label(&self) -> String {
        shown_link_label(&self.label, self.sub_promoter.as_deref())
    }
}

/// A link's redirect target, from `links l` joined to its event `e`.
const TARGET_COLS: &str = "l.id AS link_id, l.code, l.event_id, e.ticket_url, e.checkout, \
    EXISTS (SELECT 1 FROM shop_vouchers v JOIN event_checkout_keys k ON k.event_id = e.id AND k.checkout = e.checkout \
    AND k.key = v.event_key WHERE v.link_id = l.id AND v.state = 'live') AS voucher_live";

/// The tables [`TARGET_COLS`] reads.
const TARGET_FROM: &str = "FROM links l JOIN events e ON e.id = l.event_id";

/// Whether link `l` redirects: not revoked, and its promoter (if any) still active.
const LIVE: &str = "l.revoked_at IS NULL AND (l.membership_id IS NULL OR \
    EXISTS (SELECT 1 FROM memberships m WHERE m.id = l.membership_id AND m.status = 'active'))";

const LINK_COLS: &str = "id, code, org_id, event_id, membership_id, parent_id, kind, label, sub_promoter, revoked_at IS NOT NULL AS revoked, disabled_by";

impl Store {
    /// Inserts a link; `None` when the code is already taken.
    pub async fn create_link(
        &self,
        tx: &mut WriteTx,
        link: &NewLink<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<LinkId>> {
        tx.links_changed();
        query_scalar(
            "INSERT INTO links (code, org_id, event_id, membership_id, parent_id, kind, label, sub_promoter, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(link.code)
        .bind(link.org_id)
        .bind(link.event_id)
        .bind(link.membership_id)
        .bind(link.parent_id)
        .bind(link.kind)
        .bind(link.label)
        .bind(link.sub_promoter)
        .bind(link.created_by)
        .bind(ts(now))
        .fetch_optional(&mut **tx)
        .await
    }

    /// The main link of a membership for an event, if created.
    pub async fn main_link(
        &self,
        tx: &mut WriteTx,
        membership_id: MembershipId,
        event_id: EventId,
    ) -> StoreResult<Option<LinkRow>> {
        query_as(format!(
            "SELECT {LINK_COLS} FROM links WHERE membership_id = ? AND event_id = ? AND kind = 'main'"
        ))
        .bind(membership_id)
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await
    }

    /// Links of a membership for an event.
    pub async fn links_of_membership(
        &self,
        membership_id: MembershipId,
        event_id: EventId,
    ) -> StoreResult<Vec<LinkRow>> {
        query_as(format!(
            "SELECT {LINK_COLS} FROM links WHERE membership_id = ? AND event_id = ? ORDER BY id"
        ))
        .bind(membership_id)
        .bind(event_id)
        .fetch_all(self.pool())
        .await
    }

    /// How many links a membership has (all events).
    pub async fn count_links_of_membership(&self, membership_id: MembershipId) -> StoreResult<i64> {
        query_scalar("SELECT count(*) FROM links WHERE membership_id = ?")
            .bind(membership_id)
            .fetch_one(self.pool())
            .await
    }

    /// Links of an event (all owners).
    pub async fn links_of_event(&self, event_id: EventId) -> StoreResult<Vec<LinkRow>> {
        query_as(format!("SELECT {LINK_COLS} FROM links WHERE event_id = ? ORDER BY id"))
            .bind(event_id)
            .fetch_all(self.pool())
            .await
    }

    /// A link by its code (live or revoked).
    pub async fn link_by_code(&self, code: &str) -> StoreResult<Option<LinkRow>> {
        query_as(format!("SELECT {LINK_COLS} FROM links WHERE code = ?"))
            .bind(code)
            .fetch_optional(self.pool())
            .await
    }

    /// Revokes every link of a membership (the promoter was revoked).
    pub async fn revoke_links_of_membership(
        &self,
        tx: &mut WriteTx,
        membership_id: MembershipId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        tx.links_changed();
        // A link turned off on its own before goes with its promoter now: nobody turns it back on.
        query("UPDATE links SET disabled_by = NULL WHERE membership_id = ? AND disabled_by IS NOT NULL")
            .bind(membership_id)
            .execute(&mut **tx)
            .await?;
        query("UPDATE links SET revoked_at = ? WHERE membership_id = ? AND revoked_at IS NULL")
            .bind(ts(now))
            .bind(membership_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Turns one live link off on behalf of `by`; `false` when it was off already.
    pub async fn disable_link(
        &self,
        tx: &mut WriteTx,
        id: LinkId,
        by: PersonId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        tx.links_changed();
        let done = query("UPDATE links SET revoked_at = ?, disabled_by = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(ts(now))
            .bind(by)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns a link that was turned off on its own back on, while its promoter is
    /// active; `false` (nothing changed) otherwise.
    pub async fn enable_link(&self, tx: &mut WriteTx, id: LinkId) -> StoreResult<bool> {
        tx.links_changed();
        let done = query(
            "UPDATE links SET revoked_at = NULL, disabled_by = NULL \
             WHERE id = ? AND revoked_at IS NOT NULL AND disabled_by IS NOT NULL \
             AND (membership_id IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.id = links.membership_id AND m.status = 'active'))",
        )
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The link log's rows past `after` (migration 0017: every change to links, their
    /// promoters' memberships, events' pages and vouchers, by any process), at most
    /// `limit`, in order.
    pub async fn link_log_after(&self, after: i64, limit: i64) -> StoreResult<Vec<LinkLogRow>> {
        query_as(
            "SELECT seq, link_id, membership_id, event_id, gone_code FROM link_log WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// The oldest row the link log still holds.
    pub async fn link_log_start(&self) -> StoreResult<Option<i64>> {
        query_scalar("SELECT min(seq) FROM link_log")
            .fetch_one(self.pool())
            .await
    }

    /// Forgets the oldest rows of the link log past the newest `keep`, at most `chunk`
    /// of them (one short write at a time); how many went.
    pub async fn prune_link_log(&self, keep: i64, chunk: i64) -> StoreResult<u64> {
        let done = query(
            "DELETE FROM link_log WHERE seq IN (SELECT seq FROM link_log \
             WHERE seq <= (SELECT max(seq) FROM link_log) - ? ORDER BY seq LIMIT ?)",
        )
        .bind(keep)
        .bind(chunk)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    /// Reads what the redirect's table is built from in one snapshot: the link log's
    /// newest row, every event's page, the links whose voucher is live (handed to
    /// `start`), then every live link, handed to `each` as the rows come (the whole set
    /// is never held at once; the runtime gets a turn every 1024 rows).
    pub async fn read_live_links<S>(
        &self,
        start: impl FnOnce(LinkTableHead) -> S,
        mut each: impl FnMut(&mut S, LiveLink),
    ) -> StoreResult<S> {
        use futures::TryStreamExt;
        // A deferred transaction: one snapshot from its first read to its end.
        let mut tx = self.snapshot().await?;
        // The last number handed out, also when every row was deleted since. (PostgreSQL
        // numbers the log under the write lock every transaction that touches links
        // takes, so the newest committed row is the last number; the sequence itself
        // could name a number not committed yet. Pruning always keeps the newest rows.)
        let log_at: i64 = query_scalar("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'link_log'), 0)")
            .pg("SELECT coalesce(max(seq), 0) FROM link_log")
            .fetch_one(&mut tx)
            .await?;
        let pages = query_as("SELECT id AS event_id, ticket_url, checkout FROM events")
            .fetch_all(&mut tx)
            .await?;
        let vouchers = query_scalar(
            "SELECT v.link_id FROM shop_vouchers v JOIN links l ON l.id = v.link_id JOIN events e ON e.id = l.event_id \
             JOIN event_checkout_keys k ON k.event_id = e.id AND k.checkout = e.checkout AND k.key = v.event_key \
             WHERE v.state = 'live'",
        )
        .fetch_all(&mut tx)
        .await?;
        let mut state = start(LinkTableHead {
            log_at,
            pages,
            vouchers,
        });
        {
            let sql = format!("SELECT l.id AS link_id, l.code, l.event_id FROM links l WHERE {LIVE}");
            let mut rows = query_as::<LiveLink>(sql).fetch(&mut tx);
            let mut n = 0u32;
            while let Some(l) = rows.try_next().await? {
                each(&mut state, l);
                n += 1;
                if n.is_multiple_of(1024) {
                    tokio::task::yield_now().await;
                }
            }
        }
        // The scan filled this reader's page cache with every link's pages, which later
        // reads do not want: they are let go (the daemon gives them back to the system).
        if !self.is_postgres() {
            query("PRAGMA shrink_memory").execute(&mut tx).await?;
        }
        tx.rollback().await?;
        Ok(state)
    }

    /// The redirect target of one live code.
    pub async fn live_link_target(&self, code: &str) -> StoreResult<Option<LinkTarget>> {
        query_as(format!(
            "SELECT {TARGET_COLS} {TARGET_FROM} WHERE l.code = ? AND {LIVE}"
        ))
        .bind(code)
        .fetch_optional(self.pool())
        .await
    }

    /// The links a change may have touched, live or not, with their targets.
    pub async fn link_states(&self, change: LinkChange) -> StoreResult<Vec<LinkState>> {
        let (filter, id) = match change {
            LinkChange::Link(id) => ("l.id = ?", id.0),
            LinkChange::Membership(m) => ("l.membership_id = ?", m.0),
            LinkChange::Event(e) => ("l.event_id = ?", e.0),
        };
        query_as(format!(
            "SELECT {TARGET_COLS}, {LIVE} AS live {TARGET_FROM} WHERE {filter} ORDER BY l.id"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await
    }

    /// A daemon-wide secret setting, created with `init` on first use.
    pub async fn setting_or_init(&self, key: &str, init: impl FnOnce() -> Vec<u8>) -> StoreResult<Vec<u8>> {
        let value = init();
        query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(&value)
            .execute(self.writer())
            .await?;
        query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_one(self.pool())
            .await
    }

    /// Adds a batch of clicks in one transaction with multi-row statements.
    pub async fn record_clicks(&self, batch: &ClickBatch) -> StoreResult<()> {
        if batch.rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        // Visitors first, so the unique count can be derived from what was new.
        let visitors: Vec<(LinkId, &str, &[u8; 16])> = batch
            .rows
            .iter()
            .flat_map(|(link, day, _, vs)| vs.iter().map(move |v| (*link, day.as_str(), v)))
            .collect();
        let mut new_uniques: std::collections::HashMap<(LinkId, &str), i64> = Default::default();
        for chunk in visitors.chunks(300) {
            let mut q = QueryBuilder::new("INSERT INTO click_visitors (link_id, day, visitor) ");
            q.push_values(chunk, |mut b, (link, day, v)| {
                b.push_bind(*link).push_bind(*day).push_bind(v.as_slice());
            });
            q.push(" ON CONFLICT DO NOTHING RETURNING link_id, day");
            let rows: Vec<(LinkId, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
            for (link, day) in rows {
                if let Some((_, d, _)) = chunk.iter().find(|(l, d, _)| *l == link && *d == day) {
                    *new_uniques.entry((link, d)).or_default() += 1;
                }
            }
        }
        for chunk in batch.rows.chunks(300) {
            let mut q = QueryBuilder::new("INSERT INTO clicks (link_id, day, clicks, uniques) ");
            q.push_values(chunk, |mut b, (link, day, n, _)| {
                let u = new_uniques.get(&(*link, day.as_str())).copied().unwrap_or(0);
                b.push_bind(*link).push_bind(day.as_str()).push_bind(*n).push_bind(u);
            });
            q.push(
                " ON CONFLICT (link_id, day) DO UPDATE SET clicks = clicks.clicks + excluded.clicks, \
                 uniques = clicks.uniques + excluded.uniques",
            );
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
