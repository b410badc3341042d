//! Promoter memberships and invitations (to promote, or to co-organize).

use super::orgs::{EventRow, OrgRow};
use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{
    EventId, InviteId, InviteKind, InviteStatus, MembershipId, MembershipStatus, OrgId, PersonId, Shop,
};
use chrono::{DateTime, Utc};

/// A promoter's membership: organization-wide (`event_id` None) or for one event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub id: MembershipId,
    pub org_id: OrgId,
    pub event_id: Option<EventId>,
    pub person_id: PersonId,
    pub status: MembershipStatus,
    pub email: String,
    pub display_name: Option<String>,
    /// Ended by the promoter (`leave`) rather than by an organizer.
    pub left_by_self: bool,
}

impl MembershipRow {
    /// The promoter's name as others see it.
    pub fn shown_name(&self) -> String {
        match &self.display_name {
            Some(n) if !n.trim().is_empty() => n.clone(),
            _ => self.email.split('@').next().unwrap_or(&self.email).to_string(),
        }
    }
}

/// An invitation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    pub id: InviteId,
    pub org_id: OrgId,
    pub event_id: Option<EventId>,
    pub email: String,
    pub kind: InviteKind,
    pub membership_id: Option<MembershipId>,
    pub status: InviteStatus,
    pub sent_count: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The data of a new invitation.
#[derive(Debug, Clone)]
pub struct NewInvite<'a> {
    pub org_id: OrgId,
    pub event_id: Option<EventId>,
    pub email: &'a str,
    pub kind: InviteKind,
    pub code_hash: &'a str,
    pub invited_by: PersonId,
    pub expires_at: DateTime<Utc>,
}

const MEMBERSHIP_COLS: &str =
    "m.id, m.org_id, m.event_id, m.person_id, m.status, p.email, p.display_name, m.left_at IS NOT NULL AS left_by_self";
const INVITE_COLS: &str =
    "id, org_id, event_id, email, kind, membership_id, status, sent_count, created_at, expires_at";

impl Store {
    /// Creates a pending invite (and, for promoters, the invited membership).
    pub async fn create_invite(
        &self,
        tx: &mut WriteTx,
        invite: &NewInvite<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<InviteId> {
        let membership_id = match invite.kind {
            InviteKind::Promoter => {
                let person_id = self.upsert_person(tx, invite.email, false, now).await?;
                let id: MembershipId = query_scalar(
                    "INSERT INTO memberships (org_id, event_id, person_id, status, created_at, updated_at) \
                     VALUES (?, ?, ?, 'invited', ?, ?) RETURNING id",
                )
                .bind(invite.org_id)
                .bind(invite.event_id)
                .bind(person_id)
                .bind(ts(now))
                .bind(ts(now))
                .fetch_one(&mut **tx)
                .await?;
                Some(id)
            }
            InviteKind::Organizer => None,
        };
        let id: InviteId = query_scalar(
            "INSERT INTO invites (org_id, event_id, email, kind, membership_id, code_hash, invited_by, status, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
        )
        .bind(invite.org_id)
        .bind(invite.event_id)
        .bind(invite.email)
        .bind(invite.kind)
        .bind(membership_id)
        .bind(invite.code_hash)
        .bind(invite.invited_by)
        .bind(ts(now))
        .bind(ts(invite.expires_at))
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// The invite whose code hashes to `code_hash`.
    pub async fn invite_by_code_hash(&self, tx: &mut WriteTx, code_hash: &str) -> StoreResult<Option<InviteRow>> {
        query_as(format!("SELECT {INVITE_COLS} FROM invites WHERE code_hash = ?"))
            .bind(code_hash)
            .fetch_optional(&mut **tx)
            .await
    }

    /// The invite with this id.
    pub async fn invite_by_id(&self, tx: &mut WriteTx, id: InviteId) -> StoreResult<Option<InviteRow>> {
        query_as(format!("SELECT {INVITE_COLS} FROM invites WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
    }

    /// The open (pending) invite of this kind for an email and scope.
    pub async fn pending_invite(
        &self,
        org_id: OrgId,
        event_id: Option<EventId>,
        email: &str,
        kind: InviteKind,
    ) -> StoreResult<Option<InviteRow>> {
        query_as(format!(
            "SELECT {INVITE_COLS} FROM invites WHERE org_id = ? AND coalesce(event_id, 0) = coalesce(?, 0) \
             AND email = ? AND kind = ? AND status = 'pending' ORDER BY id DESC LIMIT 1"
        ))
        .bind(org_id)
        .bind(event_id)
        .bind(email)
        .bind(kind)
        .fetch_optional(self.pool())
        .await
    }

    /// Invites of an organization (optionally one event's), newest first.
    pub async fn invites_of_org(&self, org_id: OrgId, event_id: Option<EventId>) -> StoreResult<Vec<InviteRow>> {
        query_as(format!(
            "SELECT {INVITE_COLS} FROM invites WHERE org_id = ? AND (? IS NULL OR event_id = ?) ORDER BY id DESC LIMIT 200"
        ))
        .bind(org_id)
        .bind(event_id)
        .bind(event_id)
        .fetch_all(self.pool())
        .await
    }

    /// Gives a pending invite a new code and expiry (resend); the reply tokens of the
    /// earlier invite mails are marked replaced.
    pub async fn renew_invite(
        &self,
        tx: &mut WriteTx,
        invite_id: InviteId,
        code_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        query("UPDATE invites SET code_hash = ?, expires_at = ?, sent_count = sent_count + 1 WHERE id = ?")
            .bind(code_hash)
            .bind(ts(expires_at))
            .bind(invite_id)
            .execute(&mut **tx)
            .await?;
        // Replies to the earlier invite mails answer nothing any more: only the newest counts.
        query("UPDATE reply_tokens SET purpose = 'replaced' WHERE invite_id = ? AND purpose = 'invite'")
            .bind(invite_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Closes an invite with a final status, and its invited membership with `membership_status`.
    pub async fn resolve_invite(
        &self,
        tx: &mut WriteTx,
        invite: &InviteRow,
        status: InviteStatus,
        membership_status: MembershipStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        query("UPDATE invites SET status = ?, resolved_at = ? WHERE id = ?")
            .bind(status)
            .bind(ts(now))
            .bind(invite.id)
            .execute(&mut **tx)
            .await?;
        if let Some(mid) = invite.membership_id {
            tx.links_changed();
            query("UPDATE memberships SET status = ?, updated_at = ? WHERE id = ? AND status = 'invited'")
                .bind(membership_status)
                .bind(ts(now))
                .bind(mid)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Marks pending invites past their expiry as expired; returns how many.
    pub async fn expire_invites(&self, tx: &mut WriteTx, now: DateTime<Utc>) -> StoreResult<u64> {
        let now = ts(now);
        query(
            "UPDATE memberships SET status = 'expired', updated_at = ? WHERE status = 'invited' AND id IN \
             (SELECT membership_id FROM invites WHERE status = 'pending' AND expires_at <= ?)",
        )
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        let done = query(
            "UPDATE invites SET status = 'expired', resolved_at = ? WHERE status = 'pending' AND expires_at <= ?",
        )
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// The live (invited or active) membership of a person in a scope.
    pub async fn live_membership(
        &self,
        org_id: OrgId,
        event_id: Option<EventId>,
        person_id: PersonId,
    ) -> StoreResult<Option<MembershipRow>> {
        query_as(format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships m JOIN people p ON p.id = m.person_id \
             WHERE m.org_id = ? AND coalesce(m.event_id, 0) = coalesce(?, 0) AND m.person_id = ? \
             AND m.status IN ('invited', 'active')"
        ))
        .bind(org_id)
        .bind(event_id)
        .bind(person_id)
        .fetch_optional(self.pool())
        .await
    }

    /// Every live (invited or active) membership of a person in an organization: the
    /// organization-wide one and those for single events.
    pub async fn live_memberships_in_org(&self, org_id: OrgId, person_id: PersonId) -> StoreResult<Vec<MembershipRow>> {
        query_as(format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships m JOIN people p ON p.id = m.person_id \
             WHERE m.org_id = ? AND m.person_id = ? AND m.status IN ('invited', 'active') \
             ORDER BY m.event_id IS NOT NULL, m.id"
        ))
        .bind(org_id)
        .bind(person_id)
        .fetch_all(self.pool())
        .await
    }

    /// A membership by id.
    pub async fn membership(&self, id: MembershipId) -> StoreResult<Option<MembershipRow>> {
        query_as(format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships m JOIN people p ON p.id = m.person_id WHERE m.id = ?"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    /// A person's active memberships (all organizations).
    pub async fn active_memberships_of(&self, person_id: PersonId) -> StoreResult<Vec<MembershipRow>> {
        self.memberships_of_person(person_id, MembershipStatus::Active).await
    }

    /// The events a name can mean (`<event>` or `<org>/<event>`, as
    /// [`Store::events_named`]) that a person promotes, each with its organization and
    /// every active membership of theirs that covers it (for the event, or
    /// organization-wide), by event, then membership: a promoter's grant in one read.
    pub async fn promoted_events_named(
        &self,
        person_id: PersonId,
        name: &str,
    ) -> StoreResult<Vec<(OrgRow, EventRow, MembershipRow)>> {
        let (org, slug) = match name.split_once('/') {
            Some((org, slug)) => (Some(org), slug),
            None => (None, name),
        };
        let rows: Vec<GrantRow> = query_as(
            "SELECT o.slug AS o_slug, o.name AS o_name, o.time_zone AS o_time_zone, \
             o.currency AS o_currency, o.leaderboard AS o_leaderboard, \
             e.id AS e_id, e.org_id AS e_org_id, e.slug AS e_slug, e.name AS e_name, \
             e.starts_at AS e_starts_at, e.ticket_url AS e_ticket_url, e.currency AS e_currency, \
             e.checkout AS e_checkout, \
             m.id AS m_id, m.org_id AS m_org_id, m.person_id AS m_person_id, m.event_id AS m_event_id, m.status AS m_status, \
             p.email AS m_email, p.display_name AS m_display_name, m.left_at IS NOT NULL AS m_left_by_self \
             FROM events e JOIN organizations o ON o.id = e.org_id \
             JOIN memberships m ON m.event_id = e.id OR (m.event_id IS NULL AND m.org_id = e.org_id) \
             JOIN people p ON p.id = m.person_id \
             WHERE e.slug = ? AND (? IS NULL OR o.slug = ?) AND m.person_id = ? AND m.status = ? \
             ORDER BY e.id, m.id",
        )
        .bind(slug)
        .bind(org)
        .bind(org)
        .bind(person_id)
        .bind(MembershipStatus::Active)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(GrantRow::split).collect())
    }

    /// A person's ended memberships (left, or revoked by an organizer), all organizations.
    pub async fn ended_memberships_of(&self, person_id: PersonId) -> StoreResult<Vec<MembershipRow>> {
        self.memberships_of_person(person_id, MembershipStatus::Revoked).await
    }

    async fn memberships_of_person(
        &self,
        person_id: PersonId,
        status: MembershipStatus,
    ) -> StoreResult<Vec<MembershipRow>> {
        query_as(format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships m JOIN people p ON p.id = m.person_id \
             WHERE m.person_id = ? AND m.status = ? ORDER BY m.id"
        ))
        .bind(person_id)
        .bind(status)
        .fetch_all(self.pool())
        .await
    }

    /// Memberships of an organization; with an event, those covering it (org-wide ones too).
    pub async fn memberships_of_org(
        &self,
        org_id: OrgId,
        event_id: Option<EventId>,
    ) -> StoreResult<Vec<MembershipRow>> {
        query_as(format!(
            "SELECT {MEMBERSHIP_COLS} FROM memberships m JOIN people p ON p.id = m.person_id \
             WHERE m.org_id = ? AND (? IS NULL OR m.event_id IS NULL OR m.event_id = ?) \
             ORDER BY CASE m.status WHEN 'active' THEN 0 WHEN 'invited' THEN 1 ELSE 2 END, p.email"
        ))
        .bind(org_id)
        .bind(event_id)
        .bind(event_id)
        .fetch_all(self.pool())
        .await
    }

    /// Sets a membership's status.
    pub async fn set_membership_status(
        &self,
        tx: &mut WriteTx,
        id: MembershipId,
        status: MembershipStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        tx.links_changed();
        query("UPDATE memberships SET status = ?, updated_at = ? WHERE id = ?")
            .bind(status)
            .bind(ts(now))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Cancels the pending invites that belong to a membership.
    pub async fn cancel_invites_of_membership(
        &self,
        tx: &mut WriteTx,
        membership_id: MembershipId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        query(
            "UPDATE invites SET status = 'cancelled', resolved_at = ? WHERE membership_id = ? AND status = 'pending'",
        )
        .bind(ts(now))
        .bind(membership_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// An event, its organization and a membership covering it, read in one row.
#[derive(sqlx::FromRow)]
struct GrantRow {
    o_slug: String,
    o_name: String,
    o_time_zone: String,
    o_currency: String,
    o_leaderboard: bool,
    e_id: EventId,
    e_org_id: OrgId,
    e_slug: String,
    e_name: String,
    e_starts_at: DateTime<Utc>,
    e_ticket_url: String,
    e_currency: String,
    e_checkout: Shop,
    m_id: MembershipId,
    m_org_id: OrgId,
    m_person_id: PersonId,
    m_event_id: Option<EventId>,
    m_status: MembershipStatus,
    m_email: String,
    m_display_name: Option<String>,
    m_left_by_self: bool,
}

impl GrantRow {
    fn split(self) -> (OrgRow, EventRow, MembershipRow) {
        let org = OrgRow {
            id: self.e_org_id,
            slug: self.o_slug,
            name: self.o_name,
            time_zone: self.o_time_zone,
            currency: self.o_currency,
            leaderboard: self.o_leaderboard,
        };
        let event = EventRow {
            id: self.e_id,
            org_id: self.e_org_id,
            slug: self.e_slug,
            name: self.e_name,
            starts_at: self.e_starts_at,
            ticket_url: self.e_ticket_url,
            currency: self.e_currency,
            checkout: self.e_checkout,
        };
        let membership = MembershipRow {
            id: self.m_id,
            org_id: self.m_org_id,
            event_id: self.m_event_id,
            person_id: self.m_person_id,
            status: self.m_status,
            email: self.m_email,
            display_name: self.m_display_name,
            left_by_self: self.m_left_by_self,
        };
        (org, event, membership)
    }
}
