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
    /// The request names a part of the log that does not exist (maps to 400).
    #[error("{0}")]
    LogRange(String),
    #[error("base url {0:?} has no host to name the log after")]
    BaseUrl(String),
    #[error(
        "the identity key file does not match the current key of the log's key history; restore keys/identity.ed25519.pem"
    )]
    KeyMismatch,
    #[error("signed history: {0}")]
    Log(String),
    /// A stored document is not what the signed history says (edited in the database with
    /// no entry, or never published): it is not served.
    #[error("{what} is not what the signed history says: {why}")]
    Unlogged { what: String, why: String },
    /// The entry that published a document had its bytes erased: it is not served.
    #[error("{what} was erased from the signed history ({reason})")]
    Erased { what: String, reason: String },
    #[error("cannot build a log entry: {0}")]
    Entry(#[from] punte_log::entry::EntryError),
    #[error("cannot sign a checkpoint: {0}")]
    Checkpoint(#[from] punte_log::checkpoint::CheckpointError),
    #[error("cannot sign an activity: {0}")]
    Proof(#[from] punte_protocol::proof::ProofError),
    #[error("the base url cannot name this node's objects: {0}")]
    Url(#[from] punte_protocol::urls::UrlError),
    #[error("cannot canonicalise an activity: {0}")]
    Canonical(#[from] punte_protocol::jcs::JcsError),
}

impl From<ValidationErrors> for NodeError {
    fn from(value: ValidationErrors) -> Self {
        Self::Invalid(value)
    }
}

pub type Result<T, E = NodeError> = std::result::Result<T, E>;
