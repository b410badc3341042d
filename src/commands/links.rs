//! Tracking-link commands: a promoter's own links (with QR code) and organization links.

use super::{Actor, Core, Invocation, Scope, organizer_scope, promoter_scope};
use crate::codes;
use crate::error::CommandError;
use crate::money::money;
use crate::refuse;
use crate::reply::{Attachment, Block, Reply, Table};
use crate::store::{LinkRow, NewLink, StoreError, WriteTx};

type Res = Result<Reply, CommandError>;

impl Core {
    /// Inserts a link under a fresh random code (retrying the rare collision).
    async fn insert_link(&self, tx: &mut WriteTx, link: NewLink<'_>) -> Result<String, CommandError> {
        let now = self.clock.now();
        for _ in 0..5 {
            let code = codes::link_code();
            let link = NewLink {
                code: &code,
                ..link.clone()
            };
            if self.store.create_link(tx, &link, now).await?.is_some() {
                let detail = format!("{code} {} {}", link.kind, link.label);
                self.store
                    .audit(tx, Some(link.org_id), link.created_by, "link.created", &detail, now)
                    .await?;
                return Ok(code);
            }
        }
        Err(StoreError::Corrupt("no free link code after 5 tries".into()).into())
    }

    /// The promoter's main link for an event, created on first use.
    pub(super) async fn ensure_main_link(
        &self,
        tx: &mut WriteTx,
        org_id: i64,
        event_id: i64,
        membership_id: i64,
        person_id: i64,
    ) -> Result<String, CommandError> {
        if let Some(l) = self.store.main_link(tx, membership_id, event_id).await? {
            return Ok(l.code);
        }
        let link = NewLink {
            code: "",
            org_id,
            event_id,
            membership_id: Some(membership_id),
            parent_id: None,
            kind: "main",
            label: "main",
            sub_promoter: None,
            created_by: Some(person_id),
        };
        self.insert_link(tx, link).await
    }

    pub(super) async fn my_link(&self, actor: &Actor, scope: Scope) -> Res {
        let (org, event, m) = promoter_scope(scope);
        let person = actor.person.as_ref().expect("authorized promoter");
        let mut tx = self.store.write().await?;
        let code = self
            .ensure_main_link(&mut tx, org.id, event.id, m.id, person.id)
            .await?;
        tx.commit().await?;
        let url = self.link_url(&code);
        let qr = crate::qr::png(&url).map_err(|e| StoreError::Corrupt(format!("QR code: {e}")))?;
        Ok(Reply::text(format!(
            "Your tracking link for {} — every ticket bought through it counts for you:",
            event.name
        ))
        .with(Block::Link(url.clone()))
        .line("Add utm tags if you like (…?utm_source=instagram); they are passed on to the ticket page.")
        .with_attachment(Attachment {
            filename: format!("{}-{code}.png", event.slug),
            mime: "image/png".into(),
            data: qr,
            caption: format!("QR code for {url}"),
        })
        .private())
    }

    pub(super) async fn new_link(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, event, m) = promoter_scope(scope);
        let person = actor.person.as_ref().expect("authorized promoter");
        let label = inv.req("label");
        let sub = inv.get("for");
        if self.store.count_links_of_membership(m.id).await? >= self.settings.max_links_per_promoter {
            refuse!(
                "You have reached the limit of {} links. Ask the organizer if you need more.",
                self.settings.max_links_per_promoter
            );
        }
        if label.eq_ignore_ascii_case("main") {
            refuse!("`main` is your main link: send `mylink` for it, and pick another label.");
        }
        let existing = self.store.links_of_membership(m.id, event.id).await?;
        if existing
            .iter()
            .any(|l| l.label.eq_ignore_ascii_case(label) && l.sub_promoter.as_deref() == sub)
        {
            refuse!(
                "You already have a link labelled `{label}` for {}. Send `links` to see it.",
                event.name
            );
        }
        let mut tx = self.store.write().await?;
        let main = self
            .ensure_main_link(&mut tx, org.id, event.id, m.id, person.id)
            .await?;
        let parent = self.store.main_link(&mut tx, m.id, event.id).await?.map(|l| l.id);
        let link = NewLink {
            code: "",
            org_id: org.id,
            event_id: event.id,
            membership_id: Some(m.id),
            parent_id: parent,
            kind: if sub.is_some() { "sub" } else { "channel" },
            label,
            sub_promoter: sub,
            created_by: Some(person.id),
        };
        let code = self.insert_link(&mut tx, link).await?;
        tx.commit().await?;
        let whose = match sub {
            Some(name) => format!("Link for {name} ({label}); their sales count for you"),
            None => format!("Link for {label}"),
        };
        debug_assert_ne!(main, code);
        Ok(Reply::text(format!("{whose} — {}:", event.name))
            .with(Block::Link(self.link_url(&code)))
            .private())
    }

    /// A table of links with clicks and sales.
    async fn link_table(
        &self,
        event: &crate::store::EventRow,
        links: &[LinkRow],
        membership: Option<i64>,
    ) -> Result<Table, CommandError> {
        let numbers = self.event_numbers(event, membership).await?;
        let mut t = Table::new(
            &["Link", "Label", "Clicks", "Orders", "Tickets", "Net revenue"],
            &[false, false, true, true, true, true],
        );
        for l in links {
            let n = numbers.of(|_, link| link == Some(l.id));
            let mut label = l.shown_label();
            if l.revoked {
                label.push_str(if l.disabled_by.is_some() {
                    " [off]"
                } else {
                    " [revoked]"
                });
            }
            t.row(vec![
                self.link_url(&l.code),
                label,
                n.clicks.to_string(),
                n.orders.to_string(),
                n.tickets.to_string(),
                money(n.net, &event.currency),
            ]);
        }
        Ok(t)
    }

    pub(super) async fn links(&self, actor: &Actor, scope: Scope) -> Res {
        let (org, event, m) = promoter_scope(scope);
        let person = actor.person.as_ref().expect("authorized promoter");
        let mut tx = self.store.write().await?;
        self.ensure_main_link(&mut tx, org.id, event.id, m.id, person.id)
            .await?;
        tx.commit().await?;
        let links = self.store.links_of_membership(m.id, event.id).await?;
        let t = self.link_table(&event, &links, Some(m.id)).await?;
        Ok(Reply::default()
            .titled(format!("Your links — {}", event.name))
            .with(Block::Table(t))
            .line("Create more with `newlink <label>`.")
            .private())
    }

    pub(super) async fn org_link(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let event = event.expect("event is a required argument");
        let label = inv.req("label");
        let existing = self.store.links_of_event(event.id).await?;
        if existing
            .iter()
            .any(|l| l.membership_id.is_none() && l.label.eq_ignore_ascii_case(label))
        {
            refuse!("{} already has an organization link labelled `{label}`.", event.name);
        }
        let mut tx = self.store.write().await?;
        let link = NewLink {
            code: "",
            org_id: org.id,
            event_id: event.id,
            membership_id: None,
            parent_id: None,
            kind: "org",
            label,
            sub_promoter: None,
            created_by: actor.person.as_ref().map(|p| p.id),
        };
        let code = self.insert_link(&mut tx, link).await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Organization link `{label}` for {} (its sales never count for a promoter):",
            event.name
        ))
        .with(Block::Link(self.link_url(&code))))
    }

    pub(super) async fn org_links(&self, scope: Scope) -> Res {
        let (_, _, event) = organizer_scope(scope);
        let event = event.expect("resolved by authorize");
        let links: Vec<LinkRow> = self
            .store
            .links_of_event(event.id)
            .await?
            .into_iter()
            .filter(|l| l.membership_id.is_none())
            .collect();
        if links.is_empty() {
            return Ok(Reply::text(format!(
                "{} has no organization links yet. Create one with `orglink {} <label>`.",
                event.name, event.slug
            )));
        }
        let t = self.link_table(&event, &links, None).await?;
        Ok(Reply::default()
            .titled(format!("Organization links — {}", event.name))
            .with(Block::Table(t)))
    }
}
