//! An organization's promoters: `promoters` lists them, `revoke` ends their memberships.

use super::events::{for_column, scope_name};
use super::{Actor, Core, Invocation, Scope, organizer_scope};
use crate::error::CommandError;
use crate::refuse;
use crate::reply::{Block, Reply, Table};

type Res = Result<Reply, CommandError>;

impl Core {
    pub(super) async fn promoters(&self, scope: Scope) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let members = self
            .store
            .memberships_of_org(org.id, event.as_ref().map(|e| e.id))
            .await?;
        if members.is_empty() {
            return Ok(Reply::text(
                "No promoters yet. Invite one with `invite <email> [event]`.",
            ));
        }
        let events = self.store.events_of_org(org.id).await?;
        let mut t = Table::new(&["Email", "Name", "For", "Status"], &[false, false, false, false]);
        for m in &members {
            let scope = for_column(&events, m.event_id);
            t.row(vec![
                m.email.clone(),
                m.display_name.clone().unwrap_or_default(),
                scope,
                m.status.clone(),
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Promoters of {}", scope_name(&org, event.as_ref())))
            .with(Block::Table(t)))
    }

    /// `revoke <email> [event]`: with an event, ends that event's membership; without,
    /// ends every membership of that person in the organization (event-level ones too).
    pub(super) async fn revoke(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let email = inv.req("email");
        let person = self.store.person_by_email(email).await?;
        let live = match &person {
            Some(p) => self.store.live_memberships_in_org(org.id, p.id).await?,
            None => Vec::new(),
        };
        let event_id = event.as_ref().map(|e| e.id);
        let ending: Vec<_> = live
            .iter()
            .filter(|m| event_id.is_none() || m.event_id == event_id)
            .collect();
        if ending.is_empty() {
            refuse!(
                "{email} is not a promoter of {}. Send `promoters` to see them.",
                scope_name(&org, event.as_ref())
            );
        }
        let events = self.store.events_of_org(org.id).await?;
        let label = |m: &crate::store::MembershipRow| match m.event_id {
            None => "all events".to_string(),
            Some(id) => events
                .iter()
                .find(|e| e.id == id)
                .map(|e| format!("{} ({})", e.slug, e.name))
                .unwrap_or_else(|| "an event that no longer exists".into()),
        };
        let ended: Vec<String> = ending.iter().map(|m| label(m)).collect();
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        for m in &ending {
            self.store.set_membership_status(&mut tx, m.id, "revoked", now).await?;
            self.store.revoke_links_of_membership(&mut tx, m.id, now).await?;
            self.store.cancel_invites_of_membership(&mut tx, m.id, now).await?;
        }
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "promoter.revoked",
                &format!("{email}: {}", ended.join("; ")),
                now,
            )
            .await?;
        tx.commit().await?;
        self.links_changed.notify_one();
        let mut reply = Reply::text(format!(
            "{email} is no longer a promoter of {}. Their links stop working; their past sales stay in the numbers.",
            scope_name(&org, event.as_ref())
        ))
        .line(format!("Ended: {}.", ended.join("; ")));
        if event.is_some() && live.iter().any(|m| m.event_id.is_none()) {
            reply = reply.line(format!(
                "They still promote every event of {} through their organization-wide membership; \
                 `revoke {email}` ends that too.",
                org.name
            ));
        }
        Ok(reply)
    }
}
