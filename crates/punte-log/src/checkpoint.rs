//! C2SP tlog checkpoints (<https://c2sp.org/tlog-checkpoint>): parse, format, sign, open,
//! and the two checkpoint comparisons (consistency, equivocation).

use crate::hash::Hash;
use crate::note::{Note, NoteError, NoteSignature, NoteSigner, NoteVerifier, OpenedNote};
use crate::tree::{ProofError, verify_consistency};

/// The checkpoint origin of a Punte node: `HOST/punte-log`.
pub fn origin_for_host(host: &str) -> String {
    format!("{host}/punte-log")
}

/// Errors parsing or opening checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    #[error("checkpoint is not signed by the log key")]
    NotSignedByLog,
    #[error("checkpoint origin {found:?} is not the log origin {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

/// The body of a checkpoint: origin, tree size, root hash, extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Opaque, non-empty extension lines (without newlines). Punte writes none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: `origin\nsize\nbase64(root)\n` plus one line per extension.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parses note text strictly: non-empty origin, decimal size without leading zeros,
    /// padded base64 32-byte root, non-empty extension lines, final newline.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("missing final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::Malformed("bad origin line"));
        }
        let size = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing size line"))?;
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !size_ok {
            return Err(CheckpointError::Malformed("bad size line"));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| CheckpointError::Malformed("size too large"))?;
        let root = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing root line"))?;
        let root =
            Hash::from_base64(root).map_err(|_| CheckpointError::Malformed("bad root line"))?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() || line.chars().any(char::is_control) {
                return Err(CheckpointError::Malformed("empty extension line"));
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with the log key; returns the signed note text.
    pub fn sign(&self, log_key: &NoteSigner) -> Result<String, CheckpointError> {
        let text = self.to_text();
        let mut note = Note::new(text.clone())?;
        note.add_signature(log_key.sign(&text)?);
        Ok(note.to_text()?)
    }
}

/// Adds (staples) cosignature lines to a signed checkpoint note, replacing earlier lines of
/// the same key. Does not verify anything.
pub fn staple_cosignatures(
    signed_note: &[u8],
    cosignatures: &[NoteSignature],
) -> Result<String, CheckpointError> {
    let mut note = Note::parse(signed_note)?;
    for signature in cosignatures {
        note.add_signature(signature.clone());
    }
    Ok(note.to_text()?)
}

/// A checkpoint whose log signature verified; lists the witnesses whose cosignatures
/// verified too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Key name and timestamp of every verified `cosignature/v1`.
    pub cosigners: Vec<(String, u64)>,
    /// The opened note with all signature details.
    pub note: OpenedNote,
}

/// Opens a signed checkpoint: a signature by one of `log_keys` (all named after the
/// origin) must verify; cosignatures by `witness_keys` are verified when present; unknown
/// signatures are ignored. The origin must equal the log key name.
pub fn open_checkpoint(
    signed_note: &[u8],
    log_keys: &[NoteVerifier],
    witness_keys: &[NoteVerifier],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let mut verifiers: Vec<NoteVerifier> = log_keys.to_vec();
    verifiers.extend(witness_keys.iter().cloned());
    let note = Note::open(signed_note, &verifiers)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    let is_log_key = |name: &str, id: u32| {
        log_keys
            .iter()
            .any(|k| k.name() == name && k.key_id() == id)
    };
    let log_signature = note
        .verified
        .iter()
        .find(|v| is_log_key(&v.signature.name, v.signature.key_id))
        .ok_or(CheckpointError::NotSignedByLog)?;
    if log_signature.signature.name != checkpoint.origin {
        return Err(CheckpointError::WrongOrigin {
            expected: log_signature.signature.name.clone(),
            found: checkpoint.origin,
        });
    }
    let cosigners = note
        .verified
        .iter()
        .filter(|v| !is_log_key(&v.signature.name, v.signature.key_id))
        .filter_map(|v| v.timestamp.map(|t| (v.signature.name.clone(), t)))
        .collect();
    Ok(VerifiedCheckpoint {
        checkpoint,
        cosigners,
        note,
    })
}

/// Checks that `new` extends `old` using a consistency proof (same origin, RFC 9162
/// §2.1.4.2). A failure between two validly signed checkpoints is evidence of a fork.
pub fn check_consistency(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), ConsistencyError> {
    if old.origin != new.origin {
        return Err(ConsistencyError::DifferentOrigins);
    }
    verify_consistency(old.size, new.size, &old.root, &new.root, proof)
        .map_err(ConsistencyError::Proof)
}

/// Why two checkpoints were not shown consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyError {
    #[error("checkpoints have different origins")]
    DifferentOrigins,
    #[error("consistency proof failed: {0}")]
    Proof(ProofError),
}

/// Proof of equivocation: two checkpoints of one origin and size with different roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    pub origin: String,
    pub size: u64,
    pub roots: (Hash, Hash),
}

/// Returns the equivocation if `a` and `b` have the same origin and size but different
/// roots. (Both must have been opened with [`open_checkpoint`] for this to be evidence.)
pub fn detect_equivocation(a: &Checkpoint, b: &Checkpoint) -> Option<Equivocation> {
    (a.origin == b.origin && a.size == b.size && a.root != b.root).then(|| Equivocation {
        origin: a.origin.clone(),
        size: a.size,
        roots: (a.root, b.root),
    })
}
