//! Typed command arguments: the checked strings of an [`Invocation`] read into domain
//! values (an address, an event reference, money in minor units, a local time, a
//! choice), each refusal naming the argument.

use super::Invocation;
use super::spec::CommandSpec;
use crate::error::UserError;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// A command's checked arguments, read by name into typed values.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    spec: &'static CommandSpec,
    inv: &'a Invocation,
}

impl<'a> Args<'a> {
    /// The arguments of `inv`, declared by `spec`.
    pub fn new(spec: &'static CommandSpec, inv: &'a Invocation) -> Self {
        Args { spec, inv }
    }

    fn raw(&self, name: &str) -> Result<Option<&'a str>, UserError> {
        if !self.spec.args.iter().any(|a| a.name == name) {
            // A misspelt name in a command's own code: its example test catches it.
            return Err(UserError::new(format!(
                "`{}` has no argument {name}. Usage: {}",
                self.spec.name,
                self.spec.usage()
            )));
        }
        Ok(self.inv.get(name))
    }

    /// A required argument (parsing refused the line without it).
    pub fn req<T: FromArg>(&self, name: &str) -> Result<T, UserError> {
        match self.raw(name)? {
            Some(v) => T::from_arg(v).map_err(|why| UserError::new(format!("{name}: {why}"))),
            None => Err(UserError::new(format!(
                "Missing {name}. Usage: {} — for example: {}",
                self.spec.usage(),
                self.spec.example
            ))),
        }
    }

    /// An optional argument.
    pub fn opt<T: FromArg>(&self, name: &str) -> Result<Option<T>, UserError> {
        self.raw(name)?
            .map(|v| T::from_arg(v).map_err(|why| UserError::new(format!("{name}: {why}"))))
            .transpose()
    }
}

/// A value read from an argument's checked text.
pub trait FromArg: Sized {
    fn from_arg(s: &str) -> Result<Self, String>;
}

impl FromArg for String {
    fn from_arg(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl FromArg for $name {
            fn from_arg(s: &str) -> Result<Self, String> {
                Ok($name(s.to_string()))
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// An email address, lowercased by parsing.
    Email
);
text_newtype!(
    /// An event named by its short name or `<organization>/<event>`.
    EventRef
);
text_newtype!(
    /// A new short name: lowercase letters, digits and dashes.
    Slug
);
text_newtype!(
    /// A code from an invite or a verification mail, normalized.
    Code
);
text_newtype!(
    /// An http(s) address.
    WebUrl
);

/// An amount of money as typed, in thousandths (`25.50` → 25500): its currency, and so
/// its minor unit, is known once the command has found its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub i64);

impl Money {
    /// The amount in `currency`'s minor units (ISO 4217 decimals), or the answer to give
    /// when it has more decimals than the currency (`2.5 JPY`).
    pub fn minor_in(self, currency: &str) -> Result<i64, UserError> {
        crate::money::minor_units_in(self.0, 3, currency).ok_or_else(|| {
            UserError::new(match crate::money::currency_decimals(currency) {
                0 => format!("{currency} amounts have no decimals: write {}.", self.0 / 1000),
                d => format!("{currency} amounts have at most {d} decimals."),
            })
        })
    }
}

impl std::fmt::Display for Money {
    /// As a person would type it back: `25.50`, `1.125`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac % 10 == 0 {
            write!(f, "{whole}.{:02}", frac / 10)
        } else {
            write!(f, "{whole}.{frac:03}")
        }
    }
}

impl FromArg for Money {
    fn from_arg(s: &str) -> Result<Self, String> {
        // Parsing stored the price in thousandths already.
        s.parse().map(Money).map_err(|_| format!("`{s}` is not an amount"))
    }
}

impl FromArg for u32 {
    fn from_arg(s: &str) -> Result<Self, String> {
        // Parsing checked the declared range already.
        s.parse().map_err(|_| format!("`{s}` is not a whole number"))
    }
}

/// A date and time as written: RFC 3339, or a wall-clock time read in the
/// organization's zone once it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    Exact(DateTime<Utc>),
    Local(NaiveDateTime),
}

impl When {
    /// Reads `2027-06-01 18:00`, `2027-06-01T18:00:00`, `2027-06-01` or RFC 3339, in the
    /// years 2000 to 9999 (chrono reads signed years up to 262142, where adding a few
    /// days overflows).
    pub fn parse(s: &str) -> Option<When> {
        use chrono::Datelike;
        let year = |w: &When| match w {
            When::Exact(t) => t.year(),
            When::Local(n) => n.year(),
        };
        Self::parse_any_year(s).filter(|w| (2000..=9999).contains(&year(w)))
    }

    fn parse_any_year(s: &str) -> Option<When> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(When::Exact(t.with_timezone(&Utc)));
        }
        let s = s.trim().replace('T', " ");
        ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
            .map(When::Local)
    }

    /// The instant, reading a wall-clock time in `tz_name`; `None` for a time that
    /// does not exist there (skipped by a DST change) or an unknown zone.
    pub fn resolve(&self, tz_name: &str) -> Option<DateTime<Utc>> {
        match self {
            When::Exact(t) => Some(*t),
            When::Local(naive) => {
                let tz: chrono_tz::Tz = tz_name.parse().ok()?;
                tz.from_local_datetime(naive).earliest().map(|t| t.with_timezone(&Utc))
            }
        }
    }
}

impl FromArg for When {
    fn from_arg(s: &str) -> Result<Self, String> {
        When::parse(s).ok_or_else(|| format!("`{s}` is not a date and time like 2027-06-01 18:00"))
    }
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnOff(pub bool);

impl FromArg for OnOff {
    fn from_arg(s: &str) -> Result<Self, String> {
        match s {
            "on" => Ok(OnOff(true)),
            "off" => Ok(OnOff(false)),
            other => Err(format!("`{other}` is neither on nor off")),
        }
    }
}

/// Declares a choice argument as an enum: each variant with the word that names it.
#[macro_export]
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The words, in declaration order (the argument's declared choices).
            pub const WORDS: &'static [&'static str] = &[$($word),+];
        }

        impl $crate::commands::args::FromArg for $name {
            fn from_arg(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!("`{other}` is not one of: {}", Self::WORDS.join(", "))),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_written_and_resolved_in_the_zone() {
        let local = When::parse("2027-06-01 18:00").unwrap();
        assert_eq!(
            local.resolve("Europe/Berlin").unwrap().to_rfc3339(),
            "2027-06-01T16:00:00+00:00"
        );
        let exact = When::parse("2027-06-01T18:00:00Z").unwrap();
        assert_eq!(
            exact.resolve("Europe/Berlin").unwrap().to_rfc3339(),
            "2027-06-01T18:00:00+00:00"
        );
        assert_eq!(
            When::parse("2027-06-01"),
            Some(When::Local(
                chrono::NaiveDate::from_ymd_opt(2027, 6, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
            ))
        );
        assert!(When::parse("next friday").is_none());
        assert!(When::parse("2027-13-01 10:00").is_none());
        // 02:30 on the night clocks go forward does not exist in Berlin.
        assert!(
            When::parse("2027-03-28 02:30")
                .unwrap()
                .resolve("Europe/Berlin")
                .is_none()
        );
    }

    crate::choice!(Field { Name = "name", Price = "price" });

    #[test]
    fn choices_read_their_words_only() {
        assert_eq!(Field::from_arg("price"), Ok(Field::Price));
        assert!(Field::from_arg("colour").unwrap_err().contains("name, price"));
        assert_eq!(OnOff::from_arg("off"), Ok(OnOff(false)));
        assert_eq!(Money::from_arg("4900"), Ok(Money(4900)));
    }
}
