//! Digests and notifications: preferences, digest periods sent, notification and
//! milestone state, and chat messages in the outbox.

use super::sql::{query, query_as, query_scalar, ts, ts_ms};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{Channel, DigestKind, EventId, MembershipId, OrgId, OutboxId, PersonId, Platform};
use chrono::{DateTime, Utc};

/// A person's delivery preferences (defaults when never set).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Preferences {
    pub channel: Option<Channel>,
    pub digest: String,
    pub digest_hour: Option<i64>,
    pub notify: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            channel: None,
            digest: "weekly".into(),
            digest_hour: None,
            notify: true,
        }
    }
}

/// Someone who may get a digest: a person with a role, their email and preferences.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub person_id: PersonId,
    pub email: String,
    pub mail_opt_out: bool,
    pub created_at: DateTime<Utc>,
}

/// A queued chat message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatMail {
    pub id: OutboxId,
    pub recipient: String,
    pub payload: Option<String>,
    pub body: String,
    pub subject: String,
    pub kind: String,
    pub attempts: i64,
    pub fallback_email: Option<String>,
    /// The display name an email copy is sent under (an organization's).
    pub from_name: Option<String>,
}

/// New sales of a promoter since a time, per event, link and ticket type.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SaleChange {
    pub event_id: EventId,
    pub link_label: String,
    pub link_sub_promoter: Option<String>,
    pub ticket_type: String,
    pub tickets: i64,
    pub net_minor: i64,
}

impl Store {
    /// A person's preferences.
    pub async fn preferences(&self, person_id: PersonId) -> StoreResult<Preferences> {
        Ok(
            query_as("SELECT channel, digest, digest_hour, notify FROM preferences WHERE person_id = ?")
                .bind(person_id)
                .fetch_optional(self.pool())
                .await?
                .unwrap_or_default(),
        )
    }

    /// Saves a person's preferences.
    pub async fn set_preferences(&self, tx: &mut WriteTx, person_id: PersonId, p: &Preferences) -> StoreResult<()> {
        query(
            "INSERT INTO preferences (person_id, channel, digest, digest_hour, notify) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (person_id) DO UPDATE SET channel = excluded.channel, digest = excluded.digest, \
             digest_hour = excluded.digest_hour, notify = excluded.notify",
        )
        .bind(person_id)
        .bind(p.channel)
        .bind(&p.digest)
        .bind(p.digest_hour)
        .bind(p.notify)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// An organization's digest defaults: (weekday 1 = Monday, hour).
    pub async fn org_digest_defaults(&self, org_id: OrgId) -> StoreResult<(i64, i64)> {
        query_as("SELECT digest_weekday, digest_hour FROM organizations WHERE id = ?")
            .bind(org_id)
            .fetch_one(self.pool())
            .await
    }

    /// Sets an organization's digest defaults.
    pub async fn set_org_digest_defaults(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        weekday: i64,
        hour: i64,
    ) -> StoreResult<()> {
        query("UPDATE organizations SET digest_weekday = ?, digest_hour = ? WHERE id = ?")
            .bind(weekday)
            .bind(hour)
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Sets an organization's time zone.
    pub async fn set_org_time_zone(&self, tx: &mut WriteTx, org_id: OrgId, tz: &str) -> StoreResult<()> {
        query("UPDATE organizations SET time_zone = ? WHERE id = ?")
            .bind(tz)
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
        // Sales are counted on the organization's days: move them to the new ones.
        self.redate_orders_of(tx, org_id, super::daily::zone(tz)?).await
    }

    /// People with an active promoter membership (`promoter`) or an organizer role
    /// (`organizer`) in an organization.
    pub async fn digest_recipients(&self, org_id: OrgId, kind: DigestKind) -> StoreResult<Vec<Recipient>> {
        query_as(format!(
            "SELECT id AS person_id, email, mail_opt_out, created_at FROM people WHERE id IN ({}) ORDER BY id",
            recipients_of(kind)
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await
    }

    /// Every organization id.
    pub async fn org_ids(&self) -> StoreResult<Vec<OrgId>> {
        query_scalar("SELECT id FROM organizations ORDER BY id")
            .fetch_all(self.pool())
            .await
    }

    /// Claims a digest period; false when it was claimed before (by anyone).
    pub async fn claim_digest(
        &self,
        tx: &mut WriteTx,
        person_id: PersonId,
        kind: DigestKind,
        period: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = query(
            "INSERT INTO digest_runs (person_id, kind, period, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(person_id)
        .bind(kind)
        .bind(period)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The preferences of everyone who may get an organization's digest of `kind`, in
    /// one read (those never set are not listed: they have the defaults).
    pub async fn digest_preferences(
        &self,
        org_id: OrgId,
        kind: DigestKind,
    ) -> StoreResult<std::collections::HashMap<PersonId, Preferences>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            person_id: PersonId,
            #[sqlx(flatten)]
            prefs: Preferences,
        }
        let rows: Vec<Row> = query_as(format!(
            "SELECT person_id, channel, digest, digest_hour, notify FROM preferences WHERE person_id IN ({})",
            recipients_of(kind)
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| (r.person_id, r.prefs)).collect())
    }

    /// Who has a digest of `kind` claimed for any of `periods`, in one read.
    pub async fn digests_claimed(
        &self,
        kind: DigestKind,
        periods: &[String],
    ) -> StoreResult<std::collections::HashSet<(PersonId, String)>> {
        if periods.is_empty() {
            return Ok(Default::default());
        }
        let marks = vec!["?"; periods.len()].join(", ");
        let sql = format!("SELECT person_id, period FROM digest_runs WHERE kind = ? AND period IN ({marks})");
        let mut q = query_as(sql).bind(kind);
        for p in periods {
            q = q.bind(p);
        }
        let rows: Vec<(PersonId, String)> = q.fetch_all(self.pool()).await?;
        Ok(rows.into_iter().collect())
    }

    /// When the person's previous digest of this kind for an organization went out.
    pub async fn last_digest_at(
        &self,
        person_id: PersonId,
        kind: DigestKind,
        org_slug: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        query_scalar(
            "SELECT max(created_at) FROM digest_runs WHERE person_id = ?1 AND kind = ?2 \
             AND substr(period, 1, length(?3) + 1) = ?3 || ':'",
        )
        .bind(person_id)
        .bind(kind)
        .bind(org_slug)
        .fetch_one(self.pool())
        .await
    }

    /// Digests claimed so far: (person email, kind, period), for operators and tests.
    pub async fn digest_runs(&self) -> StoreResult<Vec<(String, String, String)>> {
        query_as(
            "SELECT p.email, d.kind, d.period FROM digest_runs d JOIN people p ON p.id = d.person_id ORDER BY d.created_at, p.email",
        )
        .fetch_all(self.pool())
        .await
    }

    /// Sales of a membership attributed or refunded after `since`.
    pub async fn sale_changes(
        &self,
        membership_id: MembershipId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<SaleChange>> {
        query_as(
            "SELECT o.event_id, coalesce(l.label, '') AS link_label, l.sub_promoter AS link_sub_promoter, t.name AS ticket_type, \
               CAST(sum(CASE WHEN o.created_at > ?2 AND o.status <> 'cancelled' \
                 THEN ol.quantity - ol.refunded_quantity ELSE 0 END) AS BIGINT) AS tickets, \
               CAST(sum(CASE WHEN o.created_at > ?2 AND o.status <> 'cancelled' \
                 THEN (ol.quantity - ol.refunded_quantity) * ol.unit_price_minor - ol.refunded_minor \
                 ELSE 0 END) AS BIGINT) AS net_minor \
             FROM orders o JOIN order_lines ol ON ol.order_id = o.id JOIN ticket_types t ON t.id = ol.ticket_type_id \
             LEFT JOIN links l ON l.id = o.link_id \
             WHERE o.membership_id = ?1 AND o.updated_at > ?2 AND o.updated_at <= ?3 \
             GROUP BY o.event_id, l.id, t.id ORDER BY o.event_id, l.id NULLS FIRST, t.id",
        )
        .bind(membership_id)
        .bind(ts_ms(since))
        .bind(ts_ms(until))
        .fetch_all(self.pool())
        .await
    }

    /// Changes of net tickets on a promoter's earlier orders (refunds, more tickets) since
    /// they were last notified: (event id, delta).
    pub async fn order_deltas(
        &self,
        membership_id: MembershipId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<(EventId, i64)>> {
        query_as(
            "SELECT event_id, CAST(sum(net - notified_tickets) AS BIGINT) FROM ( \
               SELECT o.event_id, o.notified_tickets, \
                 sum(CASE WHEN o.status = 'cancelled' THEN 0 ELSE ol.quantity - ol.refunded_quantity END) AS net \
               FROM orders o JOIN order_lines ol ON ol.order_id = o.id \
               WHERE o.membership_id = ?1 AND o.created_at <= ?2 AND o.updated_at > ?2 AND o.updated_at <= ?3 \
               GROUP BY o.id) AS changed \
             GROUP BY event_id HAVING sum(net - notified_tickets) <> 0",
        )
        .bind(membership_id)
        .bind(ts_ms(since))
        .bind(ts_ms(until))
        .fetch_all(self.pool())
        .await
    }

    /// Records each order's net tickets as told to the promoter, for the orders changed
    /// after `after` (the previous pass, which recorded every order up to its own time)
    /// up to `until`; every order up to `until` on a membership's first pass (`None`).
    /// Returns how many orders it recorded: a pass costs what changed, not the history.
    pub async fn mark_orders_notified(
        &self,
        tx: &mut WriteTx,
        membership_id: MembershipId,
        after: Option<DateTime<Utc>>,
        until: DateTime<Utc>,
    ) -> StoreResult<u64> {
        Ok(query(
            "UPDATE orders SET notified_tickets = coalesce((SELECT sum(CASE WHEN orders.status = 'cancelled' THEN 0 \
               ELSE ol.quantity - ol.refunded_quantity END) FROM order_lines ol WHERE ol.order_id = orders.id), 0) \
             WHERE membership_id = ?1 AND updated_at > coalesce(?2, '') AND updated_at <= ?3",
        )
        .pg(
            "UPDATE orders SET notified_tickets = coalesce((SELECT sum(CASE WHEN orders.status = 'cancelled' THEN 0 \
               ELSE ol.quantity - ol.refunded_quantity END) FROM order_lines ol WHERE ol.order_id = orders.id), 0) \
             WHERE membership_id = ?1 AND updated_at > coalesce(?2, '-infinity') AND updated_at <= ?3",
        )
        .bind(membership_id)
        .bind(after.map(ts_ms))
        .bind(ts_ms(until))
        .execute(&mut **tx)
        .await?
        .rows_affected())
    }

    /// Active memberships with orders changed after their last notification: (id,
    /// person, since when, whether a pass notified them before).
    pub async fn memberships_with_new_sales(
        &self,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<(MembershipId, PersonId, DateTime<Utc>, bool)>> {
        query_as(
            "SELECT m.id, m.person_id, coalesce(n.last_at, m.updated_at) AS since, n.last_at IS NOT NULL AS followed \
             FROM memberships m \
             LEFT JOIN notify_state n ON n.membership_id = m.id \
             WHERE m.status = 'active' AND EXISTS (SELECT 1 FROM orders o WHERE o.membership_id = m.id \
               AND o.updated_at > coalesce(n.last_at, m.updated_at) AND o.updated_at <= ?)",
        )
        .bind(ts_ms(until))
        .fetch_all(self.pool())
        .await
    }

    /// Moves a membership's notification mark from `since` to `at`; false when another
    /// run moved it first (so only one run notifies).
    pub async fn claim_notification(
        &self,
        tx: &mut WriteTx,
        membership_id: MembershipId,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = query(
            "INSERT INTO notify_state (membership_id, last_at) VALUES (?1, ?3) \
             ON CONFLICT (membership_id) DO UPDATE SET last_at = excluded.last_at WHERE notify_state.last_at = ?2",
        )
        .bind(membership_id)
        .bind(ts_ms(since))
        .bind(ts_ms(at))
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims a milestone; false when it was sent before.
    pub async fn claim_milestone(
        &self,
        tx: &mut WriteTx,
        membership_id: MembershipId,
        event_id: EventId,
        threshold: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = query(
            "INSERT INTO milestones_sent (membership_id, event_id, threshold, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(membership_id)
        .bind(event_id)
        .bind(threshold)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues a chat message (Telegram / Discord) carrying a structured reply.
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue_chat(
        &self,
        tx: &mut WriteTx,
        channel: Platform,
        recipient: &str,
        kind: &str,
        subject: &str,
        body: &str,
        payload: &str,
        fallback_email: &str,
        from_name: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<OutboxId> {
        query_scalar(
            "INSERT INTO outbox (channel, recipient, kind, subject, body, created_at, next_try_at, payload, fallback_email, \
               from_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(channel)
        .bind(recipient)
        .bind(kind)
        .bind(subject)
        .bind(body)
        .bind(ts(now))
        .bind(ts(now))
        .bind(payload)
        .bind(fallback_email)
        .bind(from_name)
        .fetch_one(&mut **tx)
        .await
    }

    /// Outbox messages by channel and kind: (channel, recipient, kind, sent), for tests and operators.
    pub async fn outbox_summary(&self) -> StoreResult<Vec<(String, String, String, bool)>> {
        query_as("SELECT channel, recipient, kind, sent_at IS NOT NULL FROM outbox ORDER BY id")
            .fetch_all(self.pool())
            .await
    }
}

/// The ids of the people who may get an organization's (`?`) digest of `kind`.
fn recipients_of(kind: DigestKind) -> &'static str {
    match kind {
        DigestKind::Organizer => "SELECT person_id FROM organizers WHERE org_id = ?",
        DigestKind::Promoter => "SELECT person_id FROM memberships WHERE org_id = ? AND status = 'active'",
    }
}
