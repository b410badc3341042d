//! Ticket-type commands: add, list (with how many order lines use each), rename,
//! reprice, and remove one that no order uses.

use super::args::{Args, EventRef, Money};
use super::command::{Command, declare};
use super::grants::OrganizerOfEvent as Org;
use super::spec::{ArgKind, CommandSpec, EVENT_OPT, req, rest};
use super::{Core, parse_price};
use crate::domain::{OrgId, PersonId};
use crate::error::{CommandError, UserError};
use crate::money::money;
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{EventRow, TicketTypeUse, WriteTx};

type Res = Result<Reply, CommandError>;

/// `newtickettype <event> <price> <name>`.
#[derive(Debug)]
pub struct NewTicketType {
    pub price: Money,
    pub name: String,
}

impl Command for NewTicketType {
    type Grant = Org;
    const SPEC: CommandSpec = declare!(
        NewTicketType,
        "newtickettype",
        [
            req("event", ArgKind::Event, "the event"),
            req("price", ArgKind::Price, "the price"),
            rest("name", "the ticket type's name"),
        ],
        "Add a ticket type to an event",
        "newtickettype summer-fest 49.00 General Admission"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: EventRef = args.req("event")?;
        Ok(NewTicketType {
            price: args.req("price")?,
            name: args.req("name")?,
        })
    }

    async fn run(self, core: &Core, ctx: Org) -> Res {
        let Org { org, event, person, .. } = ctx;
        let (price, name) = (self.price.minor_in(&event.currency)?, self.name.as_str());
        let now = core.clock.now();
        let mut tx = core.store.write().await?;
        if core
            .store
            .create_ticket_type(&mut tx, event.id, name, Some(price), now)
            .await?
            .is_none()
        {
            return refuse!("{} already has a ticket type named {name}.", event.name);
        }
        let detail = format!("{} {name}", event.slug);
        core.ticket_audit(&mut tx, org.id, Some(person.id), "ticket_type.created", &detail)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Added {name} at {} to {}.",
            money(price, &event.currency),
            event.name
        )))
    }
}

/// `tickettypes [event]`.
#[derive(Debug)]
pub struct TicketTypes;

impl Command for TicketTypes {
    type Grant = Org;
    const SPEC: CommandSpec = declare!(
        TicketTypes,
        "tickettypes",
        [EVENT_OPT],
        "List an event's ticket types",
        "tickettypes summer-fest",
        picks_only_event = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(TicketTypes)
    }

    async fn run(self, core: &Core, ctx: Org) -> Res {
        let event = ctx.event;
        let types = core.store.ticket_type_uses(event.id).await?;
        if types.is_empty() {
            return Ok(Reply::text(format!(
                "{} has no ticket types yet. Add one with `newtickettype {} <price> <name>`.",
                event.name, event.slug
            )));
        }
        let mut t = Table::new(&["Ticket type", "Price", "Order lines"], &[false, true, true]);
        for tt in types {
            t.row(vec![
                tt.name,
                tt.price_minor
                    .map(|p| money(p, &event.currency))
                    .unwrap_or_else(|| "–".into()),
                tt.order_lines.to_string(),
            ]);
        }
        Ok(Reply::default()
            .titled(format!("Ticket types of {}", event.name))
            .with(Block::Table(t))
            .line(format!(
                "Change one with `editticket {} <ticket type> name|price <value>`; \
                 one without order lines can be removed with `removeticket`.",
                event.slug
            )))
    }
}

crate::choice!(
    /// What `editticket` changes.
    TicketField { Name = "name", Price = "price" }
);

/// `editticket <event> <ticket type> name|price <value>`.
#[derive(Debug)]
pub struct EditTicket {
    pub ticket: String,
    pub field: TicketField,
    pub value: String,
}

impl Command for EditTicket {
    type Grant = Org;
    const SPEC: CommandSpec = declare!(
        EditTicket,
        "editticket",
        [
            req("event", ArgKind::Event, "the event"),
            req(
                "ticket",
                ArgKind::Text,
                "the ticket type's name (in quotes when it has spaces)"
            ),
            req("field", ArgKind::Choice(TicketField::WORDS), "what to change"),
            rest("value", "the new name, or the new price, e.g. 55.00"),
        ],
        "Rename a ticket type or change its price (stored orders keep theirs)",
        "editticket summer-fest VIP price 139.50"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(EditTicket {
            ticket: args.req("ticket")?,
            field: args.req("field")?,
            value: args.req::<String>("value")?.trim().to_string(),
        })
    }

    async fn run(self, core: &Core, ctx: Org) -> Res {
        let Org { org, event, person, .. } = ctx;
        let who = Some(person.id);
        let tt = core.ticket_named(&event, &self.ticket).await?;
        let value = self.value.as_str();
        let mut tx = core.store.write().await?;
        let reply = match self.field {
            TicketField::Name => {
                if value == tt.name {
                    return refuse!("{} is already named {value}.", tt.name);
                }
                if !core.store.rename_ticket_type(&mut tx, tt.id, value).await? {
                    return refuse!("{} already has a ticket type named {value}.", event.name);
                }
                let detail = format!("{} {} -> {value}", event.slug, tt.name);
                core.ticket_audit(&mut tx, org.id, who, "ticket_type.renamed", &detail)
                    .await?;
                let mut r = Reply::text(format!("Renamed {} to {value} in {}.", tt.name, event.name));
                if tt.order_lines > 0 {
                    r = r.line(format!(
                        "Its {} order line(s) now show the new name. Orders that still arrive \
                         under the old name add a ticket type of that name.",
                        tt.order_lines
                    ));
                }
                r
            }
            TicketField::Price => {
                let Some(price) = parse_price(value) else {
                    return refuse!("`{value}` is not a price: write it like 25 or 25.50.");
                };
                let price = super::args::Money(price).minor_in(&event.currency)?;
                core.store.set_ticket_price(&mut tx, tt.id, price).await?;
                let detail = format!("{} {} {price}", event.slug, tt.name);
                core.ticket_audit(&mut tx, org.id, who, "ticket_type.repriced", &detail)
                    .await?;
                Reply::text(format!(
                    "{} of {} now costs {}.",
                    tt.name,
                    event.name,
                    money(price, &event.currency)
                ))
                .line("Orders already stored keep the price they were paid at.")
            }
        };
        tx.commit().await?;
        Ok(reply)
    }
}

/// `removeticket <event> <ticket type>`.
#[derive(Debug)]
pub struct RemoveTicket {
    pub ticket: String,
}

impl Command for RemoveTicket {
    type Grant = Org;
    const SPEC: CommandSpec = declare!(
        RemoveTicket,
        "removeticket",
        [
            req("event", ArgKind::Event, "the event"),
            rest("ticket", "the ticket type's name"),
        ],
        "Remove a ticket type that no order uses",
        "removeticket summer-fest Early Bird"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(RemoveTicket {
            ticket: args.req("ticket")?,
        })
    }

    async fn run(self, core: &Core, ctx: Org) -> Res {
        let Org { org, event, person, .. } = ctx;
        let tt = core.ticket_named(&event, &self.ticket).await?;
        let mut tx = core.store.write().await?;
        // Decided in the delete itself: an order stored meanwhile keeps its ticket type.
        if !core.store.remove_unused_ticket_type(&mut tx, tt.id).await? {
            return refuse!(
                "{} has orders, so it stays: the numbers of those orders need it. \
                 Rename it with `editticket {} \"{}\" name <new name>` instead.",
                tt.name,
                event.slug,
                tt.name
            );
        }
        let detail = format!("{} {}", event.slug, tt.name);
        let who = Some(person.id);
        core.ticket_audit(&mut tx, org.id, who, "ticket_type.removed", &detail)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!("Removed {} from {}.", tt.name, event.name)))
    }
}

impl Core {
    /// The event's ticket type of that name (ignoring case, as orders match names).
    async fn ticket_named(&self, event: &EventRow, name: &str) -> Result<TicketTypeUse, CommandError> {
        let types = self.store.ticket_type_uses(event.id).await?;
        let wanted = name.trim();
        match types.iter().position(|t| t.name.eq_ignore_ascii_case(wanted)) {
            Some(i) => Ok(types.into_iter().nth(i).expect("found at i")),
            None => {
                let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
                let known = if names.is_empty() {
                    "it has none yet".to_string()
                } else {
                    format!("it has {}", names.join(", "))
                };
                refuse!("{} has no ticket type named {wanted}: {known}.", event.name)
            }
        }
    }

    async fn ticket_audit(
        &self,
        tx: &mut WriteTx,
        org_id: OrgId,
        who: Option<PersonId>,
        what: &str,
        detail: &str,
    ) -> Result<(), CommandError> {
        self.store
            .audit(tx, Some(org_id), who, what, detail, self.clock.now())
            .await?;
        Ok(())
    }
}
