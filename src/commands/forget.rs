//! `forgetbuyer`: an erasure request answered — one buyer's name, email and phone
//! dropped from every order of the organization; the sales themselves stay.

use super::Core;
use super::args::{Args, Email};
use super::command::{Command, declare};
use super::grants::Organizer;
use super::spec::{ArgKind, CommandSpec, ORG_FLAG, req};
use crate::error::{CommandError, UserError};
use crate::reply::Reply;

type Res = Result<Reply, CommandError>;

/// `forgetbuyer <email> [--org]`.
#[derive(Debug)]
pub struct ForgetBuyer {
    pub email: Email,
}

impl Command for ForgetBuyer {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        ForgetBuyer,
        "forgetbuyer",
        [req("email", ArgKind::Email, "the buyer's address"), ORG_FLAG],
        "Erase one buyer's name, email and phone from every order (an erasure request)",
        "forgetbuyer zoe@example.com",
        private = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        Ok(ForgetBuyer {
            email: args.req("email")?,
        })
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, person, .. } = ctx;
        let now = core.clock.now();
        // Found on a reader, erased on the writer: the write lock is held for the
        // buyer's orders only, not for a scan of the organization's.
        let ids = core.store.orders_of_buyer(org.id, &self.email).await?;
        let mut tx = core.store.write().await?;
        let n = core.store.forget_buyer(&mut tx, org.id, &ids, &self.email, now).await?;
        // The address itself is not written down: the record says an erasure happened.
        core.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(person.id),
                "buyer.erased",
                &format!("on request: {n} orders"),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Reply::text(if n == 0 {
            format!(
                "No order of {} holds data of {} (already erased, or no order with that \
                 address). Nothing changed.",
                org.name, self.email
            )
        } else {
            format!(
                "Erased the name, email and phone of {} from {n} order(s) of {}. The orders stay in the \
                 numbers and exports, marked erased.",
                self.email, org.name
            )
        }))
    }
}
