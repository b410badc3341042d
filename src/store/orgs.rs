//! Organizations, their organizers, events and ticket types.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreError, StoreResult, WriteTx};
use crate::domain::{EventId, OrgId, OrganizerRole, PersonId, Shop, TicketTypeId};
use chrono::{DateTime, Utc};

/// An organization running promoter programs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgRow {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    pub leaderboard: bool,
}

/// An event of an organization.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: EventId,
    pub org_id: OrgId,
    pub slug: String,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ticket_url: String,
    pub currency: String,
    /// The shop that sells its tickets.
    pub checkout: Shop,
}

/// A ticket type of an event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketTypeRow {
    pub id: TicketTypeId,
    pub event_id: EventId,
    pub name: String,
    pub price_minor: Option<i64>,
}

const EVENT_COLS: &str = "id, org_id, slug, name, starts_at, ticket_url, currency, checkout";

impl Store {
    /// Creates an organization with its owner (the person must exist).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_org(
        &self,
        tx: &mut WriteTx,
        slug: &str,
        name: &str,
        time_zone: &str,
        currency: &str,
        owner_id: PersonId,
        now: DateTime<Utc>,
    ) -> StoreResult<OrgId> {
        let id: OrgId = query_scalar(
            "INSERT INTO organizations (slug, name, time_zone, currency, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(slug)
        .bind(name)
        .bind(time_zone)
        .bind(currency)
        .bind(ts(now))
        .fetch_one(&mut **tx)
        .await?;
        self.add_organizer(tx, id, owner_id, OrganizerRole::Owner, now).await?;
        Ok(id)
    }

    /// Makes a person an organizer (or changes their role).
    pub async fn add_organizer(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        person_id: PersonId,
        role: OrganizerRole,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        query(
            "INSERT INTO organizers (org_id, person_id, role, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (org_id, person_id) DO UPDATE \
             SET role = CASE WHEN organizers.role = 'owner' THEN 'owner' ELSE excluded.role END",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(role)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The organization with this slug.
    pub async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<OrgRow>> {
        query_as("SELECT id, slug, name, time_zone, currency, leaderboard FROM organizations WHERE slug = ?")
            .bind(slug)
            .fetch_optional(self.pool())
            .await
    }

    /// The organization with this id.
    pub async fn org(&self, id: OrgId) -> StoreResult<Option<OrgRow>> {
        query_as("SELECT id, slug, name, time_zone, currency, leaderboard FROM organizations WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Organizations a person organizes, with their role.
    pub async fn orgs_organized_by(&self, person_id: PersonId) -> StoreResult<Vec<(OrgRow, OrganizerRole)>> {
        let rows: Vec<(OrgId, String, String, String, String, bool, OrganizerRole)> = query_as(
            "SELECT o.id, o.slug, o.name, o.time_zone, o.currency, o.leaderboard, g.role \
             FROM organizers g JOIN organizations o ON o.id = g.org_id WHERE g.person_id = ? ORDER BY o.name",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, slug, name, time_zone, currency, leaderboard, role)| {
                (
                    OrgRow {
                        id,
                        slug,
                        name,
                        time_zone,
                        currency,
                        leaderboard,
                    },
                    role,
                )
            })
            .collect())
    }

    /// Turns the organization's leaderboard on or off.
    pub async fn set_leaderboard(&self, tx: &mut WriteTx, org_id: OrgId, on: bool) -> StoreResult<()> {
        query("UPDATE organizations SET leaderboard = ? WHERE id = ?")
            .bind(on)
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Creates an event; `None` when the slug is taken.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_event(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        slug: &str,
        name: &str,
        starts_at: DateTime<Utc>,
        ticket_url: &str,
        currency: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<EventId>> {
        let id: Option<EventId> = query_scalar(
            "INSERT INTO events (org_id, slug, name, starts_at, ticket_url, currency, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, slug) DO NOTHING RETURNING id",
        )
        .bind(org_id)
        .bind(slug)
        .bind(name)
        .bind(ts(starts_at))
        .bind(ticket_url)
        .bind(currency)
        .bind(ts(now))
        .fetch_optional(&mut **tx)
        .await?;
        if id.is_some() {
            // No links yet, but the name is new to whoever resolves event names.
            tx.links_changed();
        }
        Ok(id)
    }

    /// Changes one editable field of an event (`name`, `starts_at`, `ticket_url`).
    pub async fn update_event_field(
        &self,
        tx: &mut WriteTx,
        event_id: EventId,
        field: EventField,
        value: &str,
    ) -> StoreResult<()> {
        tx.links_changed();
        let q = match field {
            EventField::Name => query("UPDATE events SET name = ? WHERE id = ?").bind(value),
            EventField::StartsAt => {
                // A time is bound as one (PostgreSQL's column is TIMESTAMPTZ).
                let starts_at = DateTime::parse_from_rfc3339(value)
                    .map_err(|e| StoreError::Encode(format!("event start `{value}`: {e}")))?;
                query("UPDATE events SET starts_at = ? WHERE id = ?").bind(ts(starts_at.with_timezone(&Utc)))
            }
            EventField::TicketUrl => query("UPDATE events SET ticket_url = ? WHERE id = ?").bind(value),
        };
        q.bind(event_id).execute(&mut **tx).await?;
        Ok(())
    }

    /// The events a name can mean: `<event>` (every organization's event of that short
    /// name; short names are unique per organization) or `<org>/<event>`.
    pub async fn events_named(&self, name: &str) -> StoreResult<Vec<EventRow>> {
        Ok(match name.split_once('/') {
            Some((org, slug)) => {
                query_as(format!(
                    "SELECT {EVENT_COLS} FROM events WHERE slug = ? \
                     AND org_id = (SELECT id FROM organizations WHERE slug = ?)"
                ))
                .bind(slug)
                .bind(org)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                query_as(format!("SELECT {EVENT_COLS} FROM events WHERE slug = ? ORDER BY id"))
                    .bind(name)
                    .fetch_all(self.pool())
                    .await?
            }
        })
    }

    /// The event with this id.
    pub async fn event(&self, id: EventId) -> StoreResult<Option<EventRow>> {
        query_as(format!("SELECT {EVENT_COLS} FROM events WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Events of an organization, soonest first.
    pub async fn events_of_org(&self, org_id: OrgId) -> StoreResult<Vec<EventRow>> {
        query_as(format!(
            "SELECT {EVENT_COLS} FROM events WHERE org_id = ? ORDER BY starts_at, slug"
        ))
        .bind(org_id)
        .fetch_all(self.pool())
        .await
    }
}

/// The fields of an event that `editevent` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventField {
    Name,
    StartsAt,
    TicketUrl,
}
