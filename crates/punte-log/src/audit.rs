//! Offline audit of a whole log: signatures (batch, then strict to name the bad ones), the
//! one-pass tree, `prev_root` chain, key history, activity hashes, redactions, domain rules
//! and checkpoints. Pure: the caller fetches bytes and passes them in.

use std::collections::{BTreeMap, HashMap, HashSet};

use ed25519_dalek::{Signature, VerifyingKey, verify_batch};

use crate::checkpoint::{Checkpoint, open_checkpoint};
use crate::entry::{
    EntryError, EntryKind, KeyRotation, PUBLIC_KEY_LEN, Redaction, SIGNATURE_LEN, SignedEntry,
};
use crate::hash::{Hash, leaf_hash, sha256};
use crate::note::{KeyType, Note, NoteVerifier};
use crate::tree::CompactTree;

/// Signatures per `verify_batch` call; a failing batch is re-checked one by one.
pub const BATCH_SIZE: usize = 256;

/// The activity bytes stored beside an entry, or their absence after erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityBytes<'a> {
    /// The exact bytes the entry's `activity_hash` commits to.
    Present(&'a [u8]),
    /// The bytes were erased (must be covered by a redaction entry).
    Erased,
}

/// One log entry as served: its encoded bytes and its activity bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditEntry<'a> {
    pub entry: &'a [u8],
    pub activity: ActivityBytes<'a>,
}

/// Where an audit starts: the empty log and the first (trusted) key, or a state saved by
/// an earlier audit ([`AuditReport::end_state`]) for incremental audits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditState {
    /// The tree of all entries before the first audited one.
    pub tree: CompactTree,
    /// The key valid for the next entry.
    pub current_key: VerifyingKey,
    /// Largest timestamp seen so far, if any.
    pub max_timestamp_ms: Option<i64>,
}

impl AuditState {
    /// The start of a log signed first by `first_key`.
    pub fn genesis(first_key: VerifyingKey) -> AuditState {
        AuditState {
            tree: CompactTree::new(),
            current_key: first_key,
            max_timestamp_ms: None,
        }
    }
}

/// Everything the audit trusts or is told, besides the entries.
#[derive(Debug, Clone)]
pub struct AuditConfig<'a> {
    /// Expected origin of entries and checkpoints, e.g. `example.org/punte-log`.
    pub origin: &'a str,
    /// Starting state (the genesis key for a full audit).
    pub start: AuditState,
    /// Extra checkpoint verifier keys. Every key of the recomputed key history is also
    /// accepted as a checkpoint key under the name `origin`.
    pub log_keys: &'a [NoteVerifier],
    /// Witness cosignature keys (`cosignature/v1`).
    pub witness_keys: &'a [NoteVerifier],
    /// Allowed backwards step of entry timestamps, in milliseconds.
    pub timestamp_tolerance_ms: i64,
    /// Worker threads for decoding and signature checks (0 and 1 mean no extra threads).
    pub parallelism: usize,
}

/// One observation of the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The entry bytes at `position` (0-based in the input) could not be decoded.
    Undecodable { position: usize, error: EntryError },
    /// The entry names another origin.
    WrongOrigin { index: u64, origin: String },
    /// Indexes `from..=to` are absent from the log.
    Missing { from: u64, to: u64 },
    /// The entry at `position` is out of index order.
    Reordered { position: usize, index: u64 },
    /// An index appears more than once.
    DuplicateIndex { index: u64 },
    /// The signature does not verify (strict Ed25519) under the key valid at this index.
    BadSignature { index: u64 },
    /// The entry is signed by a key that is not the one valid at this index.
    UnknownKey {
        index: u64,
        key: [u8; PUBLIC_KEY_LEN],
    },
    /// A key is weak (small order) and cannot be trusted.
    WeakKey { key: [u8; PUBLIC_KEY_LEN] },
    /// `prev_root` of entries `index..=through` differ from the recomputed roots.
    PrevRootMismatch { index: u64, through: u64 },
    /// The activity bytes do not hash to the entry's `activity_hash`.
    Tampered { index: u64 },
    /// The activity bytes were erased without any redaction entry covering them.
    ErasedWithoutRedaction { index: u64 },
    /// Info: the activity bytes were erased and the redaction entry says why.
    Redacted {
        index: u64,
        reason: String,
        redaction_index: u64,
    },
    /// A redaction entry is malformed or names a non-earlier index.
    InvalidRedaction { index: u64 },
    /// The bytes of membership entry `index` (kind 4) were erased under redaction entry
    /// `redaction_index`: membership entries cannot be redacted.
    RedactedMembership { index: u64, redaction_index: u64 },
    /// Info: the key changed at this entry (the new key signs the following entries).
    KeyRotated {
        index: u64,
        new_key: [u8; PUBLIC_KEY_LEN],
    },
    /// A key rotation entry is malformed, unsigned by the current key, or erased.
    InvalidKeyRotation { index: u64 },
    /// The activity id was already used by an earlier entry.
    DuplicateActivityId {
        index: u64,
        first_index: u64,
        activity_id: String,
    },
    /// The timestamp goes back more than the tolerance.
    TimestampRegression {
        index: u64,
        previous_ms: i64,
        timestamp_ms: i64,
    },
    /// A checkpoint could not be opened (syntax, log signature, cosignature).
    CheckpointInvalid { position: usize, error: String },
    /// A checkpoint root differs from the recomputed root at its size.
    CheckpointMismatch {
        size: u64,
        checkpoint_root: Hash,
        log_root: Hash,
    },
    /// A checkpoint is larger than the log: entries were removed from the end.
    CheckpointBeyondLog { size: u64, log_size: u64 },
    /// Two valid checkpoints of the same size disagree: the log equivocated.
    Equivocation { size: u64, roots: (Hash, Hash) },
}

/// Whether a finding is a problem or information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Error,
}

impl Finding {
    /// Errors make an audit unclean; `Redacted` and `KeyRotated` are information.
    pub fn severity(&self) -> Severity {
        match self {
            Finding::Redacted { .. } | Finding::KeyRotated { .. } => Severity::Info,
            _ => Severity::Error,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Undecodable { position, error } => {
                write!(f, "entry at position {position} cannot be decoded: {error}")
            }
            Finding::WrongOrigin { index, origin } => {
                write!(f, "entry {index} has origin {origin:?}")
            }
            Finding::Missing { from, to } => write!(f, "entries {from}..={to} are missing"),
            Finding::Reordered { position, index } => {
                write!(f, "entry {index} is out of order at position {position}")
            }
            Finding::DuplicateIndex { index } => write!(f, "index {index} appears twice"),
            Finding::BadSignature { index } => write!(f, "entry {index} has a bad signature"),
            Finding::UnknownKey { index, .. } => {
                write!(
                    f,
                    "entry {index} is signed by a key not valid at that index"
                )
            }
            Finding::WeakKey { .. } => write!(f, "a key in the key history is weak"),
            Finding::PrevRootMismatch { index, through } => {
                write!(
                    f,
                    "prev_root of entries {index}..={through} does not match the tree"
                )
            }
            Finding::Tampered { index } => {
                write!(f, "activity bytes of entry {index} do not match its hash")
            }
            Finding::ErasedWithoutRedaction { index } => {
                write!(
                    f,
                    "activity bytes of entry {index} are missing without redaction"
                )
            }
            Finding::Redacted {
                index,
                reason,
                redaction_index,
            } => write!(
                f,
                "entry {index} was redacted by entry {redaction_index}: {reason}"
            ),
            Finding::InvalidRedaction { index } => write!(f, "redaction entry {index} is invalid"),
            Finding::RedactedMembership {
                index,
                redaction_index,
            } => write!(
                f,
                "membership entry {index} was erased by redaction entry {redaction_index}; membership entries cannot be redacted"
            ),
            Finding::KeyRotated { index, .. } => write!(f, "key rotated at entry {index}"),
            Finding::InvalidKeyRotation { index } => {
                write!(f, "key rotation entry {index} is invalid")
            }
            Finding::DuplicateActivityId {
                index,
                first_index,
                activity_id,
            } => write!(
                f,
                "entry {index} reuses activity id {activity_id} of entry {first_index}"
            ),
            Finding::TimestampRegression {
                index,
                previous_ms,
                timestamp_ms,
            } => write!(
                f,
                "entry {index} timestamp {timestamp_ms} goes back from {previous_ms}"
            ),
            Finding::CheckpointInvalid { position, error } => {
                write!(f, "checkpoint {position} is invalid: {error}")
            }
            Finding::CheckpointMismatch { size, .. } => {
                write!(f, "checkpoint of size {size} does not match the log")
            }
            Finding::CheckpointBeyondLog { size, log_size } => write!(
                f,
                "checkpoint of size {size} is beyond the log of {log_size} entries"
            ),
            Finding::Equivocation { size, .. } => {
                write!(
                    f,
                    "two signed checkpoints of size {size} have different roots"
                )
            }
        }
    }
}

/// A key of the key history and the first index it signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPeriod {
    pub key: VerifyingKey,
    pub from_index: u64,
}

/// A checkpoint that opened and was compared with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Witness name and cosignature timestamp of every verified cosignature.
    pub cosigners: Vec<(String, u64)>,
    /// Whether its root equals the recomputed root at its size.
    pub matches_log: bool,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Number of entries audited.
    pub entries: u64,
    /// Tree size and root after the last entry.
    pub size: u64,
    pub root: Hash,
    /// Key history, oldest first.
    pub keys: Vec<KeyPeriod>,
    pub checkpoints: Vec<CheckedCheckpoint>,
    pub findings: Vec<Finding>,
    /// State to resume an incremental audit from.
    pub end_state: AuditState,
}

impl AuditReport {
    /// True when no finding has error severity.
    pub fn is_clean(&self) -> bool {
        self.findings.iter().all(|f| f.severity() == Severity::Info)
    }

    /// The error findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity() == Severity::Error)
    }
}

/// Result of the parallel decode phase for one entry.
struct Decoded {
    entry: Result<SignedEntry, EntryError>,
    leaf: Hash,
    /// `None` when erased; `Some(true)` when the bytes match the hash.
    activity_matches: Option<bool>,
}

fn decode_one(input: &AuditEntry<'_>) -> Decoded {
    let entry = SignedEntry::decode(input.entry);
    let activity_matches = match input.activity {
        ActivityBytes::Erased => None,
        ActivityBytes::Present(bytes) => Some(match &entry {
            Ok(e) => sha256(bytes) == e.body.activity_hash,
            Err(_) => false,
        }),
    };
    Decoded {
        entry,
        leaf: leaf_hash(input.entry),
        activity_matches,
    }
}

/// Runs `work` over `items` in `parallelism` contiguous chunks and concatenates results.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    parallelism: usize,
    work: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    let threads = parallelism.max(1);
    if threads == 1 || items.len() < 2 * BATCH_SIZE {
        return work(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| work(part)))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            match handle.join() {
                Ok(mut part) => out.append(&mut part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// A signature to check in the batch phase.
struct SignatureJob<'a> {
    index: u64,
    message: &'a [u8],
    signature: Signature,
    key: VerifyingKey,
}

/// Batch-verifies `jobs` in groups of [`BATCH_SIZE`]; a failing group is re-verified with
/// strict single verification. Returns the indexes whose signatures fail.
fn bad_signatures(jobs: &[SignatureJob<'_>]) -> Vec<u64> {
    let mut bad = Vec::new();
    for group in jobs.chunks(BATCH_SIZE) {
        let messages: Vec<&[u8]> = group.iter().map(|j| j.message).collect();
        let signatures: Vec<Signature> = group.iter().map(|j| j.signature).collect();
        let keys: Vec<VerifyingKey> = group.iter().map(|j| j.key).collect();
        if verify_batch(&messages, &signatures, &keys).is_ok() {
            continue;
        }
        for job in group {
            if job.key.verify_strict(job.message, &job.signature).is_err() {
                bad.push(job.index);
            }
        }
    }
    bad
}

/// Audits `entries` (as served, in log order) and `checkpoints` (signed notes).
pub fn audit(
    config: &AuditConfig<'_>,
    entries: &[AuditEntry<'_>],
    checkpoints: &[&[u8]],
) -> AuditReport {
    let mut findings = Vec::new();

    // Phase 1 (parallel): decode, leaf hashes, activity hashes.
    let decoded = parallel_map(entries, config.parallelism, |part| {
        part.iter().map(decode_one).collect()
    });

    // Checkpoint sizes we need roots for (parsed without verification; verified below).
    let mut wanted_sizes: HashSet<u64> = HashSet::new();
    for bytes in checkpoints {
        if let Ok(note) = Note::parse(bytes)
            && let Ok(checkpoint) = Checkpoint::parse(&note.text)
        {
            wanted_sizes.insert(checkpoint.size);
        }
    }

    // Phase 2 (one pass): order, tree, prev_root, keys, activity, domain rules.
    let present: HashSet<u64> = decoded
        .iter()
        .filter_map(|d| d.entry.as_ref().ok().map(|e| e.body.index))
        .collect();
    let mut state = config.start.clone();
    let mut keys = vec![KeyPeriod {
        key: state.current_key,
        from_index: state.tree.size(),
    }];
    if state.current_key.is_weak() {
        findings.push(Finding::WeakKey {
            key: state.current_key.to_bytes(),
        });
    }
    let mut roots_at: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut expected_index = state.tree.size();
    let mut seen_indexes: HashSet<u64> = HashSet::new();
    let mut activity_ids: HashMap<&str, u64> = HashMap::new();
    let mut redactions: HashMap<u64, (String, u64)> = HashMap::new();
    let mut erased: Vec<(u64, EntryKind)> = Vec::new();
    let mut prev_root_run: Option<(u64, u64)> = None;
    let mut jobs: Vec<SignatureJob<'_>> = Vec::with_capacity(entries.len());

    let capture_root = |tree: &CompactTree, roots_at: &mut BTreeMap<u64, Hash>| {
        if wanted_sizes.contains(&tree.size()) {
            roots_at.insert(tree.size(), tree.root());
        }
    };
    capture_root(&state.tree, &mut roots_at);

    for (position, (input, item)) in entries.iter().zip(decoded.iter()).enumerate() {
        let entry = match &item.entry {
            Ok(entry) => entry,
            Err(error) => {
                findings.push(Finding::Undecodable {
                    position,
                    error: error.clone(),
                });
                state.tree.append(item.leaf);
                expected_index += 1;
                capture_root(&state.tree, &mut roots_at);
                continue;
            }
        };
        let body = &entry.body;
        let index = body.index;

        // Order.
        if !seen_indexes.insert(index) {
            findings.push(Finding::DuplicateIndex { index });
        } else if index > expected_index {
            if present.contains(&expected_index) {
                findings.push(Finding::Reordered { position, index });
            } else {
                let to = (expected_index..index)
                    .find(|i| present.contains(i))
                    .map_or(index - 1, |i| i - 1);
                findings.push(Finding::Missing {
                    from: expected_index,
                    to,
                });
            }
            expected_index = index + 1;
        } else if index < expected_index {
            findings.push(Finding::Reordered { position, index });
        } else {
            expected_index = index + 1;
        }

        if body.origin != config.origin {
            findings.push(Finding::WrongOrigin {
                index,
                origin: body.origin.clone(),
            });
        }

        // prev_root: root of everything before this entry.
        if body.prev_root != state.tree.root() {
            prev_root_run = match prev_root_run {
                Some((first, last)) if last + 1 == index => Some((first, index)),
                Some((first, last)) => {
                    findings.push(Finding::PrevRootMismatch {
                        index: first,
                        through: last,
                    });
                    Some((index, index))
                }
                None => Some((index, index)),
            };
        } else if let Some((first, last)) = prev_root_run.take() {
            findings.push(Finding::PrevRootMismatch {
                index: first,
                through: last,
            });
        }
        state.tree.append(item.leaf);
        capture_root(&state.tree, &mut roots_at);

        // Activity bytes.
        let activity = match (item.activity_matches, input.activity) {
            (Some(true), ActivityBytes::Present(bytes)) => Some(bytes),
            (Some(_), _) => {
                findings.push(Finding::Tampered { index });
                None
            }
            (None, _) => {
                erased.push((index, body.kind));
                None
            }
        };

        // Timestamps.
        if let Some(max) = state.max_timestamp_ms
            && body.timestamp_ms < max.saturating_sub(config.timestamp_tolerance_ms)
        {
            findings.push(Finding::TimestampRegression {
                index,
                previous_ms: max,
                timestamp_ms: body.timestamp_ms,
            });
        }
        state.max_timestamp_ms = Some(
            state
                .max_timestamp_ms
                .map_or(body.timestamp_ms, |m| m.max(body.timestamp_ms)),
        );

        // Unique activity ids.
        if let Some(&first_index) = activity_ids.get(body.activity_id.as_str()) {
            findings.push(Finding::DuplicateActivityId {
                index,
                first_index,
                activity_id: body.activity_id.clone(),
            });
        } else {
            activity_ids.insert(body.activity_id.as_str(), index);
        }

        // Key: the entry must name the key valid here.
        if body.signer != state.current_key.to_bytes() {
            findings.push(Finding::UnknownKey {
                index,
                key: body.signer,
            });
            continue;
        }
        let message = input
            .entry
            .get(..input.entry.len().saturating_sub(SIGNATURE_LEN));
        let Some(message) = message else { continue };
        let signature = Signature::from_bytes(&entry.signature);

        match body.kind {
            EntryKind::KeyRotation => {
                // Rare: verify strictly now, since later keys depend on it.
                if state
                    .current_key
                    .verify_strict(message, &signature)
                    .is_err()
                {
                    findings.push(Finding::BadSignature { index });
                    continue;
                }
                match activity.map(KeyRotation::parse) {
                    Some(Ok(rotation)) => {
                        findings.push(Finding::KeyRotated {
                            index,
                            new_key: rotation.new_key.to_bytes(),
                        });
                        state.current_key = rotation.new_key;
                        keys.push(KeyPeriod {
                            key: rotation.new_key,
                            from_index: index + 1,
                        });
                    }
                    _ => findings.push(Finding::InvalidKeyRotation { index }),
                }
                continue;
            }
            EntryKind::Redaction => match activity.map(Redaction::parse) {
                Some(Ok(redaction)) if redaction.index < index => {
                    redactions.insert(redaction.index, (redaction.reason, index));
                }
                Some(_) => findings.push(Finding::InvalidRedaction { index }),
                // Erased redaction payloads are reported through `erased`.
                None => {}
            },
            EntryKind::Activity | EntryKind::Membership => {}
        }
        jobs.push(SignatureJob {
            index,
            message,
            signature,
            key: state.current_key,
        });
    }
    if let Some((first, last)) = prev_root_run {
        findings.push(Finding::PrevRootMismatch {
            index: first,
            through: last,
        });
    }

    // Phase 3 (parallel): batch signature verification, strict on failure.
    let mut bad = parallel_map(&jobs, config.parallelism, bad_signatures);
    bad.sort_unstable();
    findings.extend(bad.into_iter().map(|index| Finding::BadSignature { index }));

    // Redactions.
    for (index, kind) in erased {
        match redactions.get(&index) {
            Some((_, redaction_index)) if kind == EntryKind::Membership => {
                findings.push(Finding::RedactedMembership {
                    index,
                    redaction_index: *redaction_index,
                });
            }
            Some((reason, redaction_index)) => findings.push(Finding::Redacted {
                index,
                reason: reason.clone(),
                redaction_index: *redaction_index,
            }),
            None => findings.push(Finding::ErasedWithoutRedaction { index }),
        }
    }

    // Checkpoints.
    let mut log_keys: Vec<NoteVerifier> = config.log_keys.to_vec();
    for period in &keys {
        if let Ok(verifier) = NoteVerifier::new(config.origin, KeyType::Ed25519, period.key)
            && !log_keys.contains(&verifier)
        {
            log_keys.push(verifier);
        }
    }
    let log_size = state.tree.size();
    let mut checked: Vec<CheckedCheckpoint> = Vec::new();
    for (position, bytes) in checkpoints.iter().enumerate() {
        let verified = match open_checkpoint(bytes, &log_keys, config.witness_keys) {
            Ok(verified) => verified,
            Err(error) => {
                findings.push(Finding::CheckpointInvalid {
                    position,
                    error: error.to_string(),
                });
                continue;
            }
        };
        let checkpoint = verified.checkpoint;
        if checkpoint.origin != config.origin {
            findings.push(Finding::CheckpointInvalid {
                position,
                error: format!("origin {:?} is not the log origin", checkpoint.origin),
            });
            continue;
        }
        for other in &checked {
            if let Some(eq) = crate::checkpoint::detect_equivocation(&other.checkpoint, &checkpoint)
            {
                findings.push(Finding::Equivocation {
                    size: eq.size,
                    roots: eq.roots,
                });
            }
        }
        let matches_log = match roots_at.get(&checkpoint.size) {
            Some(root) if *root == checkpoint.root => true,
            Some(root) => {
                findings.push(Finding::CheckpointMismatch {
                    size: checkpoint.size,
                    checkpoint_root: checkpoint.root,
                    log_root: *root,
                });
                false
            }
            None => {
                if checkpoint.size > log_size {
                    findings.push(Finding::CheckpointBeyondLog {
                        size: checkpoint.size,
                        log_size,
                    });
                } else {
                    // Before the start of an incremental audit: not checkable here.
                    findings.push(Finding::CheckpointInvalid {
                        position,
                        error: "checkpoint precedes the audited range".to_owned(),
                    });
                }
                false
            }
        };
        checked.push(CheckedCheckpoint {
            checkpoint,
            cosigners: verified.cosigners,
            matches_log,
        });
    }

    AuditReport {
        entries: entries.len() as u64,
        size: log_size,
        root: state.tree.root(),
        keys,
        checkpoints: checked,
        findings,
        end_state: state,
    }
}
