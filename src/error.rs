//! Error types: what a person is told (`UserError`) and what went wrong underneath.

use crate::store::StoreError;

/// A refusal or a mistake in the input. `Display` is exactly the text the person sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

impl UserError {
    /// A user error with the given message.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// A refusal as an `Err` value: `return refuse!("…{x}…")`, or the value of a match arm.
#[macro_export]
macro_rules! refuse {
    ($($arg:tt)*) => {
        Err($crate::error::CommandError::User($crate::error::UserError::new(format!($($arg)*))))
    };
}

/// Why a command did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad input or a permission refusal: shown to the person, nothing changed.
    #[error(transparent)]
    User(#[from] UserError),
    /// A failure on our side: logged; the person sees a generic apology.
    #[error("internal error: {0}")]
    Internal(#[from] StoreError),
    /// Writing an export failed.
    #[error("internal error: {0}")]
    Export(#[from] crate::export::ExportError),
    /// Something the code relies on did not hold (a bug): logged, nothing changed.
    #[error("internal error: {0}")]
    Invariant(String),
}

impl CommandError {
    /// The text a person sees for this error.
    pub fn user_message(&self) -> String {
        match self {
            CommandError::User(e) => e.to_string(),
            CommandError::Internal(_) | CommandError::Export(_) | CommandError::Invariant(_) => {
                "Something went wrong on our side. Nothing was changed; please try again in a minute.".into()
            }
        }
    }
}
