//! Invites: `invite`, `inviteadmin`, `invites`, `resend`, `cancelinvite`, and the invite mail.

use super::events::{for_column, scope_name};
use super::local_time::{local_clock, local_time};
use super::{Actor, Core, Invocation, Scope, organizer_scope};
use crate::codes;
use crate::error::CommandError;
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{EventRow, InviteKind, InviteRow, NewInvite, OrgRow};

type Res = Result<Reply, CommandError>;

impl Core {
    fn invite_body(
        &self,
        org: &OrgRow,
        event: Option<&EventRow>,
        kind: InviteKind,
        inviter: &str,
        code: &str,
    ) -> String {
        let what = match (kind, event) {
            (InviteKind::Organizer, _) => format!("to help organize {}", org.name),
            (_, Some(e)) => format!("to promote {} for {}", e.name, org.name),
            (_, None) => format!("to promote every event of {}", org.name),
        };
        let mut body = format!(
            "{inviter} invites you {what} on promoterd.\n\n\
             To accept, reply to this mail with the word: accept\n\
             To decline, reply with: ignore\n\n"
        );
        if let Some(bot) = &self.settings.telegram_bot {
            body.push_str(&format!("In Telegram, one tap: https://t.me/{bot}?start={code}\n"));
        }
        body.push_str(&format!(
            "In Discord or Telegram, send: /accept {code}\n\n\
             This invite expires in {} days. If you did not expect it, ignore this mail.\n",
            self.settings.invite_ttl.num_days()
        ));
        body
    }

    /// Refuses an invite that would change nothing: the invitee already has that role
    /// there, or already has a pending invite to it.
    async fn refuse_needless_invite(
        &self,
        org: &OrgRow,
        event: Option<&EventRow>,
        event_id: Option<i64>,
        email: &str,
        kind: InviteKind,
        where_: &str,
    ) -> Result<(), CommandError> {
        if let Some(p) = self.store.person_by_email(email).await? {
            match kind {
                InviteKind::Promoter => {
                    if let Some(m) = self.store.live_membership(org.id, event_id, p.id).await? {
                        if m.status == "active" {
                            refuse!("{email} is already a promoter of {where_}.");
                        }
                        refuse!(
                            "{email} is already invited to {where_}. Send it again with `resend {email}{}`.",
                            event.map(|e| format!(" {}", e.slug)).unwrap_or_default()
                        );
                    }
                    if event_id.is_some()
                        && let Some(m) = self.store.live_membership(org.id, None, p.id).await?
                        && m.status == "active"
                    {
                        refuse!("{email} already promotes every event of {}.", org.name);
                    }
                }
                InviteKind::Organizer => {
                    if self
                        .store
                        .orgs_organized_by(p.id)
                        .await?
                        .iter()
                        .any(|(o, _)| o.id == org.id)
                    {
                        refuse!("{email} is already an organizer of {}.", org.name);
                    }
                }
            }
        }
        if self
            .store
            .pending_invite(org.id, event_id, email, kind)
            .await?
            .is_some()
        {
            refuse!("{email} already has a pending invite to {where_}. Send it again with `resend`.");
        }
        Ok(())
    }

    pub(super) async fn invite(&self, actor: &Actor, scope: Scope, inv: &Invocation, kind: InviteKind) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let inviter = actor.person.as_ref().expect("authorized organizer");
        let email = inv.req("email");
        let event_id = event.as_ref().map(|e| e.id);
        let event_id = if kind == InviteKind::Organizer { None } else { event_id };
        let where_ = scope_name(&org, event.as_ref().filter(|_| kind == InviteKind::Promoter));
        self.refuse_needless_invite(&org, event.as_ref(), event_id, email, kind, &where_)
            .await?;
        let code = codes::invite_code();
        let now = self.clock.now();
        let expires = now + self.settings.invite_ttl;
        let mut tx = self.store.write().await?;
        let new = NewInvite {
            org_id: org.id,
            event_id,
            email,
            kind,
            code_hash: &codes::hash_code(&code),
            invited_by: inviter.id,
            expires_at: expires,
        };
        let invite_id = self.store.create_invite(&mut tx, &new, now).await?;
        let body = self.invite_body(
            &org,
            event.as_ref().filter(|_| kind == InviteKind::Promoter),
            kind,
            &inviter.shown_name(),
            &code,
        );
        let subject = format!("You're invited to {where_}");
        let mail = super::MailOut {
            invite: Some((invite_id, expires)),
            from_name: Some(&org.name),
            ..super::MailOut::new(email, "invite", &subject, &body)
        };
        self.queue_mail(&mut tx, mail).await?;
        let action = if kind == InviteKind::Organizer {
            "organizer.invited"
        } else {
            "promoter.invited"
        };
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(inviter.id),
                action,
                &format!("{email} {where_}"),
                now,
            )
            .await?;
        self.commit(tx).await?;
        let role = if kind == InviteKind::Organizer {
            "an admin organizer"
        } else {
            "a promoter"
        };
        Ok(Reply::text(format!(
            "Invited {email} as {role} of {where_}. The invite expires in {} days.",
            self.settings.invite_ttl.num_days()
        )))
    }

    pub(super) async fn invites(&self, scope: Scope) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let invites = self.store.invites_of_org(org.id, event.as_ref().map(|e| e.id)).await?;
        if invites.is_empty() {
            return Ok(Reply::text(
                "No invites yet. Invite a promoter with `invite <email> [event]`.",
            ));
        }
        let events = self.store.events_of_org(org.id).await?;
        let now = crate::clock::ts(self.clock.now());
        // What the last invite mail did: queued is not sent.
        let mails = self.store.invite_mail_states(org.id).await?;
        let mail_state = |id: i64| match mails.iter().find(|m| m.0 == id) {
            Some((_, Some(at), _, _)) => format!("sent {}", local_clock(at, &org.time_zone)),
            Some((_, None, Some(_), why)) => format!("not sent: {}", why.as_deref().unwrap_or("failed")),
            Some((_, None, None, _)) => "queued".into(),
            None => "–".into(),
        };
        let mut t = Table::new(
            &["Email", "For", "Role", "Status", "Mails", "Last mail", "Expires"],
            &[false, false, false, false, true, false, false],
        );
        for i in &invites {
            let status = if i.status == "pending" && i.expires_at <= now {
                "expired"
            } else {
                i.status.as_str()
            };
            let scope = for_column(&events, i.event_id);
            t.row(vec![
                i.email.clone(),
                scope,
                i.kind.clone(),
                status.into(),
                i.sent_count.to_string(),
                mail_state(i.id),
                local_time(&i.expires_at, &org.time_zone),
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Invites of {}", org.name))
            .with(Block::Table(t)))
    }

    async fn find_pending(&self, org: &OrgRow, event_id: Option<i64>, email: &str) -> Result<InviteRow, CommandError> {
        for kind in [InviteKind::Promoter, InviteKind::Organizer] {
            if kind == InviteKind::Organizer && event_id.is_some() {
                continue;
            }
            if let Some(i) = self.store.pending_invite(org.id, event_id, email, kind).await? {
                return Ok(i);
            }
        }
        refuse!("There is no pending invite for {email} there. Send `invites` to see them all.")
    }

    pub(super) async fn resend(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, role, event) = organizer_scope(scope);
        let inviter = actor.person.as_ref().expect("authorized organizer");
        let email = inv.req("email");
        let invite = self.find_pending(&org, event.as_ref().map(|e| e.id), email).await?;
        super::access::owner_for_organizer_invite(&org, role, &invite, "resend")?;
        let code = codes::invite_code();
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        self.store
            .renew_invite(
                &mut tx,
                invite.id,
                &codes::hash_code(&code),
                now + self.settings.invite_ttl,
            )
            .await?;
        let body = self.invite_body(&org, event.as_ref(), invite.kind(), &inviter.shown_name(), &code);
        let subject = format!("Reminder: you're invited to {}", scope_name(&org, event.as_ref()));
        let mail = super::MailOut {
            invite: Some((invite.id, now + self.settings.invite_ttl)),
            from_name: Some(&org.name),
            ..super::MailOut::new(email, "invite", &subject, &body)
        };
        self.queue_mail(&mut tx, mail).await?;
        self.store
            .audit(&mut tx, Some(org.id), Some(inviter.id), "invite.resent", email, now)
            .await?;
        self.commit(tx).await?;
        Ok(Reply::text(format!(
            "Sent the invite to {email} again with a new code; the old code no longer works."
        )))
    }

    pub(super) async fn cancel_invite(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, role, event) = organizer_scope(scope);
        let email = inv.req("email");
        let invite = self.find_pending(&org, event.as_ref().map(|e| e.id), email).await?;
        super::access::owner_for_organizer_invite(&org, role, &invite, "cancel")?;
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        self.store
            .resolve_invite(&mut tx, &invite, "cancelled", "revoked", now)
            .await?;
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "invite.cancelled",
                email,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Cancelled the invite for {email}; its code no longer works."
        )))
    }
}
