//! The domain's types, apart from SQL: closed sets of words (statuses, kinds, roles,
//! platforms) as enums stored by their word, row ids as newtypes, and validated orders.

pub mod commission;
mod ids;
mod order;

pub use ids::{
    EventId, InviteId, LinkId, MembershipId, OrderId, OrgId, OutboxId, PayoutId, PersonId, RuleId, TicketTypeId,
};
pub use order::{LineInput, OrderInput};
use std::fmt;
use std::str::FromStr;

/// A stored word that names no value of its set (a corrupt or newer database).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} `{word}`")]
pub struct UnknownWord {
    /// What the word should have named, e.g. "membership status".
    pub what: &'static str,
    pub word: String,
}

/// Declares an enum of stored words with `ALL`, `as_str`, `from_stored`, `Display`
/// (the stored word) and `FromStr` (exact stored words only).
macro_rules! stored_words {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $var:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $var),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$var),+];

            /// The stored word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$var => $word),+
                }
            }

            /// Reads a stored word; anything else is refused, never defaulted.
            pub fn from_stored(word: &str) -> Result<Self, UnknownWord> {
                match word {
                    $($word => Ok(Self::$var),)+
                    other => Err(UnknownWord { what: $what, word: other.to_string() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(word: &str) -> Result<Self, UnknownWord> {
                Self::from_stored(word)
            }
        }
    };
}

stored_words! {
    /// Where a promoter's membership stands.
    MembershipStatus, "membership status" {
        /// Invited, not yet accepted.
        Invited = "invited",
        Active = "active",
        /// The invitee declined.
        Ignored = "ignored",
        /// The invite ran out before an answer.
        Expired = "expired",
        /// Ended by an organizer.
        Revoked = "revoked",
    }
}

impl MembershipStatus {
    /// Invited or active: the membership still counts.
    pub fn is_live(self) -> bool {
        matches!(self, MembershipStatus::Invited | MembershipStatus::Active)
    }
}

stored_words! {
    /// Where an invitation stands.
    InviteStatus, "invite status" {
        Pending = "pending",
        Accepted = "accepted",
        /// Declined by the invitee.
        Ignored = "ignored",
        /// Withdrawn by an organizer.
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

stored_words! {
    /// What an invite makes of the invitee.
    InviteKind, "invite kind" {
        Promoter = "promoter",
        Organizer = "organizer",
    }
}

stored_words! {
    /// Status of an order at the checkout.
    OrderStatus, "order status" {
        Paid = "paid",
        PartiallyRefunded = "partially_refunded",
        Refunded = "refunded",
        Cancelled = "cancelled",
    }
}

stored_words! {
    /// Why a commission ledger entry was written.
    EntryKind, "commission entry kind" {
        /// An order (or more of it) started earning.
        Earned = "earned",
        /// A refund or cancellation took earnings back.
        Reversed = "reversed",
        /// `recompute` applied the rules of its moment to an earlier order.
        Recomputed = "recomputed",
        /// The event was cancelled: what was not paid is voided.
        Voided = "voided",
    }
}

impl OrderStatus {
    /// Parses a status as a checkout or an import file writes it: any case, surrounding
    /// blanks, and the American `canceled`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "canceled" => Some(OrderStatus::Cancelled),
            word => Self::from_stored(word).ok(),
        }
    }
}

stored_words! {
    /// What a tracking link is.
    LinkKind, "link kind" {
        /// A promoter's one main link for an event.
        Main = "main",
        /// A promoter's link for one channel (a label of their choice).
        Channel = "channel",
        /// A promoter's link for a sub-promoter.
        Sub = "sub",
        /// The organization's own link, outside the promoter program.
        Org = "org",
    }
}

stored_words! {
    /// An organizer's role in an organization.
    OrganizerRole, "organizer role" {
        Owner = "owner",
        Admin = "admin",
    }
}

stored_words! {
    /// A chat platform.
    Platform, "chat platform" {
        Discord = "discord",
        Telegram = "telegram",
    }
}

stored_words! {
    /// Where a message goes: a chat platform or email.
    Channel, "channel" {
        Email = "email",
        Telegram = "telegram",
        Discord = "discord",
    }
}

impl Channel {
    /// The chat platform, or `None` for email.
    pub fn platform(self) -> Option<Platform> {
        match self {
            Channel::Email => None,
            Channel::Telegram => Some(Platform::Telegram),
            Channel::Discord => Some(Platform::Discord),
        }
    }
}

stored_words! {
    /// Which digest: an organizer's (every promoter) or a promoter's (their own numbers).
    DigestKind, "digest kind" {
        Organizer = "organizer",
        Promoter = "promoter",
    }
}

impl Platform {
    /// The name people know.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Discord => "Discord",
            Platform::Telegram => "Telegram",
        }
    }
}

// After `stored_words!`, which it uses.
mod shop;
pub use shop::{RefStyle, Shop, pretix_short_name};

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Copy + PartialEq + fmt::Debug + fmt::Display>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        from: fn(&str) -> Result<T, UnknownWord>,
    ) {
        for &v in all {
            assert_eq!(from(as_str(v)), Ok(v));
            assert_eq!(v.to_string(), as_str(v));
        }
        let mut words: Vec<_> = all.iter().map(|&v| as_str(v)).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), all.len(), "stored words are distinct");
    }

    #[test]
    fn every_value_round_trips_through_its_stored_word() {
        round_trips(
            MembershipStatus::ALL,
            MembershipStatus::as_str,
            MembershipStatus::from_stored,
        );
        round_trips(InviteStatus::ALL, InviteStatus::as_str, InviteStatus::from_stored);
        round_trips(InviteKind::ALL, InviteKind::as_str, InviteKind::from_stored);
        round_trips(OrderStatus::ALL, OrderStatus::as_str, OrderStatus::from_stored);
        round_trips(EntryKind::ALL, EntryKind::as_str, EntryKind::from_stored);
        round_trips(LinkKind::ALL, LinkKind::as_str, LinkKind::from_stored);
        round_trips(OrganizerRole::ALL, OrganizerRole::as_str, OrganizerRole::from_stored);
        round_trips(Platform::ALL, Platform::as_str, Platform::from_stored);
        round_trips(Channel::ALL, Channel::as_str, Channel::from_stored);
        round_trips(DigestKind::ALL, DigestKind::as_str, DigestKind::from_stored);
    }

    #[test]
    fn the_stored_sets_are_the_schemas() {
        let words = |all: &[&str]| all.join(",");
        let m: Vec<_> = MembershipStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words(&m), "invited,active,ignored,expired,revoked");
        let i: Vec<_> = InviteStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words(&i), "pending,accepted,ignored,cancelled,expired");
        let o: Vec<_> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words(&o), "paid,partially_refunded,refunded,cancelled");
        let l: Vec<_> = LinkKind::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words(&l), "main,channel,sub,org");
        let c: Vec<_> = Channel::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words(&c), "email,telegram,discord");
    }

    #[test]
    fn an_unknown_word_is_refused_not_defaulted() {
        let e = MembershipStatus::from_stored("Active").unwrap_err();
        assert_eq!(e.to_string(), "membership status `Active`");
        assert!(Platform::from_stored("slack").is_err());
        assert!(OrganizerRole::from_stored("").is_err());
        assert!(LinkKind::from_stored("mian").is_err());
        assert!(InviteStatus::from_stored("canceled").is_err());
    }

    #[test]
    fn checkout_statuses_are_read_leniently() {
        assert_eq!(OrderStatus::parse(" Canceled "), Some(OrderStatus::Cancelled));
        assert_eq!(OrderStatus::parse("PAID"), Some(OrderStatus::Paid));
        assert_eq!(
            OrderStatus::parse("partially_refunded"),
            Some(OrderStatus::PartiallyRefunded)
        );
        assert_eq!(OrderStatus::parse("void"), None);
    }
}
