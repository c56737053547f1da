//! punte-log: the signed history of a Punte node, as a pure library (no I/O, clock or
//! randomness): the `punte-entry/v1` envelope, RFC 9162 Merkle tree hashing and proofs,
//! C2SP signed notes, checkpoints and `cosignature/v1`, and the offline audit.
//!
//! Byte layouts are specified in `docs/protocol.md` §2.

pub mod audit;
pub mod checkpoint;
pub mod entry;
pub mod hash;
pub mod note;
pub mod tree;

pub use audit::{
    ActivityBytes, AuditConfig, AuditEntry, AuditReport, AuditState, Finding, Severity, audit,
};
pub use checkpoint::{Checkpoint, VerifiedCheckpoint, open_checkpoint, origin_for_host};
pub use entry::{EntryBody, EntryKind, KeyRotation, Redaction, SignedEntry, VerifiedEntry};
pub use hash::{Hash, empty_root, leaf_hash, node_hash, sha256};
pub use note::{Note, NoteSignature, NoteSigner, NoteVerifier};
pub use tree::{CompactTree, subtree_root};
