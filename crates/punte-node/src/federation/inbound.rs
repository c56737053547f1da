//! What the inbox works with: the request as received, a verified activity ready to apply,
//! what applying it came to, and why a request was refused. Shared by the inbox
//! (`inbox.rs`) and what it calls to apply (`adaptations.rs`, `replica.rs`).

use std::sync::Arc;

use serde_json::Value;

use punte_protocol::activity::{ActivityEnvelope, ActivityError};
use punte_protocol::httpsig::HttpSigError;

use super::KnownActor;
use crate::error::NodeError;
use crate::federation::membership::MembershipRefusal;

/// Largest accepted inbox body (docs/protocol.md §5.4).
pub const MAX_INBOX_BYTES: usize = 1024 * 1024;

/// A request to the inbox as received.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    pub method: String,
    /// The absolute URI the sender addressed (`BASE` + path and query).
    pub target_uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why the inbox refused a request. Each maps to one status; nothing was written (but the
/// evidence of a [`InboxRefusal::Fork`]).
#[derive(Debug, thiserror::Error)]
pub enum InboxRefusal {
    #[error("body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("body is not a JSON object: {0}")]
    NotJson(String),
    #[error("content type {0:?} is not application/activity+json or application/ld+json")]
    UnsupportedMediaType(String),
    #[error("activity has no {0}")]
    Missing(&'static str),
    #[error("the request is not signed")]
    Unsigned,
    #[error("http signature: {0}")]
    Signature(HttpSigError),
    #[error("the body does not match its digest: {0}")]
    Digest(HttpSigError),
    #[error("cannot fetch the activity's actor {actor}: {reason}")]
    ActorUnavailable { actor: String, reason: String },
    #[error("key {key_id} is not a key of the activity's actor {actor}")]
    KeyNotActors { key_id: String, actor: String },
    #[error("proof: {0}")]
    Proof(String),
    #[error("activities from Punte nodes must carry an eddsa-jcs-2022 proof")]
    ProofRequired,
    #[error("{0}")]
    Malformed(ActivityError),
    #[error("{0}")]
    Forbidden(String),
    /// Members-only mode refused the peer (`not-a-member`, `member-key-mismatch`,
    /// `membership-unknown`).
    #[error("{0}")]
    Membership(MembershipRefusal),
    #[error("{0}")]
    Unprocessable(String),
    /// The sender's signed history forked (evidence recorded here); nothing of its log is
    /// applied any more.
    #[error("{0}")]
    Fork(String),
    /// This node refuses to append (its append guard is set): nothing is taken in until the
    /// operator has dealt with it; senders retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl InboxRefusal {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::NotJson(_) | Self::Missing(_) | Self::Digest(_) | Self::Malformed(_) => 400,
            Self::Unsigned | Self::Signature(_) | Self::Proof(_) | Self::ProofRequired => 401,
            Self::ActorUnavailable { .. } => 401,
            Self::KeyNotActors { .. } | Self::Forbidden(_) => 403,
            Self::Membership(MembershipRefusal::Internal(_)) => 500,
            Self::Membership(_) => 403,
            Self::Unprocessable(_) => 422,
            Self::Fork(_) => 409,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// A short machine-readable name for the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too-large",
            Self::NotJson(_) => "not-json",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Missing(_) => "missing-member",
            Self::Unsigned => "unsigned",
            Self::Signature(HttpSigError::OutsideWindow { .. } | HttpSigError::Expired(_)) => {
                "signature-expired"
            }
            Self::Signature(_) => "bad-signature",
            Self::Digest(_) => "digest-mismatch",
            Self::ActorUnavailable { .. } => "actor-unavailable",
            Self::KeyNotActors { .. } => "key-not-actors",
            Self::Proof(_) => "bad-proof",
            Self::ProofRequired => "proof-required",
            Self::Malformed(_) => "malformed-activity",
            Self::Forbidden(_) => "forbidden",
            Self::Membership(r) => r.code(),
            Self::Unprocessable(_) => "unprocessable",
            Self::Fork(_) => "log-fork",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<NodeError> for InboxRefusal {
    fn from(e: NodeError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// A verified activity, ready to apply.
#[derive(Debug, Clone)]
pub struct Verified {
    pub id: String,
    pub actor: Arc<KnownActor>,
    pub kind: String,
    /// The parsed envelope; `None` for types the node records but does not act on.
    pub envelope: Option<ActivityEnvelope>,
    pub value: Value,
    pub body: Vec<u8>,
    /// JSON evidence (signature key, scheme, proof method), serialised by the verifier so
    /// the inbox writer thread only stores it.
    pub evidence: String,
    /// The `Punte-Log-Entry` and `Punte-Checkpoint` headers, decoded.
    pub log_entry: Option<Vec<u8>>,
    pub checkpoint: Option<Vec<u8>>,
}

/// What the inbox did with an activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub activity_id: String,
    /// False when the id was received before (nothing changed).
    pub new: bool,
    pub outcome: String,
}

/// Why applying stopped: a refusal of the activity, a fork of the sender's log (refused,
/// and its evidence recorded outside the activity's rolled-back savepoint), or a node
/// failure.
#[derive(Debug)]
pub(crate) enum Applied {
    Refused(InboxRefusal),
    Fork(Box<super::forks::ForkSeen>),
    Node(NodeError),
}

impl From<NodeError> for Applied {
    fn from(e: NodeError) -> Self {
        Self::Node(e)
    }
}

impl From<punte_store::StoreError> for Applied {
    fn from(e: punte_store::StoreError) -> Self {
        Self::Node(e.into())
    }
}
