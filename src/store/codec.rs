//! The domain's types in SQLite: word enums as text, bound by their stored word and read
//! back strictly (an unknown word fails the read as [`StoreError::Corrupt`](super::StoreError));
//! id newtypes as integers.

use crate::domain::{
    Channel, DigestKind, EntryKind, EventId, InviteId, InviteKind, InviteStatus, LinkId, LinkKind, MembershipId,
    MembershipStatus, OrderId, OrderStatus, OrgId, OrganizerRole, OutboxId, PayoutId, PersonId, Platform, RuleId, Shop,
    TicketTypeId, UnknownWord,
};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Type};

/// Implements sqlx's `Type`, `Decode` and `Encode` for SQLite by way of a stored form:
/// `$stored` is the column's Rust type, `$read` makes the value from it (`?` allowed),
/// `$write` gives the stored form of `self`.
macro_rules! stored_as {
    ($stored:ty, |$r:ident| $read:expr, |$w:ident| $write:expr; $($t:ident),+ $(,)?) => {$(
        impl Type<Sqlite> for $t {
            fn type_info() -> SqliteTypeInfo {
                <$stored as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <$stored as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $t {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                let $r = <$stored as Decode<'r, Sqlite>>::decode(value)?;
                Ok($read)
            }
        }

        impl Encode<'_, Sqlite> for $t {
            fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                let $w = self;
                <$stored as Encode<'_, Sqlite>>::encode_by_ref(&$write, buf)
            }
        }
    )+};
}

// Words as text, read strictly.
stored_as!(&str, |word| Self::from_stored(word)?, |v| v.as_str();
    Channel, DigestKind, EntryKind, InviteKind, InviteStatus, LinkKind, MembershipStatus, OrderStatus, OrganizerRole, Platform, Shop
);

// Ids as integers.
stored_as!(i64, |n| Self(n), |v| v.0;
    EventId, InviteId, LinkId, OutboxId, MembershipId, OrderId, OrgId, PayoutId, PersonId, RuleId, TicketTypeId
);

/// The unknown word behind a failed read, if that is why it failed.
pub(super) fn unknown_word(e: &sqlx::Error) -> Option<&UnknownWord> {
    match e {
        sqlx::Error::ColumnDecode { source, .. } | sqlx::Error::Decode(source) => source.downcast_ref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
