//! Values bound to a statement of either database: the arguments, and the stored
//! times (`ts`, `ts_ms`) that SQLite keeps as RFC 3339 text and PostgreSQL as timestamptz.

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::Arguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use std::borrow::Cow;

/// A stored time's precision: whole seconds (most times) or milliseconds (the order
/// of a checkout's updates). SQLite keeps it as RFC 3339 text of that precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    Secs,
    Millis,
}

/// A time to store with whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct At(pub DateTime<Utc>);

/// A time to store with milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AtMs(pub DateTime<Utc>);

/// A time as stored, to whole seconds.
pub(crate) fn ts(t: DateTime<Utc>) -> At {
    At(t.trunc_subsecs(0))
}

/// A time as stored, to milliseconds.
pub(crate) fn ts_ms(t: DateTime<Utc>) -> AtMs {
    AtMs(t.trunc_subsecs(3))
}

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Time(Option<DateTime<Utc>>, Precision),
    Bytes(Option<Vec<u8>>),
}

/// A value that can be bound to a statement of either database.
pub(crate) trait Bind {
    fn arg(self) -> Arg;
    /// The NULL of this type (PostgreSQL types its NULLs).
    fn null() -> Arg
    where
        Self: Sized;
}

impl<T: Bind> Bind for Option<T> {
    fn arg(self) -> Arg {
        match self {
            Some(v) => v.arg(),
            None => T::null(),
        }
    }
    fn null() -> Arg {
        T::null()
    }
}

macro_rules! bind_by {
    ($variant:ident, |$v:ident: $t:ty| $e:expr) => {
        impl Bind for $t {
            fn arg(self) -> Arg {
                let $v = self;
                Arg::$variant(Some($e))
            }
            fn null() -> Arg {
                Arg::$variant(None)
            }
        }
    };
}

bind_by!(I64, |v: i64| v);
bind_by!(I64, |v: &i64| *v);
bind_by!(I64, |v: i32| v.into());
bind_by!(I64, |v: u32| v.into());
bind_by!(Bool, |v: bool| v);
bind_by!(Text, |v: String| v);
bind_by!(Text, |v: &String| v.clone());
bind_by!(Text, |v: &str| v.to_string());
bind_by!(Text, |v: &&str| v.to_string());
bind_by!(Text, |v: Cow<'_, str>| v.into_owned());
bind_by!(Bytes, |v: Vec<u8>| v);
bind_by!(Bytes, |v: &Vec<u8>| v.clone());
bind_by!(Bytes, |v: &[u8]| v.to_vec());

impl<T: Bind + Clone> Bind for &Option<T> {
    fn arg(self) -> Arg {
        self.clone().arg()
    }
    fn null() -> Arg {
        T::null()
    }
}

/// A stored time type, by value and by reference, at its precision.
macro_rules! bind_time {
    ($t:ty, $precision:ident) => {
        impl Bind for $t {
            fn arg(self) -> Arg {
                Arg::Time(Some(self.0), Precision::$precision)
            }
            fn null() -> Arg {
                Arg::Time(None, Precision::$precision)
            }
        }

        impl Bind for &$t {
            fn arg(self) -> Arg {
                (*self).arg()
            }
            fn null() -> Arg {
                <$t>::null()
            }
        }
    };
}

bind_time!(At, Secs);
bind_time!(AtMs, Millis);

/// The text of a time as SQLite stores it.
pub(crate) fn stored_text(t: DateTime<Utc>, p: Precision) -> String {
    match p {
        Precision::Secs => crate::clock::ts(t),
        Precision::Millis => crate::clock::ts_ms(t),
    }
}

/// The time PostgreSQL stores: cut to the precision SQLite's text keeps, so both compare alike.
fn stored_time(t: DateTime<Utc>, p: Precision) -> DateTime<Utc> {
    match p {
        Precision::Secs => t.trunc_subsecs(0),
        Precision::Millis => t.trunc_subsecs(3),
    }
}

impl Arg {
    pub(super) fn add_sqlite(self, a: &mut SqliteArguments) -> Result<(), sqlx::error::BoxDynError> {
        match self {
            Arg::I64(v) => a.add(v),
            Arg::Text(v) => a.add(v),
            Arg::Bool(v) => a.add(v),
            Arg::Time(v, p) => a.add(v.map(|t| stored_text(t, p))),
            Arg::Bytes(v) => a.add(v),
        }
    }

    pub(super) fn add_pg(self, a: &mut PgArguments) -> Result<(), sqlx::error::BoxDynError> {
        match self {
            Arg::I64(v) => a.add(v),
            Arg::Text(v) => a.add(v),
            Arg::Bool(v) => a.add(v),
            Arg::Time(v, p) => a.add(v.map(|t| stored_time(t, p))),
            Arg::Bytes(v) => a.add(v),
        }
    }
}
