//! Read-only views for the web interface that the served log routes and the admin API do not
//! need: the identity key history with the index range each key signed, entries of the
//! signed history checked the way an auditor checks them, the adaptations whose origin is a
//! given practice, and the evaluations of an adaptation. Nothing here writes.
//!
//! The entry checks read the checkpoint, the key history, the entries and their inclusion
//! proofs in one read transaction, so they describe one state of the log.

use ed25519_dalek::VerifyingKey;

use punte_log::note::KeyType;
use punte_log::tree::{inclusion_proof_from, verify_inclusion};
use punte_log::{Checkpoint, Hash, Note, NoteVerifier, SignedEntry, open_checkpoint, sha256};
use punte_model::{Adaptation, Evaluation};
use punte_store::documents::{self as docs, DocKind};
use punte_store::log::{self as store, LeafHashes};
use punte_store::{Connection, StoreError};

pub use punte_store::log::{KeyRecord, StoredEntry};

use crate::Node;
use crate::documents;
use crate::error::{NodeError, Result};
use crate::publish::{checkpoint_signer, origin_for_base};

/// The latest checkpoint, opened with the key history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointView {
    /// The signed note exactly as served at `/log/checkpoint`.
    pub note: String,
    /// The checkpoint body, when the note parses.
    pub checkpoint: Option<Checkpoint>,
    /// The log signature: the key that made it, or why it did not verify.
    pub signature: std::result::Result<SignerView, String>,
    /// Signature lines by other keys (witness cosignatures stapled to the note). Their keys
    /// are the witnesses'; this view does not check them.
    pub cosignatures: Vec<CosignatureView>,
}

/// The identity key a signature verified with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerView {
    /// The C2SP verifier key (`origin+keyid+base64`).
    pub vkey: String,
    pub key_id: u32,
    /// Position in the key history (1 = first key); `None` before the first entry.
    pub seq: Option<u64>,
}

/// A stapled signature line by a key other than the log's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureView {
    pub name: String,
    pub key_id: u32,
    /// POSIX seconds, when the line is shaped like a `cosignature/v1`.
    pub timestamp: Option<u64>,
}

/// Whether an entry's signature verifies with the key valid at its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    Verified(SignerView),
    Failed(String),
}

/// Whether the stored activity bytes are the ones the entry commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentCheck {
    /// SHA-256 of the stored bytes equals the entry's activity hash.
    Matches,
    /// The bytes were erased; the entry and its hash stay.
    Redacted {
        reason: Option<String>,
        by: Option<u64>,
    },
    Mismatch,
}

/// Whether the entry is in the tree the latest checkpoint signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InclusionCheck {
    /// The RFC 9162 inclusion proof verified against the checkpoint's root.
    Included {
        size: u64,
        proof: Vec<Hash>,
    },
    /// Appended after the latest checkpoint.
    NotYet {
        checkpoint_size: u64,
    },
    Failed(String),
}

/// One entry with the three checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryCheck {
    pub stored: StoredEntry,
    /// The decoded envelope, when it decodes.
    pub entry: Option<SignedEntry>,
    pub signature: SignatureCheck,
    pub content: ContentCheck,
    pub inclusion: InclusionCheck,
}

impl EntryCheck {
    /// Signature and inclusion verified, and the content matches or was redacted.
    pub fn verified(&self) -> bool {
        matches!(self.signature, SignatureCheck::Verified(_))
            && !matches!(self.content, ContentCheck::Mismatch)
            && matches!(self.inclusion, InclusionCheck::Included { .. })
    }
}

/// Entries `start..end` of a log of `size` entries, checked against `checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedEntries {
    pub origin: String,
    pub size: u64,
    pub checkpoint: CheckpointView,
    pub keys: Vec<KeyRecord>,
    pub entries: Vec<EntryCheck>,
}

impl Node {
    /// Every identity key in the key history, oldest first, each with the first log index it
    /// signed and the index of the rotation entry that retired it (that entry is still signed
    /// by the old key). Empty before the first entry.
    pub fn log_key_history(&self) -> Result<Vec<KeyRecord>> {
        Ok(self.store.read(store::keys)?)
    }

    /// Entries `start..end` (cut to the log's size and to 1000 entries) checked like an
    /// auditor would: each signature with the key of the key history valid at its index, the
    /// stored activity bytes against the entry's hash, and an inclusion proof against the
    /// latest checkpoint's root. `start >= end` gives the checkpoint alone.
    pub fn log_checked_entries(&self, start: u64, end: u64) -> Result<CheckedEntries> {
        let (origin, size, stored, keys) = self.store.read(|conn| {
            let state = store::state(conn)?;
            let origin = match &state {
                Some(s) => s.origin.clone(),
                None => origin_for_base(&self.settings.base_url)?,
            };
            let size = state.map_or(0, |s| s.size);
            Ok::<_, NodeError>((
                origin,
                size,
                store::latest_checkpoint(conn)?,
                store::keys(conn)?,
            ))
        })?;
        let note = match stored {
            Some((_, note)) => note,
            None => {
                let key = self.keys().identity.clone();
                Checkpoint::new(origin.clone(), 0, punte_log::empty_root())
                    .sign(&checkpoint_signer(&origin, &key)?)?
            }
        };
        let verifiers = self.history_verifiers(&origin, &keys)?;
        let checkpoint = open_view(&note, &verifiers);
        let end = end
            .min(size)
            .min(start.saturating_add(crate::MAX_ENTRIES_PAGE));
        let entries = if start < end {
            self.store.read(|conn| {
                let rows = store::entries(conn, start, end)?;
                rows.into_iter()
                    .map(|row| check_entry(conn, row, &verifiers, &keys, &checkpoint))
                    .collect::<Result<Vec<_>>>()
            })?
        } else {
            Vec::new()
        };
        Ok(CheckedEntries {
            origin,
            size,
            checkpoint,
            keys,
            entries,
        })
    }

    /// Verifiers of every key of the history in order (the current key alone before the
    /// first entry), paired with their history position.
    fn history_verifiers(
        &self,
        origin: &str,
        keys: &[KeyRecord],
    ) -> Result<Vec<(Option<u64>, NoteVerifier)>> {
        let make = |key: VerifyingKey| {
            NoteVerifier::new(origin, KeyType::Ed25519, key)
                .map_err(|e| NodeError::Log(format!("verifier key: {e}")))
        };
        if keys.is_empty() {
            return Ok(vec![(None, make(self.keys().identity.verifying_key())?)]);
        }
        keys.iter()
            .map(|k| {
                let key = VerifyingKey::from_bytes(&k.public_key).map_err(|_| {
                    NodeError::Log(format!("key {} of the key history is not ed25519", k.seq))
                })?;
                Ok((Some(k.seq), make(key)?))
            })
            .collect()
    }

    /// The current version of every adaptation (not deleted) whose origin is the local
    /// practice `id`, named by its id or by its URL on this node; oldest first.
    pub fn adaptations_of_practice(&self, id: &str) -> Result<Vec<Adaptation>> {
        let url = punte_protocol::urls::NodeUrls::new(&self.settings.base_url)?.object(
            punte_protocol::objects::ObjectKind::Practice.collection(),
            id,
        );
        let records = self
            .store
            .read(|conn| docs::all_current(conn, DocKind::Adaptation))?;
        let mut out = Vec::new();
        for record in &records {
            let adaptation: Adaptation = documents::decode(DocKind::Adaptation, record)?;
            let origin = adaptation.content.origin.practice.as_str();
            if origin == id || origin == url {
                out.push(adaptation);
            }
        }
        Ok(out)
    }

    /// The current version of every evaluation (not deleted) of this node's adaptation `id`,
    /// oldest first.
    pub fn evaluations_of_adaptation(&self, id: &str) -> Result<Vec<Evaluation>> {
        let records = self.store.read(|conn| {
            let mut records = Vec::new();
            for eid in punte_store::adaptations::evaluation_ids_of_adaptation(conn, id)? {
                match docs::get_current(conn, DocKind::Evaluation, &eid) {
                    Ok(r) => records.push(r),
                    Err(StoreError::NotFound { .. } | StoreError::Gone { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(records)
        })?;
        let mut out: Vec<Evaluation> = records
            .iter()
            .map(|r| documents::decode(DocKind::Evaluation, r))
            .collect::<Result<_>>()?;
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }
}

fn signer_view(seq: Option<u64>, verifier: &NoteVerifier) -> SignerView {
    SignerView {
        vkey: verifier.to_vkey(),
        key_id: verifier.key_id(),
        seq,
    }
}

/// Opens the checkpoint note with the history's keys; lists the other signature lines.
fn open_view(note: &str, verifiers: &[(Option<u64>, NoteVerifier)]) -> CheckpointView {
    let log_keys: Vec<NoteVerifier> = verifiers.iter().map(|(_, v)| v.clone()).collect();
    let is_log_key = |name: &str, id: u32| {
        log_keys
            .iter()
            .any(|k| k.name() == name && k.key_id() == id)
    };
    let cosignatures = Note::parse(note.as_bytes())
        .map(|n| {
            n.signatures
                .iter()
                .filter(|s| !is_log_key(&s.name, s.key_id))
                .map(|s| CosignatureView {
                    name: s.name.clone(),
                    key_id: s.key_id,
                    timestamp: s.cosignature_timestamp(),
                })
                .collect()
        })
        .unwrap_or_default();
    let (checkpoint, signature) = match open_checkpoint(note.as_bytes(), &log_keys, &[]) {
        Ok(opened) => {
            let signer = opened
                .note
                .verified
                .iter()
                .find_map(|v| {
                    verifiers.iter().find(|(_, k)| {
                        k.name() == v.signature.name && k.key_id() == v.signature.key_id
                    })
                })
                .map(|(seq, k)| signer_view(*seq, k))
                .ok_or_else(|| "no log signature".to_string());
            (Some(opened.checkpoint), signer)
        }
        Err(e) => {
            let body = Note::parse(note.as_bytes())
                .ok()
                .and_then(|n| Checkpoint::parse(&n.text).ok());
            (body, Err(e.to_string()))
        }
    };
    CheckpointView {
        note: note.to_string(),
        checkpoint,
        signature,
        cosignatures,
    }
}

/// The key of the history valid at `index`: from its `valid_from` through the rotation
/// entry that retired it.
fn key_at(keys: &[KeyRecord], index: u64) -> Option<&KeyRecord> {
    keys.iter()
        .find(|k| k.valid_from <= index && k.retired_at.is_none_or(|r| index <= r))
}

fn check_entry(
    conn: &Connection,
    stored: StoredEntry,
    verifiers: &[(Option<u64>, NoteVerifier)],
    keys: &[KeyRecord],
    checkpoint: &CheckpointView,
) -> Result<EntryCheck> {
    let index = stored.index;
    let decoded = SignedEntry::decode(&stored.entry);
    let entry = decoded.as_ref().ok().cloned();
    let signature = match &decoded {
        Err(e) => SignatureCheck::Failed(format!("the entry does not decode: {e}")),
        Ok(e) if e.body.index != index => SignatureCheck::Failed(format!(
            "the entry says index {}, stored at {index}",
            e.body.index
        )),
        Ok(e) => match key_at(keys, index) {
            None => {
                SignatureCheck::Failed(format!("no key of the key history covers index {index}"))
            }
            Some(k) => match verifiers.iter().find(|(seq, _)| *seq == Some(k.seq)) {
                None => SignatureCheck::Failed(format!("key {} has no verifier", k.seq)),
                Some((seq, v)) => match e.verify(v.public_key()) {
                    Ok(_) => SignatureCheck::Verified(signer_view(*seq, v)),
                    Err(err) => SignatureCheck::Failed(format!("{err} (key {})", k.seq)),
                },
            },
        },
    };
    let content = match (&stored.activity, &decoded) {
        (None, _) => ContentCheck::Redacted {
            reason: stored.redaction_reason.clone(),
            by: stored.redacted_by,
        },
        (Some(bytes), Ok(e)) if sha256(bytes) == e.body.activity_hash => ContentCheck::Matches,
        (Some(_), _) => ContentCheck::Mismatch,
    };
    let inclusion = match (&checkpoint.checkpoint, &checkpoint.signature, &decoded) {
        (_, Err(e), _) => InclusionCheck::Failed(format!("the checkpoint does not verify: {e}")),
        (None, _, _) => InclusionCheck::Failed("the checkpoint does not parse".into()),
        (Some(_), _, Err(_)) => InclusionCheck::Failed("the entry does not decode".into()),
        (Some(c), Ok(_), Ok(_)) if index >= c.size => InclusionCheck::NotYet {
            checkpoint_size: c.size,
        },
        (Some(c), Ok(_), Ok(e)) => match inclusion_proof_from(&LeafHashes(conn), index, c.size) {
            Err(err) => InclusionCheck::Failed(format!("no inclusion proof: {err}")),
            Ok(proof) => match verify_inclusion(&e.leaf_hash(), index, c.size, &proof, &c.root) {
                Ok(()) => InclusionCheck::Included {
                    size: c.size,
                    proof,
                },
                Err(err) => InclusionCheck::Failed(err.to_string()),
            },
        },
    };
    Ok(EntryCheck {
        stored,
        entry,
        signature,
        content,
        inclusion,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_retired_key_covers_its_rotation_entry_and_the_next_key_the_rest() {
        let keys = vec![
            KeyRecord {
                seq: 1,
                public_key: [1; 32],
                valid_from: 0,
                retired_at: Some(4),
            },
            KeyRecord {
                seq: 2,
                public_key: [2; 32],
                valid_from: 5,
                retired_at: None,
            },
        ];
        assert_eq!(key_at(&keys, 0).map(|k| k.seq), Some(1));
        assert_eq!(key_at(&keys, 4).map(|k| k.seq), Some(1));
        assert_eq!(key_at(&keys, 5).map(|k| k.seq), Some(2));
        assert_eq!(key_at(&keys, 900).map(|k| k.seq), Some(2));
        assert_eq!(key_at(&keys[1..], 3), None);
    }
}
