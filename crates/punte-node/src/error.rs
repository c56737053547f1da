//! Use-case errors, each mapping to one kind of answer.

use punte_model::ValidationErrors;
use punte_store::StoreError;

use crate::keys::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The input is well-formed but breaks a rule; names each offending field.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("data directory {0} is in use by another running node")]
    Locked(String),
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("stored {what} is unreadable: {source}")]
    Decode {
        what: String,
        source: serde_json::Error,
    },
    #[error("the organisation is not set up yet; run `punte init`")]
    NotInitialised,
}

impl From<ValidationErrors> for NodeError {
    fn from(value: ValidationErrors) -> Self {
        Self::Invalid(value)
    }
}

pub type Result<T, E = NodeError> = std::result::Result<T, E>;
