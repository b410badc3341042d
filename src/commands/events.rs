//! Events: `newevent`, `editevent`, `events`, and how an organizer command names its scope.

use super::Core;
use super::args::{Args, EventRef, Slug, WebUrl, When};
use super::command::{Command, declare};
use super::grants::{Organizer, OrganizerOfEvent};
use super::local_time::local_time;
use super::spec::{ArgKind, CommandSpec, ORG_FLAG, flag, req, rest};
use crate::domain::{EventId, Shop};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{EventField, EventRow, OrgRow};
use chrono::{DateTime, Utc};

type Res = Result<Reply, CommandError>;

/// An organization with one of its events, or with all of them: `Summer Fest (Acme)`.
pub(super) fn scope_name(org: &OrgRow, event: Option<&EventRow>) -> String {
    match event {
        Some(e) => format!("{} ({})", e.name, org.name),
        None => format!("{} (all events)", org.name),
    }
}

/// The "For" column of a membership or invite: its event's short name, or `all events`.
pub(super) fn for_column(events: &[EventRow], event_id: Option<EventId>) -> String {
    event_id
        .and_then(|id| events.iter().find(|e| e.id == id))
        .map(|e| e.slug.clone())
        .unwrap_or_else(|| "all events".into())
}

/// A start time as written, read when the organization's zone is known.
#[derive(Debug, Clone)]
pub struct Starts {
    pub written: String,
    pub when: When,
}

impl Starts {
    fn refusal(written: &str) -> UserError {
        UserError::new(format!("`{written}` is not a date and time like 2027-06-01 18:00."))
    }

    fn read(written: String) -> Result<Self, UserError> {
        match When::parse(&written) {
            Some(when) => Ok(Starts { written, when }),
            None => Err(Starts::refusal(&written)),
        }
    }

    /// The instant in the organization's zone; refused as unreadable when the time does
    /// not exist there.
    fn resolve(&self, tz: &str) -> Result<DateTime<Utc>, UserError> {
        self.when.resolve(tz).ok_or_else(|| Starts::refusal(&self.written))
    }
}

/// `newevent <slug> <starts> <url> <name…> [--currency] [--org]`.
#[derive(Debug)]
pub struct NewEvent {
    pub slug: Slug,
    pub starts: Starts,
    pub url: WebUrl,
    pub name: String,
    pub currency: Option<String>,
}

impl Command for NewEvent {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        NewEvent,
        "newevent",
        [
            req("slug", ArgKind::Slug, "a short name used in links and commands"),
            req("starts", ArgKind::Time, "when the event starts"),
            req("url", ArgKind::Url, "the event's ticket page"),
            rest("name", "the event's full name"),
            flag(
                "currency",
                ArgKind::Text,
                "ticket currency (default: the organization's)"
            ),
            ORG_FLAG,
        ],
        "Create an event",
        "newevent summer-fest \"2027-06-01 18:00\" https://tickets.example.com/summer Summer Fest 2027"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(NewEvent {
            slug: args.req("slug")?,
            starts: Starts::read(args.req("starts")?)?,
            url: args.req("url")?,
            name: args.req("name")?,
            currency: args.opt("currency")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person, .. } = ctx;
        let starts = self.starts.resolve(&org.time_zone)?;
        let currency = self.currency.as_deref().unwrap_or(&org.currency).to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return refuse!("`{currency}` is not a currency code like EUR or USD.");
        }
        let now = core.clock.now();
        let (slug, name) = (self.slug.0.as_str(), self.name.as_str());
        let mut tx = core.store.write().await?;
        let Some(_) = core
            .store
            .create_event(&mut tx, org.id, slug, name, starts, &self.url, &currency, now)
            .await?
        else {
            return refuse!(
                "The short name `{slug}` is taken: {} already has an event of that name. Pick another one.",
                org.name
            );
        };
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "event.created", slug, now)
            .await?;
        tx.commit().await?;
        let starting = local_time(&starts, &org.time_zone);
        Ok(Reply::text(format!("Created {name} (`{slug}`), starting {starting}."))
            .line(format!("Add ticket types with `newtickettype {slug} <price> <name>`, then invite promoters with `invite <email> {slug}`.")))
    }
}

crate::choice!(
    /// What `editevent` changes.
    EventPart { Name = "name", Starts = "starts", Url = "url", Checkout = "checkout" }
);

/// The new value of an event's part, checked for that part.
#[derive(Debug)]
pub enum EventValue {
    Name(String),
    Starts(Starts),
    Url(WebUrl),
    /// The shop, and the shop's ids for the event (none for `webhook`).
    Checkout(Shop, Vec<String>),
}

/// `editevent <event> name|starts|url|checkout <value…>`.
#[derive(Debug)]
pub struct EditEvent {
    pub field: EventPart,
    pub value: EventValue,
}

impl Command for EditEvent {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        EditEvent,
        "editevent",
        [
            req("event", ArgKind::Event, "the event"),
            req("field", ArgKind::Choice(EventPart::WORDS), "what to change"),
            rest("value", "the new value"),
        ],
        "Change an event's name, start time, ticket page or shop (`checkout stripe plink_…`)",
        "editevent summer-fest url https://tickets.example.com/summer-2027"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: EventRef = args.req("event")?;
        let field: EventPart = args.req("field")?;
        let raw: String = args.req("value")?;
        let value = match field {
            EventPart::Name => EventValue::Name(raw),
            EventPart::Starts => EventValue::Starts(Starts::read(raw)?),
            EventPart::Url => match url::Url::parse(&raw) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    EventValue::Url(WebUrl(u.to_string()))
                }
                _ => return Err(UserError::new(format!("`{raw}` is not an http(s):// address."))),
            },
            EventPart::Checkout => read_checkout(&raw)?,
        };
        Ok(EditEvent { field, value })
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        let OrganizerOfEvent { org, person, event, .. } = ctx;
        let (field, value) = match self.value {
            EventValue::Checkout(shop, key) => return set_checkout(core, &org, person.id, &event, shop, key).await,
            EventValue::Name(name) => (EventField::Name, name),
            EventValue::Starts(s) => (EventField::StartsAt, crate::clock::ts(s.resolve(&org.time_zone)?)),
            EventValue::Url(u) => (EventField::TicketUrl, u.0),
        };
        let word = EventPart::WORDS[self.field as usize];
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        core.store.update_event_field(&mut tx, event.id, field, &value).await?;
        let detail = format!("{} {word}={value}", event.slug);
        core.store
            .audit(&mut tx, Some(org.id), Some(person.id), "event.edited", &detail, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!("Updated the {word} of {}.", event.name)))
    }
}

/// Most shop ids one event may have (products or Payment Links, one per ticket type).
const MAX_SHOP_KEYS: usize = 20;

/// `checkout <shop> [<the shop's id for the event> …]`, checked.
fn read_checkout(raw: &str) -> Result<EventValue, UserError> {
    let mut words = raw
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty());
    let word = words.next().unwrap_or("");
    let Ok(shop) = Shop::from_stored(&word.to_ascii_lowercase()) else {
        let all: Vec<&str> = Shop::ALL.iter().map(|s| s.as_str()).collect();
        return Err(UserError::new(format!(
            "`{word}` is not a shop. Choose one of: {}.",
            all.join(", ")
        )));
    };
    let mut keys: Vec<String> = Vec::new();
    for k in words {
        if !shop.valid_event_key(k) {
            let what = if shop == Shop::Webhook {
                "The promoterd webhook names the event in each order: give no id.".to_string()
            } else {
                format!(
                    "`{k}` is not {}'s id for an event: give {}.",
                    shop.label(),
                    shop.event_key()
                )
            };
            return Err(UserError::new(what));
        }
        if !keys.iter().any(|x| x == k) {
            keys.push(k.to_string());
        }
    }
    if keys.len() > MAX_SHOP_KEYS {
        return Err(UserError::new(format!(
            "An event has at most {MAX_SHOP_KEYS} shop ids."
        )));
    }
    if shop != Shop::Webhook && keys.is_empty() {
        return Err(UserError::new(format!(
            "Give {}'s id for the event: {} (several, separated by spaces, when each ticket type has its own).",
            shop.label(),
            shop.event_key()
        )));
    }
    Ok(EventValue::Checkout(shop, keys))
}

/// Sets the event's shop, refusing an id another event of the organization has there.
async fn set_checkout(
    core: &Core,
    org: &OrgRow,
    person: crate::domain::PersonId,
    event: &EventRow,
    shop: Shop,
    keys: Vec<String>,
) -> Res {
    let now = core.clock.now();
    let mut tx = core.store.write().await?;
    if let Err((key, other)) = core.store.set_event_checkout(&mut tx, event.id, shop, &keys).await? {
        return Err(UserError::new(format!(
            "{key} already names event `{other}` at {}: an order there can count for one event only.",
            shop.label()
        ))
        .into());
    }
    let detail = format!("{} checkout={shop} {}", event.slug, keys.join(" "))
        .trim_end()
        .to_string();
    core.store
        .audit(&mut tx, Some(org.id), Some(person), "event.edited", &detail, now)
        .await?;
    tx.commit().await?;
    let mut reply = Reply::text(if keys.is_empty() {
        format!("Orders of {} now come through the promoterd webhook.", event.name)
    } else {
        format!(
            "Orders of {} now come from {} ({}).",
            event.name,
            shop.label(),
            keys.join(", ")
        )
    });
    reply = reply.line(match shop.ref_style() {
        crate::domain::RefStyle::Param(p) => format!("Tracking links now send `{p}=<code>` to the ticket page."),
        crate::domain::RefStyle::Voucher => {
            "Tracking links now open the event's voucher page with the promoter's voucher.".to_string()
        }
    });
    let connected = shop == Shop::Webhook
        || core
            .settings
            .shop_connections
            .iter()
            .any(|(o, s)| *o == org.slug && *s == shop);
    if !connected {
        reply = reply.line(format!(
            "This server has no {} connection for {} yet: ask its operator to add a [[checkout]] with kind = \"{shop}\".",
            shop.label(),
            org.name
        ));
    }
    Ok(reply)
}

/// `events [--org]`.
#[derive(Debug)]
pub struct Events;

impl Command for Events {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Events,
        "events",
        [ORG_FLAG],
        "List your organization's events",
        "events"
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(Events)
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let org = ctx.org;
        let events = core.store.events_of_org(org.id).await?;
        if events.is_empty() {
            return Ok(Reply::text(format!(
                "{} has no events yet. Create one with `newevent`.",
                org.name
            )));
        }
        let mut t = Table::new(
            &["Event", "Name", "Starts", "Currency", "Sold at"],
            &[false, false, false, false, false],
        );
        for e in &events {
            let shop = match e.checkout {
                Shop::Webhook => "promoterd webhook".to_string(),
                s => format!(
                    "{} {}",
                    s.label(),
                    core.store.event_checkout_keys(e.id).await?.join(", ")
                ),
            };
            t.row(vec![
                e.slug.clone(),
                e.name.clone(),
                local_time(&e.starts_at, &org.time_zone),
                e.currency.clone(),
                shop,
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Events of {}", org.name))
            .with(Block::Table(t)))
    }
}
