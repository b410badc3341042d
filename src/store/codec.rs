//! The domain's types in SQLite: word enums as text, bound by their stored word and read
//! back strictly (an unknown word fails the read as [`StoreError::Corrupt`](super::StoreError));
//! id newtypes as integers.

use crate::domain::{
    Channel, DigestKind, EventId, InviteId, InviteKind, InviteStatus, LinkId, LinkKind, MembershipId, MembershipStatus,
    OrderId, OrderStatus, OrgId, OrganizerRole, OutboxId, PersonId, Platform, TicketTypeId, UnknownWord,
};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Type};

macro_rules! stored_as_text {
    ($($t:ty),+ $(,)?) => {$(
        impl Type<Sqlite> for $t {
            fn type_info() -> SqliteTypeInfo {
                <str as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <str as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $t {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                let word = <&str as Decode<'r, Sqlite>>::decode(value)?;
                Ok(<$t>::from_stored(word)?)
            }
        }

        impl Encode<'_, Sqlite> for $t {
            fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'_, Sqlite>>::encode_by_ref(&self.as_str(), buf)
            }
        }
    )+};
}

stored_as_text!(
    Channel,
    DigestKind,
    InviteKind,
    InviteStatus,
    LinkKind,
    MembershipStatus,
    OrderStatus,
    OrganizerRole,
    Platform
);

macro_rules! stored_as_integer {
    ($($t:ident),+ $(,)?) => {$(
        impl Type<Sqlite> for $t {
            fn type_info() -> SqliteTypeInfo {
                <i64 as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <i64 as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $t {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok($t(<i64 as Decode<'r, Sqlite>>::decode(value)?))
            }
        }

        impl Encode<'_, Sqlite> for $t {
            fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'_, Sqlite>>::encode_by_ref(&self.0, buf)
            }
        }
    )+};
}

stored_as_integer!(
    EventId,
    InviteId,
    LinkId,
    OutboxId,
    MembershipId,
    OrderId,
    OrgId,
    PersonId,
    TicketTypeId
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
