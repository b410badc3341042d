//! The domain's types in both databases: word enums as text, bound by their stored word
//! and read back strictly (an unknown word fails the read as
//! [`StoreError::Corrupt`](super::StoreError)); id newtypes as integers.

use super::sql::{Arg, Bind};
use crate::domain::{
    Channel, DigestKind, EntryKind, EventId, InviteId, InviteKind, InviteStatus, LinkId, LinkKind, MembershipId,
    MembershipStatus, OrderId, OrderStatus, OrgId, OrganizerRole, OutboxId, PayoutId, PersonId, Platform, RuleId, Shop,
    TicketTypeId, UnknownWord,
};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Type};

/// Implements sqlx's `Type` and `Decode` for both databases, `Encode` for SQLite and our
/// [`Bind`] by way of a stored form:
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

        impl Type<Postgres> for $t {
            fn type_info() -> PgTypeInfo {
                <$stored as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <$stored as Type<Postgres>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Postgres> for $t {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let $r = <$stored as Decode<'r, Postgres>>::decode(value)?;
                Ok($read)
            }
        }

        impl Bind for $t {
            fn arg(self) -> Arg {
                let $w = &self;
                <$stored as Bind>::arg($write)
            }
            fn null() -> Arg {
                <$stored as Bind>::null()
            }
        }

        impl Bind for &$t {
            fn arg(self) -> Arg {
                let $w = self;
                <$stored as Bind>::arg($write)
            }
            fn null() -> Arg {
                <$stored as Bind>::null()
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
