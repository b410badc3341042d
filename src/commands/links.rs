//! Tracking-link commands: a promoter's own links (with QR code) and organization links.

use super::Core;
use super::args::{Args, EventRef};
use super::command::{Command, declare};
use super::grants::{OrganizerOfEvent, Promoter};
use super::spec::{ArgKind, CommandSpec, EVENT_OPT, flag, req, rest};
use crate::codes;
use crate::domain::{EventId, LinkKind, MembershipId, OrgId, PersonId};
use crate::error::{CommandError, UserError};
use crate::money::money;
use crate::refuse;
use crate::reply::{Attachment, Block, Reply, Table};
use crate::store::{LinkRow, NewLink as LinkToInsert, WriteTx};

type Res = Result<Reply, CommandError>;

impl Core {
    /// Inserts a link under a fresh random code (retrying the rare collision).
    async fn insert_link(&self, tx: &mut WriteTx, link: LinkToInsert<'_>) -> Result<String, CommandError> {
        let now = self.clock.now();
        for _ in 0..5 {
            let code = codes::link_code();
            let link = LinkToInsert {
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
        Err(CommandError::Invariant("no free link code after 5 tries".into()))
    }

    /// The promoter's main link for an event, created on first use.
    pub(super) async fn ensure_main_link(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        event_id: EventId,
        membership_id: MembershipId,
        person_id: PersonId,
    ) -> Result<String, CommandError> {
        if let Some(l) = self.store.main_link(tx, membership_id, event_id).await? {
            return Ok(l.code);
        }
        let link = LinkToInsert {
            code: "",
            org_id,
            event_id,
            membership_id: Some(membership_id),
            parent_id: None,
            kind: LinkKind::Main,
            label: "main",
            sub_promoter: None,
            created_by: Some(person_id),
        };
        self.insert_link(tx, link).await
    }

    async fn my_link(&self, ctx: Promoter) -> Res {
        let Promoter {
            org,
            event,
            membership: m,
            person,
            ..
        } = ctx;
        let mut tx = self.store.write().await?;
        let code = self
            .ensure_main_link(&mut tx, org.id, event.id, m.id, person.id)
            .await?;
        tx.commit().await?;
        let url = self.link_url(&code);
        let qr = crate::qr::png(&url).map_err(|e| CommandError::Invariant(format!("QR code of {url}: {e}")))?;
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

    async fn new_link(&self, ctx: Promoter, label: &str, sub: Option<&str>) -> Res {
        let Promoter {
            org,
            event,
            membership: m,
            person,
            ..
        } = ctx;
        if self.store.count_links_of_membership(m.id).await? >= self.settings.max_links_per_promoter {
            return refuse!(
                "You have reached the limit of {} links. Ask the organizer if you need more.",
                self.settings.max_links_per_promoter
            );
        }
        if label.eq_ignore_ascii_case("main") {
            return refuse!("`main` is your main link: send `mylink` for it, and pick another label.");
        }
        let existing = self.store.links_of_membership(m.id, event.id).await?;
        if existing
            .iter()
            .any(|l| l.label.eq_ignore_ascii_case(label) && l.sub_promoter.as_deref() == sub)
        {
            return refuse!(
                "You already have a link labelled `{label}` for {}. Send `links` to see it.",
                event.name
            );
        }
        let mut tx = self.store.write().await?;
        let main = self
            .ensure_main_link(&mut tx, org.id, event.id, m.id, person.id)
            .await?;
        let parent = self.store.main_link(&mut tx, m.id, event.id).await?.map(|l| l.id);
        let link = LinkToInsert {
            code: "",
            org_id: org.id,
            event_id: event.id,
            membership_id: Some(m.id),
            parent_id: parent,
            kind: if sub.is_some() {
                LinkKind::Sub
            } else {
                LinkKind::Channel
            },
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
        membership: Option<MembershipId>,
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

    async fn links(&self, ctx: Promoter) -> Res {
        let Promoter {
            org,
            event,
            membership: m,
            person,
            ..
        } = ctx;
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

    async fn org_link(&self, ctx: OrganizerOfEvent, label: &str) -> Res {
        let OrganizerOfEvent { org, event, person, .. } = ctx;
        let existing = self.store.links_of_event(event.id).await?;
        if existing
            .iter()
            .any(|l| l.membership_id.is_none() && l.label.eq_ignore_ascii_case(label))
        {
            return refuse!("{} already has an organization link labelled `{label}`.", event.name);
        }
        let mut tx = self.store.write().await?;
        let link = LinkToInsert {
            code: "",
            org_id: org.id,
            event_id: event.id,
            membership_id: None,
            parent_id: None,
            kind: LinkKind::Org,
            label,
            sub_promoter: None,
            created_by: Some(person.id),
        };
        let code = self.insert_link(&mut tx, link).await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Organization link `{label}` for {} (its sales never count for a promoter):",
            event.name
        ))
        .with(Block::Link(self.link_url(&code))))
    }

    async fn org_links(&self, ctx: OrganizerOfEvent) -> Res {
        let event = ctx.event;
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

/// `mylink [event]`: the promoter's main link with its QR code.
#[derive(Debug)]
pub struct MyLink;

impl Command for MyLink {
    type Grant = Promoter;
    const SPEC: CommandSpec = declare!(
        MyLink,
        "mylink",
        [EVENT_OPT],
        "Your tracking link for an event, with a QR code for flyers",
        "mylink summer-fest",
        private = true,
        deferred = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(MyLink)
    }

    async fn run(self, core: &Core, ctx: Promoter) -> Res {
        core.my_link(ctx).await
    }
}

/// `links [event]`: the promoter's links with their numbers.
#[derive(Debug)]
pub struct Links;

impl Command for Links {
    type Grant = Promoter;
    const SPEC: CommandSpec = declare!(
        Links,
        "links",
        [EVENT_OPT],
        "Your links for an event with their clicks and sales",
        "links summer-fest",
        private = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(Links)
    }

    async fn run(self, core: &Core, ctx: Promoter) -> Res {
        core.links(ctx).await
    }
}

/// `newlink <label> [event] [--for <name>]`.
#[derive(Debug)]
pub struct NewLink {
    pub label: String,
    pub sub_promoter: Option<String>,
}

impl Command for NewLink {
    type Grant = Promoter;
    const SPEC: CommandSpec = declare!(
        NewLink,
        "newlink",
        [
            req("label", ArgKind::Text, "the channel, e.g. instagram or flyers"),
            EVENT_OPT,
            flag(
                "for",
                ArgKind::Text,
                "a sub-promoter's name: the link is theirs, sales count for you"
            ),
        ],
        "Create an extra link for a channel or a sub-promoter",
        "newlink instagram summer-fest",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(NewLink {
            label: args.req("label")?,
            sub_promoter: args.opt("for")?,
        })
    }

    async fn run(self, core: &Core, ctx: Promoter) -> Res {
        core.new_link(ctx, &self.label, self.sub_promoter.as_deref()).await
    }
}

/// `orglink <event> <label>`: a link of the organization's own.
#[derive(Debug)]
pub struct OrgLink {
    pub label: String,
}

impl Command for OrgLink {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        OrgLink,
        "orglink",
        [
            req("event", ArgKind::Event, "the event"),
            rest(
                "label",
                "what the link is for: a sponsor, venue, artist or social channel"
            ),
        ],
        "Create an organization tracking link (not a promoter's)",
        "orglink summer-fest Venue newsletter"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: EventRef = args.req("event")?;
        Ok(OrgLink {
            label: args.req("label")?,
        })
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        core.org_link(ctx, &self.label).await
    }
}

/// `orglinks [event]`: the organization's links of an event with their numbers.
#[derive(Debug)]
pub struct OrgLinks;

impl Command for OrgLinks {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        OrgLinks,
        "orglinks",
        [EVENT_OPT],
        "List the organization's tracking links of an event with their numbers",
        "orglinks summer-fest",
        private = true,
        picks_only_event = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(OrgLinks)
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        core.org_links(ctx).await
    }
}
