//! Events: `newevent`, `editevent`, `events`, and how an organizer command names its scope.

use super::local_time::{local_time, parse_local_time};
use super::{Actor, Core, Invocation, Scope, organizer_scope};
use crate::error::CommandError;
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{EventField, EventRow, OrgRow};

type Res = Result<Reply, CommandError>;

/// An organization with one of its events, or with all of them: `Summer Fest (Acme)`.
pub(super) fn scope_name(org: &OrgRow, event: Option<&EventRow>) -> String {
    match event {
        Some(e) => format!("{} ({})", e.name, org.name),
        None => format!("{} (all events)", org.name),
    }
}

/// The "For" column of a membership or invite: its event's short name, or `all events`.
pub(super) fn for_column(events: &[EventRow], event_id: Option<i64>) -> String {
    event_id
        .and_then(|id| events.iter().find(|e| e.id == id))
        .map(|e| e.slug.clone())
        .unwrap_or_else(|| "all events".into())
}

impl Core {
    pub(super) async fn new_event(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, _) = organizer_scope(scope);
        let Some(starts) = parse_local_time(inv.req("starts"), &org.time_zone) else {
            refuse!("`{}` is not a date and time like 2027-06-01 18:00.", inv.req("starts"));
        };
        let currency = inv.get("currency").unwrap_or(&org.currency).to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            refuse!("`{currency}` is not a currency code like EUR or USD.");
        }
        let now = self.clock.now();
        let slug = inv.req("slug");
        let mut tx = self.store.write().await?;
        let Some(_) = self
            .store
            .create_event(
                &mut tx,
                org.id,
                slug,
                inv.req("name"),
                starts,
                inv.req("url"),
                &currency,
                now,
            )
            .await?
        else {
            refuse!(
                "The short name `{slug}` is taken: {} already has an event of that name. Pick another one.",
                org.name
            );
        };
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "event.created",
                slug,
                now,
            )
            .await?;
        tx.commit().await?;
        // Another organization's event of the same short name makes that name ambiguous
        // for the order webhook: the refresher forgets the names it resolved.
        self.links_changed.notify_one();
        Ok(Reply::text(format!("Created {} (`{slug}`), starting {}.", inv.req("name"), local_time(&crate::clock::ts(starts), &org.time_zone)))
            .line(format!("Add ticket types with `newtickettype {slug} <price> <name>`, then invite promoters with `invite <email> {slug}`.")))
    }

    pub(super) async fn edit_event(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let event = event.expect("event is a required argument");
        let raw = inv.req("value");
        let (field, value) = match inv.req("field") {
            "name" => (EventField::Name, raw.to_string()),
            "starts" => match parse_local_time(raw, &org.time_zone) {
                Some(t) => (EventField::StartsAt, crate::clock::ts(t)),
                None => refuse!("`{raw}` is not a date and time like 2027-06-01 18:00."),
            },
            _ => match url::Url::parse(raw) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    (EventField::TicketUrl, u.to_string())
                }
                _ => refuse!("`{raw}` is not an http(s):// address."),
            },
        };
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        self.store.update_event_field(&mut tx, event.id, field, &value).await?;
        let detail = format!("{} {}={value}", event.slug, inv.req("field"));
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "event.edited",
                &detail,
                now,
            )
            .await?;
        tx.commit().await?;
        if field == EventField::TicketUrl {
            // Redirect targets are built from the ticket page.
            self.links_changed.notify_one();
        }
        Ok(Reply::text(format!(
            "Updated the {} of {}.",
            inv.req("field"),
            event.name
        )))
    }

    pub(super) async fn events(&self, scope: Scope) -> Res {
        let (org, _, _) = organizer_scope(scope);
        let events = self.store.events_of_org(org.id).await?;
        if events.is_empty() {
            return Ok(Reply::text(format!(
                "{} has no events yet. Create one with `newevent`.",
                org.name
            )));
        }
        let mut t = Table::new(&["Event", "Name", "Starts", "Currency"], &[false, false, false, false]);
        for e in &events {
            t.row(vec![
                e.slug.clone(),
                e.name.clone(),
                local_time(&e.starts_at, &org.time_zone),
                e.currency.clone(),
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Events of {}", org.name))
            .with(Block::Table(t)))
    }
}
