//! Every command, one line each, in the order `help` lists them. The `Cmd` ids,
//! `COMMANDS` (the declarations) and the dispatch to each command's type are
//! generated from this list: adding a command adds one line here.

use super::access::Scope;
use super::actor::Actor;
use super::command::Command;
use super::spec::CommandSpec;
use super::{Core, Invocation};
use crate::error::CommandError;
use crate::reply::Reply;

macro_rules! commands {
    ($($id:ident => $module:ident::$ty:ident,)*) => {
        /// Identifies a command for dispatch.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Cmd {
            $($id,)*
        }

        /// Every command, in the order help lists them.
        pub static COMMANDS: &[CommandSpec] = &[$(<super::$module::$ty as Command>::SPEC,)*];

        impl Core {
            /// Runs a command of any type: its arguments read, its context granted.
            pub(super) async fn dispatch(
                &self,
                actor: Actor,
                scope: Scope,
                inv: &Invocation,
            ) -> Result<Reply, CommandError> {
                match inv.cmd {
                    $(Cmd::$id => self.run_typed::<super::$module::$ty>(actor, scope, inv).await,)*
                }
            }
        }

        /// Each command's example, read into its type (a misspelt argument name fails).
        #[cfg(test)]
        pub(super) fn parse_every_example() -> Vec<String> {
            let mut failures = Vec::new();
            $(
                let spec = &<super::$module::$ty as Command>::SPEC;
                if spec.cmd != Cmd::$id {
                    failures.push(format!("{} declares {:?}, listed as {}", spec.name, spec.cmd, stringify!($id)));
                }
                match super::parse_line(spec.example) {
                    Ok(inv) => {
                        if let Err(e) = <super::$module::$ty as Command>::parse(super::args::Args::new(spec, &inv)) {
                            failures.push(format!("{}: {e}", spec.example));
                        }
                    }
                    Err(e) => failures.push(format!("{}: {e}", spec.example)),
                }
            )*
            failures
        }
    };
}

commands! {
    Help => account::Help,
    Whoami => account::Whoami,
    Name => names::Name,
    Connect => account::Connect,
    Verify => account::Verify,
    Accept => invite_answer::Accept,
    Ignore => invite_answer::Ignore,
    NewEvent => events::NewEvent,
    EditEvent => events::EditEvent,
    Events => events::Events,
    CancelEvent => commissions::CancelEvent,
    NewTicketType => ticket_types::NewTicketType,
    EditTicket => ticket_types::EditTicket,
    RemoveTicket => ticket_types::RemoveTicket,
    TicketTypes => ticket_types::TicketTypes,
    Invite => invites::Invite,
    InviteAdmin => invites::InviteAdmin,
    Invites => invites::Invites,
    Resend => invites::Resend,
    CancelInvite => invites::CancelInvite,
    Promoters => members::Promoters,
    Revoke => members::Revoke,
    Stats => stats::Stats,
    Export => export_cmd::Export,
    ForgetBuyer => forget::ForgetBuyer,
    Retention => retention::Retention,
    Audit => audit_cmd::Audit,
    SetCommission => commissions::SetCommission,
    Commissions => commissions::Commissions,
    CommissionPolicy => commissions::CommissionPolicy,
    Recompute => commissions::Recompute,
    Payouts => payouts::Payouts,
    MarkPaid => payouts::MarkPaid,
    PayoutFile => payout_file::PayoutFile,
    OrgLink => links::OrgLink,
    OrgLinks => links::OrgLinks,
    SetLeaderboard => leaderboard::SetLeaderboard,
    MyLink => links::MyLink,
    Links => links::Links,
    NewLink => links::NewLink,
    DisableLink => link_switch::DisableLink,
    EnableLink => link_switch::EnableLink,
    MyStats => stats::MyStats,
    MyOrders => stats::MyOrders,
    MyEarnings => earnings::MyEarnings,
    Why => earnings::Why,
    MyCode => promo_codes::MyCode,
    PromoCode => promo_codes::PromoCode,
    PromoCodes => promo_codes::PromoCodes,
    Leaderboard => leaderboard::Leaderboard,
    Leave => leave::Leave,
    Chart => chart::Chart,
    Digest => prefs::Digest,
    Notify => prefs::Notify,
    Channel => prefs::Channel,
    OrgDigest => prefs::OrgDigest,
    TimeZone => prefs::TimeZone,
    Stop => prefs::Stop,
    MyData => mydata::MyData,
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_example_reads_into_its_command() {
        let failures = super::parse_every_example();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
