//! Promo codes (issue 16): `mycode`, `promocode` and `promocodes`. People say codes out
//! loud; an order whose discount or voucher code is a promoter's counts for that
//! promoter's main link, unless the buyer came through a link, which wins. A code a
//! promoter asks for counts once an organizer approves it: a shop's public code must
//! not become one promoter's.

use super::Core;
use super::args::{Args, Email, EventRef};
use super::command::{Command, declare};
use super::grants::{OrganizerOfEvent, Promoter};
use super::spec::{ArgKind, CommandSpec, EVENT_OPT, req};
use crate::domain::{EventId, MembershipId, OrgId, PersonId};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Block, Reply, Table};

/// A promo code as said: 3 to 30 letters, digits, `-` or `_`; compared lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeWord {
    Code(String),
    /// `off`: no code.
    Off,
}

impl CodeWord {
    fn read(raw: &str) -> Result<Self, UserError> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(CodeWord::Off);
        }
        let ok =
            (3..=30).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(UserError::new(format!(
                "`{}` is not a promo code: use 3 to 30 letters, digits, - or _.",
                raw.chars().take(40).collect::<String>()
            )));
        }
        Ok(CodeWord::Code(raw.to_ascii_lowercase()))
    }
}

/// Whom a code is set for.
struct Holder {
    org: OrgId,
    event: EventId,
    event_name: String,
    membership: MembershipId,
    person: PersonId,
}

impl Core {
    /// Sets (approved, or asked for) or removes the promo code of a holder's main link;
    /// `who` is `Your` or a name.
    async fn set_code(
        &self,
        h: Holder,
        code: CodeWord,
        approved: bool,
        actor: PersonId,
        who: &str,
    ) -> Result<Reply, CommandError> {
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let link_code = self
            .ensure_main_link(&mut tx, h.org, h.event, h.membership, h.person)
            .await?;
        let link = self
            .store
            .main_link(&mut tx, h.membership, h.event)
            .await?
            .ok_or_else(|| CommandError::Invariant(format!("main link {link_code} vanished")))?;
        let text = match &code {
            CodeWord::Off => {
                if !self.store.remove_promo_code(&mut tx, link.id).await? {
                    return Ok(Reply::text(format!(
                        "{who} promo code for {} was not set.",
                        h.event_name
                    )));
                }
                format!("{who} promo code for {} is removed.", h.event_name)
            }
            CodeWord::Code(c) => {
                let had = self.store.promo_code_of(h.membership, h.event).await?;
                let approved = approved || had.as_ref().is_some_and(|(old, ok)| old == c && *ok);
                let set = self
                    .store
                    .set_promo_code(&mut tx, h.event, link.id, c, approved, now)
                    .await?;
                if set.is_err() {
                    return refuse!("The code `{c}` is taken for {}: choose another.", h.event_name);
                }
                let shown = c.to_ascii_uppercase();
                if approved {
                    format!(
                        "{who} promo code for {} is {shown}. An order with this discount or voucher code counts like a sale through the link (a link the buyer came through wins).",
                        h.event_name
                    )
                } else {
                    format!(
                        "{who} promo code for {} will be {shown} once an organizer approves it (they see it in `promocodes`).",
                        h.event_name
                    )
                }
            }
        };
        let detail = match &code {
            CodeWord::Off => format!("{link_code} off"),
            CodeWord::Code(c) => format!("{link_code} {c}"),
        };
        self.store
            .audit(&mut tx, Some(h.org), Some(actor), "promo_code.set", &detail, now)
            .await?;
        tx.commit().await?;
        Ok(Reply::text(text)
            .line("Create the same code in your ticket shop (a discount or voucher code), so buyers can enter it."))
    }
}

/// `mycode <code|off> [event]`.
#[derive(Debug)]
pub struct MyCode {
    pub code: CodeWord,
}

impl Command for MyCode {
    type Grant = Promoter;
    const SPEC: CommandSpec = declare!(
        MyCode,
        "mycode",
        [req("code", ArgKind::Text, "your promo code, or off"), EVENT_OPT],
        "Your promo code for an event, for buyers who type a code",
        "mycode ANA10 summer-fest",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let raw: String = args.req("code")?;
        Ok(MyCode {
            code: CodeWord::read(&raw)?,
        })
    }

    async fn run(self, core: &Core, ctx: Promoter) -> Res {
        let Promoter {
            org,
            event,
            membership,
            person,
            ..
        } = ctx;
        let h = Holder {
            org: org.id,
            event: event.id,
            event_name: event.name.clone(),
            membership: membership.id,
            person: person.id,
        };
        core.set_code(h, self.code, false, person.id, "Your").await
    }
}

/// `promocode <email> <code|off> <event>`.
#[derive(Debug)]
pub struct PromoCode {
    pub email: Email,
    pub code: CodeWord,
}

impl Command for PromoCode {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        PromoCode,
        "promocode",
        [
            req("email", ArgKind::Email, "the promoter"),
            req("code", ArgKind::Text, "the promo code, or off"),
            req("event", ArgKind::Event, "the event"),
        ],
        "Set a promoter's promo code for an event",
        "promocode ana@example.com ANA10 summer-fest"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: EventRef = args.req("event")?;
        let raw: String = args.req("code")?;
        Ok(PromoCode {
            email: args.req("email")?,
            code: CodeWord::read(&raw)?,
        })
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        let OrganizerOfEvent { org, person, event, .. } = ctx;
        let promoter = core.store.person_by_email(&self.email).await?;
        let membership = match &promoter {
            Some(p) => core
                .store
                .live_memberships_in_org(org.id, p.id)
                .await?
                .into_iter()
                .find(|m| {
                    m.status == crate::domain::MembershipStatus::Active && m.event_id.is_none_or(|e| e == event.id)
                }),
            None => None,
        };
        let (Some(p), Some(m)) = (promoter, membership) else {
            return refuse!(
                "{} is not an active promoter of {}. Send `promoters` to see them.",
                self.email.0,
                event.name
            );
        };
        let h = Holder {
            org: org.id,
            event: event.id,
            event_name: event.name.clone(),
            membership: m.id,
            person: p.id,
        };
        let who = format!("{}'s", p.email);
        core.set_code(h, self.code, true, person.id, &who).await
    }
}

/// `promocodes <event>`: the event's promo codes, asked-for ones first.
#[derive(Debug)]
pub struct PromoCodes;

impl Command for PromoCodes {
    type Grant = OrganizerOfEvent;
    const SPEC: CommandSpec = declare!(
        PromoCodes,
        "promocodes",
        [req("event", ArgKind::Event, "the event")],
        "List an event's promo codes, and those waiting for your approval",
        "promocodes summer-fest"
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: EventRef = args.req("event")?;
        Ok(PromoCodes)
    }

    async fn run(self, core: &Core, ctx: OrganizerOfEvent) -> Res {
        let event = ctx.event;
        let codes = core.store.promo_codes_of_event(event.id).await?;
        if codes.is_empty() {
            return Ok(Reply::text(format!(
                "{} has no promo codes. Give a promoter one with `promocode <email> <code> {}`.",
                event.name, event.slug
            )));
        }
        let mut t = Table::new(&["Code", "Promoter", "Counts"], &[false, false, false]);
        for c in &codes {
            let state = if c.approved {
                "yes".to_string()
            } else {
                format!(
                    "asked for: approve with `promocode {} {} {}`",
                    c.email,
                    c.code.to_ascii_uppercase(),
                    event.slug
                )
            };
            t.row(vec![c.code.to_ascii_uppercase(), c.email.clone(), state]);
        }
        Ok(Reply::default()
            .titled(format!("Promo codes — {}", event.name))
            .with(Block::Table(t))
            .line("Create each code in your ticket shop too, as a discount or voucher code."))
    }
}

type Res = Result<Reply, CommandError>;
