//! Organizer commands: events, invites, promoters, leaderboard, export.

use super::{Actor, Core, Invocation, Scope, organizer_scope};
use crate::codes;
use crate::error::CommandError;
use crate::refuse;
use crate::reply::{Attachment, Block, Reply, Table};
use crate::store::{EventField, ExportFilter, InviteKind, InviteRow, NewInvite, OrgRow};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

type Res = Result<Reply, CommandError>;

/// Parses `2027-06-01 18:00` (in the organization's time zone) or an RFC 3339 time.
pub fn parse_local_time(s: &str, tz_name: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let tz: chrono_tz::Tz = tz_name.parse().ok()?;
    let s = s.replace('T', " ");
    let naive = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// A stored UTC time on the clock of a time zone, without naming it: `2027-06-01 18:00`
/// (for a table whose header names the zone).
pub fn local_clock(stored: &str, tz_name: &str) -> String {
    let t = crate::clock::parse_ts(stored);
    match tz_name.parse::<chrono_tz::Tz>() {
        Ok(tz) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        Err(_) => t.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// Shows a stored UTC time in a time zone: `2027-06-01 18:00 (Europe/Berlin)`.
pub fn local_time(stored: &str, tz_name: &str) -> String {
    let zone = if tz_name.parse::<chrono_tz::Tz>().is_ok() {
        format!("({tz_name})")
    } else {
        "UTC".into()
    };
    format!("{} {zone}", local_clock(stored, tz_name))
}

fn scope_name(org: &OrgRow, event: Option<&crate::store::EventRow>) -> String {
    match event {
        Some(e) => format!("{} ({})", e.name, org.name),
        None => format!("{} (all events)", org.name),
    }
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

    fn invite_body(
        &self,
        org: &OrgRow,
        event: Option<&crate::store::EventRow>,
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

    pub(super) async fn invite(&self, actor: &Actor, scope: Scope, inv: &Invocation, kind: InviteKind) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let inviter = actor.person.as_ref().expect("authorized organizer");
        let email = inv.req("email");
        let event_id = event.as_ref().map(|e| e.id);
        let event_id = if kind == InviteKind::Organizer { None } else { event_id };
        let where_ = scope_name(&org, event.as_ref().filter(|_| kind == InviteKind::Promoter));
        if let Some(p) = self.store.person_by_email(email).await? {
            match kind {
                InviteKind::Promoter => {
                    if let Some(m) = self.store.live_membership(org.id, event_id, p.id).await? {
                        if m.status == "active" {
                            refuse!("{email} is already a promoter of {where_}.");
                        }
                        refuse!(
                            "{email} is already invited to {where_}. Send it again with `resend {email}{}`.",
                            event.as_ref().map(|e| format!(" {}", e.slug)).unwrap_or_default()
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
            let scope = i
                .event_id
                .and_then(|id| events.iter().find(|e| e.id == id))
                .map(|e| e.slug.clone())
                .unwrap_or_else(|| "all events".into());
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
            let scope = m
                .event_id
                .and_then(|id| events.iter().find(|e| e.id == id))
                .map(|e| e.slug.clone())
                .unwrap_or_else(|| "all events".into());
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

    pub(super) async fn set_leaderboard(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, _) = organizer_scope(scope);
        let on = inv.req("state") == "on";
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        self.store.set_leaderboard(&mut tx, org.id, on).await?;
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "leaderboard",
                inv.req("state"),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(if on {
            format!(
                "The leaderboard of {} is on: promoters see ranks and display names with `leaderboard`.",
                org.name
            )
        } else {
            format!("The leaderboard of {} is off.", org.name)
        }))
    }

    pub(super) async fn export(&self, actor: &Actor, scope: Scope) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let filter = ExportFilter {
            org_id: org.id,
            event_id: event.as_ref().map(|e| e.id),
        };
        let cap = self.settings.max_attachment_bytes;
        let (data, rows) = match crate::export::attachment(&self.store, &filter, &org.time_zone, cap).await {
            Err(crate::export::ExportError::TooLarge(cap)) => refuse!(
                "This export is larger than {} MB, more than an attachment can carry. Export one event at a time \
                 (`export <event>`), or ask your operator for `promoterd export` on the server.",
                cap.div_ceil(1 << 20)
            ),
            other => other?,
        };
        let now = self.clock.now();
        let name = event.as_ref().map(|e| e.slug.as_str()).unwrap_or(org.slug.as_str());
        let filename = format!("referred-buyers-{name}-{}.csv", now.format("%Y-%m-%d"));
        let mut tx = self.store.write().await?;
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "export",
                &format!("{name} {rows} rows"),
                now,
            )
            .await?;
        tx.commit().await?;
        let caption = format!(
            "{rows} ticket line(s) bought through promoter links — {}",
            scope_name(&org, event.as_ref())
        );
        Ok(Reply::text(caption.clone())
            .titled("Referred buyers")
            .private()
            .with_attachment(Attachment {
                filename,
                mime: "text/csv".into(),
                data,
                caption,
            }))
    }
}
