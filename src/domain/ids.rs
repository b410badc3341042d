//! Row ids as their own types, so a person's id cannot be passed where an event's is
//! expected. The store binds and reads them as integers.

use std::fmt;
use std::str::FromStr;

macro_rules! ids {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            /// The stored integer.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    )+};
}

ids!(
    /// A person: anyone with an email address or a chat account known to us.
    PersonId,
    /// An organization.
    OrgId,
    /// An event of an organization.
    EventId,
    /// A ticket type of an event.
    TicketTypeId,
    /// A promoter's membership in an event.
    MembershipId,
    /// A tracking link.
    LinkId,
    /// An invite (promoter or organizer).
    InviteId,
    /// An order from a checkout.
    OrderId,
    /// A message in the outbox (mail or chat).
    OutboxId,
    /// A version of a commission rule.
    RuleId,
    /// A payout an organizer recorded.
    PayoutId,
);
