//! Everything stored about one person, for `mydata`: each section one query that
//! returns its rows as JSON objects, read by the person's id and address only.

use super::sql::query_scalar;
use super::{Store, StoreResult};
use crate::domain::PersonId;

/// A stored time in PostgreSQL as SQLite holds it (RFC 3339 text, UTC, whole seconds).
macro_rules! utc {
    ($col:literal) => {
        concat!(
            "to_char(",
            $col,
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        )
    };
}

/// The sections of a person's data: a name and a query of JSON objects with `?1` the
/// person's id and `?2` their address, in SQLite's text and PostgreSQL's (times as
/// SQLite's text, flags as 0/1, each object read as text). Buyer data of other people
/// never appears: promoters' links carry counts, not orders.
const SECTIONS: &[(&str, &str, &str)] = &[
    (
        "person",
        "SELECT json_object('email', email, 'display_name', display_name, 'verified_at', verified_at, \
           'created_at', created_at, 'mail_opt_out', mail_opt_out = 1) FROM people WHERE id = ?1",
        concat!(
            "SELECT json_build_object('email', email, 'display_name', display_name, 'verified_at', ",
            utc!("verified_at"),
            ", 'created_at', ",
            utc!("created_at"),
            ", 'mail_opt_out', CAST(mail_opt_out AS INTEGER))::text FROM people WHERE id = ?1"
        ),
    ),
    (
        "chat_accounts",
        "SELECT json_object('platform', platform, 'account_id', external_id, 'username', username, \
           'linked_at', linked_at, 'scope', scope, 'unreachable_at', unreachable_at, \
           'unreachable_reason', unreachable_reason) FROM chat_accounts WHERE person_id = ?1 ORDER BY linked_at",
        concat!(
            "SELECT json_build_object('platform', platform, 'account_id', external_id, 'username', username, \
               'linked_at', ",
            utc!("linked_at"),
            ", 'scope', scope, 'unreachable_at', ",
            utc!("unreachable_at"),
            ", 'unreachable_reason', unreachable_reason)::text FROM chat_accounts WHERE person_id = ?1 \
             ORDER BY linked_at"
        ),
    ),
    (
        "preferences",
        "SELECT json_object('channel', channel, 'digest', digest, 'digest_hour', digest_hour, \
           'notify', notify = 1) FROM preferences WHERE person_id = ?1",
        "SELECT json_build_object('channel', channel, 'digest', digest, 'digest_hour', digest_hour, \
           'notify', CAST(notify AS INTEGER))::text FROM preferences WHERE person_id = ?1",
    ),
    (
        "organizer_of",
        "SELECT json_object('organization', g.name, 'role', o.role, 'since', o.created_at) \
         FROM organizers o JOIN organizations g ON g.id = o.org_id WHERE o.person_id = ?1 ORDER BY o.created_at",
        concat!(
            "SELECT json_build_object('organization', g.name, 'role', o.role, 'since', ",
            utc!("o.created_at"),
            ")::text FROM organizers o JOIN organizations g ON g.id = o.org_id WHERE o.person_id = ?1 \
             ORDER BY o.created_at"
        ),
    ),
    (
        "memberships",
        "SELECT json_object('organization', g.name, 'event', e.name, 'status', m.status, \
           'left_at', m.left_at, 'created_at', m.created_at, 'updated_at', m.updated_at) \
         FROM memberships m JOIN organizations g ON g.id = m.org_id LEFT JOIN events e ON e.id = m.event_id \
         WHERE m.person_id = ?1 ORDER BY m.id",
        concat!(
            "SELECT json_build_object('organization', g.name, 'event', e.name, 'status', m.status, 'left_at', ",
            utc!("m.left_at"),
            ", 'created_at', ",
            utc!("m.created_at"),
            ", 'updated_at', ",
            utc!("m.updated_at"),
            ")::text FROM memberships m JOIN organizations g ON g.id = m.org_id \
             LEFT JOIN events e ON e.id = m.event_id WHERE m.person_id = ?1 ORDER BY m.id"
        ),
    ),
    (
        "links",
        "SELECT json_object('code', l.code, 'event', e.name, 'kind', l.kind, 'label', l.label, \
           'sub_promoter', l.sub_promoter, 'created_at', l.created_at, 'revoked_at', l.revoked_at, \
           'clicks', (SELECT coalesce(sum(c.clicks), 0) FROM clicks c WHERE c.link_id = l.id), \
           'orders', (SELECT count(*) FROM orders o WHERE o.link_id = l.id)) \
         FROM links l JOIN memberships m ON m.id = l.membership_id JOIN events e ON e.id = l.event_id \
         WHERE m.person_id = ?1 ORDER BY l.id",
        concat!(
            "SELECT json_build_object('code', l.code, 'event', e.name, 'kind', l.kind, 'label', l.label, \
               'sub_promoter', l.sub_promoter, 'created_at', ",
            utc!("l.created_at"),
            ", 'revoked_at', ",
            utc!("l.revoked_at"),
            ", 'clicks', (SELECT CAST(coalesce(sum(c.clicks), 0) AS BIGINT) FROM clicks c WHERE c.link_id = l.id), \
               'orders', (SELECT count(*) FROM orders o WHERE o.link_id = l.id))::text \
             FROM links l JOIN memberships m ON m.id = l.membership_id JOIN events e ON e.id = l.event_id \
             WHERE m.person_id = ?1 ORDER BY l.id"
        ),
    ),
    (
        "commissions",
        "SELECT json_object('organization', g.name, 'event', e.name, 'currency', e.currency, \
           'earned', t.earned_minor, 'taken_back', -t.reversed_minor, 'net', t.amount_minor, \
           'ticket_type', tt.name) \
         FROM commission_totals t JOIN events e ON e.id = t.event_id JOIN organizations g ON g.id = e.org_id \
         LEFT JOIN ticket_types tt ON tt.id = t.ticket_type_id WHERE t.person_id = ?1 ORDER BY e.id, t.ticket_type_id",
        "SELECT json_build_object('organization', g.name, 'event', e.name, 'currency', e.currency, \
           'earned', t.earned_minor, 'taken_back', -t.reversed_minor, 'net', t.amount_minor, \
           'ticket_type', tt.name)::text \
         FROM commission_totals t JOIN events e ON e.id = t.event_id JOIN organizations g ON g.id = e.org_id \
         LEFT JOIN ticket_types tt ON tt.id = t.ticket_type_id WHERE t.person_id = ?1 ORDER BY e.id, t.ticket_type_id",
    ),
    (
        "payouts_to_you",
        "SELECT json_object('organization', g.name, 'amount', p.amount_minor, 'currency', p.currency, \
           'reference', p.reference, 'at', p.created_at) \
         FROM payouts p JOIN organizations g ON g.id = p.org_id WHERE p.person_id = ?1 ORDER BY p.id",
        concat!(
            "SELECT json_build_object('organization', g.name, 'amount', p.amount_minor, 'currency', p.currency, \
               'reference', p.reference, 'at', ",
            utc!("p.created_at"),
            ")::text FROM payouts p JOIN organizations g ON g.id = p.org_id WHERE p.person_id = ?1 ORDER BY p.id"
        ),
    ),
    (
        "invites_received",
        "SELECT json_object('organization', g.name, 'event', e.name, 'kind', i.kind, 'status', i.status, \
           'created_at', i.created_at, 'expires_at', i.expires_at, 'resolved_at', i.resolved_at) \
         FROM invites i JOIN organizations g ON g.id = i.org_id LEFT JOIN events e ON e.id = i.event_id \
         WHERE i.email = ?2 ORDER BY i.id",
        concat!(
            "SELECT json_build_object('organization', g.name, 'event', e.name, 'kind', i.kind, 'status', i.status, \
               'created_at', ",
            utc!("i.created_at"),
            ", 'expires_at', ",
            utc!("i.expires_at"),
            ", 'resolved_at', ",
            utc!("i.resolved_at"),
            ")::text FROM invites i JOIN organizations g ON g.id = i.org_id LEFT JOIN events e ON e.id = i.event_id \
             WHERE i.email = ?2 ORDER BY i.id"
        ),
    ),
    (
        "orders_as_buyer",
        "SELECT json_object('organization', g.name, 'event', e.name, 'order_id', o.external_id, \
           'ordered_at', o.ordered_at, 'status', o.status, 'name', o.buyer_name, 'email', o.buyer_email, \
           'phone', o.buyer_phone, 'tickets', (SELECT coalesce(sum(quantity - refunded_quantity), 0) \
             FROM order_lines WHERE order_id = o.id)) \
         FROM orders o JOIN events e ON e.id = o.event_id JOIN organizations g ON g.id = e.org_id \
         WHERE lower(o.buyer_email) = ?2 ORDER BY o.ordered_at",
        concat!(
            "SELECT json_build_object('organization', g.name, 'event', e.name, 'order_id', o.external_id, \
               'ordered_at', ",
            utc!("o.ordered_at"),
            ", 'status', o.status, 'name', o.buyer_name, 'email', o.buyer_email, 'phone', o.buyer_phone, \
               'tickets', (SELECT CAST(coalesce(sum(quantity - refunded_quantity), 0) AS BIGINT) \
                 FROM order_lines WHERE order_id = o.id))::text \
             FROM orders o JOIN events e ON e.id = o.event_id JOIN organizations g ON g.id = e.org_id \
             WHERE lower(o.buyer_email) = ?2 ORDER BY o.ordered_at"
        ),
    ),
    (
        "actions",
        "SELECT json_object('at', a.at, 'organization', g.name, 'action', a.action, 'detail', a.detail) \
         FROM audit_log a LEFT JOIN organizations g ON g.id = a.org_id WHERE a.actor_id = ?1 ORDER BY a.id",
        concat!(
            "SELECT json_build_object('at', ",
            utc!("a.at"),
            ", 'organization', g.name, 'action', a.action, 'detail', a.detail)::text \
             FROM audit_log a LEFT JOIN organizations g ON g.id = a.org_id WHERE a.actor_id = ?1 ORDER BY a.id"
        ),
    ),
    (
        "messages_to_you",
        "SELECT json_object('channel', channel, 'kind', kind, 'subject', subject, 'created_at', created_at, \
           'sent_at', sent_at, 'failed_at', failed_at) FROM outbox WHERE lower(recipient) = ?2 \
         OR ((channel, recipient) IN (SELECT platform, external_id FROM chat_accounts WHERE person_id = ?1)) \
         ORDER BY id",
        concat!(
            "SELECT json_build_object('channel', channel, 'kind', kind, 'subject', subject, 'created_at', ",
            utc!("created_at"),
            ", 'sent_at', ",
            utc!("sent_at"),
            ", 'failed_at', ",
            utc!("failed_at"),
            ")::text FROM outbox WHERE lower(recipient) = ?2 \
             OR ((channel, recipient) IN (SELECT platform, external_id FROM chat_accounts WHERE person_id = ?1)) \
             ORDER BY id"
        ),
    ),
    (
        "mail_received_from_you",
        "SELECT json_object('kind', kind, 'outcome', outcome, 'processed_at', processed_at) \
         FROM mail_processed WHERE lower(sender) = ?2 ORDER BY processed_at",
        concat!(
            "SELECT json_build_object('kind', kind, 'outcome', outcome, 'processed_at', ",
            utc!("processed_at"),
            ")::text FROM mail_processed WHERE lower(sender) = ?2 ORDER BY processed_at"
        ),
    ),
    (
        "mail_suppressed",
        "SELECT json_object('reason', reason, 'at', at) FROM mail_suppressed WHERE email = ?2",
        concat!(
            "SELECT json_build_object('reason', reason, 'at', ",
            utc!("at"),
            ")::text FROM mail_suppressed WHERE email = ?2"
        ),
    ),
];

impl Store {
    /// Each section of what is stored about a person: (name, rows as JSON objects).
    /// `email` is the person's address, lowercase.
    pub async fn person_records(
        &self,
        person_id: PersonId,
        email: &str,
    ) -> StoreResult<Vec<(&'static str, Vec<serde_json::Value>)>> {
        let mut out = Vec::with_capacity(SECTIONS.len());
        for (name, sql, pg) in SECTIONS {
            let rows: Vec<String> = query_scalar(*sql)
                .pg(*pg)
                .bind(person_id)
                .bind(email)
                .fetch_all(self.pool())
                .await?;
            let rows = rows
                .iter()
                .map(|r| serde_json::from_str(r))
                .collect::<Result<Vec<serde_json::Value>, _>>()
                .map_err(|e| super::StoreError::Corrupt(format!("{name}: {e}")))?;
            out.push((*name, rows));
        }
        Ok(out)
    }
}
