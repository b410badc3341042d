//! Ticket-type commands: add, list (with how many order lines use each), rename,
//! reprice, and remove one that no order uses.

use super::{Actor, Core, Invocation, Scope, organizer_scope, parse_price};
use crate::error::CommandError;
use crate::money::money;
use crate::refuse;
use crate::reply::{Block, Reply, Table};
use crate::store::{EventRow, TicketTypeUse, WriteTx};

type Res = Result<Reply, CommandError>;

impl Core {
    pub(super) async fn new_ticket_type(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let event = event.expect("event is a required argument");
        let price: i64 = inv.req("price").parse().unwrap_or_default();
        let name = inv.req("name");
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        if self
            .store
            .create_ticket_type(&mut tx, event.id, name, Some(price), now)
            .await?
            .is_none()
        {
            refuse!("{} already has a ticket type named {name}.", event.name);
        }
        let detail = format!("{} {name}", event.slug);
        self.ticket_audit(&mut tx, org.id, actor, "ticket_type.created", &detail)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!(
            "Added {name} at {} to {}.",
            money(price, &event.currency),
            event.name
        )))
    }

    pub(super) async fn ticket_types(&self, scope: Scope) -> Res {
        let (_, _, event) = organizer_scope(scope);
        let event = event.expect("resolved by authorize");
        let types = self.store.ticket_type_uses(event.id).await?;
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

    pub(super) async fn edit_ticket(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let event = event.expect("event is a required argument");
        let tt = self.ticket_named(&event, inv.req("ticket")).await?;
        let value = inv.req("value").trim();
        let mut tx = self.store.write().await?;
        let reply = match inv.req("field") {
            "name" => {
                if value == tt.name {
                    refuse!("{} is already named {value}.", tt.name);
                }
                if !self.store.rename_ticket_type(&mut tx, tt.id, value).await? {
                    refuse!("{} already has a ticket type named {value}.", event.name);
                }
                let detail = format!("{} {} -> {value}", event.slug, tt.name);
                self.ticket_audit(&mut tx, org.id, actor, "ticket_type.renamed", &detail)
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
            _ => {
                let Some(price) = parse_price(value) else {
                    refuse!("`{value}` is not a price: write it like 25 or 25.50.");
                };
                self.store.set_ticket_price(&mut tx, tt.id, price).await?;
                let detail = format!("{} {} {price}", event.slug, tt.name);
                self.ticket_audit(&mut tx, org.id, actor, "ticket_type.repriced", &detail)
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

    pub(super) async fn remove_ticket(&self, actor: &Actor, scope: Scope, inv: &Invocation) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let event = event.expect("event is a required argument");
        let tt = self.ticket_named(&event, inv.req("ticket")).await?;
        let mut tx = self.store.write().await?;
        // Decided in the delete itself: an order stored meanwhile keeps its ticket type.
        if !self.store.remove_unused_ticket_type(&mut tx, tt.id).await? {
            refuse!(
                "{} has orders, so it stays: the numbers of those orders need it. \
                 Rename it with `editticket {} \"{}\" name <new name>` instead.",
                tt.name,
                event.slug,
                tt.name
            );
        }
        let detail = format!("{} {}", event.slug, tt.name);
        self.ticket_audit(&mut tx, org.id, actor, "ticket_type.removed", &detail)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(format!("Removed {} from {}.", tt.name, event.name)))
    }

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
                refuse!("{} has no ticket type named {wanted}: {known}.", event.name);
            }
        }
    }

    async fn ticket_audit(
        &self,
        tx: &mut WriteTx,
        org_id: i64,
        actor: &Actor,
        what: &str,
        detail: &str,
    ) -> Result<(), CommandError> {
        let who = actor.person.as_ref().map(|p| p.id);
        self.store
            .audit(tx, Some(org_id), who, what, detail, self.clock.now())
            .await?;
        Ok(())
    }
}
