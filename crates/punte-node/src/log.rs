//! The signed history beyond publishing: the served views (checkpoint, entry pages, proofs,
//! verifier keys, outbox, single activities), redaction and identity key rotation.

use std::path::PathBuf;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::Value;

use punte_log::note::KeyType;
use punte_log::tree::{consistency_proof_from, inclusion_proof_from};
use punte_log::{Checkpoint, EntryKind, Hash, NoteVerifier, Redaction};
use punte_model::ValidationErrors;
use punte_store::log::{self as store, LeafHashes, StoredEntry};
use punte_store::{Connection, StoreError};

use crate::error::{NodeError, Result};
use crate::keys::{self, IDENTITY_FILE, IDENTITY_NEXT_FILE, RETIRED_DIR};
use crate::publish::{checkpoint_signer, origin_for_base};
use crate::{KEYS_DIR, Node};

/// Most entries in one page of `GET /log/entries`.
pub const MAX_ENTRIES_PAGE: u64 = 1000;
/// Activities per outbox page.
pub const OUTBOX_PAGE_SIZE: u64 = 50;

/// A page of log entries: `start..end` of a log of `size` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntriesPage {
    pub start: u64,
    pub end: u64,
    pub size: u64,
    pub entries: Vec<StoredEntry>,
}

/// One page of the outbox (1-based), with the activities parsed from their exact bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxPage {
    pub page: u64,
    pub total: u64,
    pub last_page: u64,
    pub items: Vec<Value>,
}

/// The node's public keys, as `punte keys show` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysSummary {
    /// C2SP verifier key of the identity key, named after the log origin.
    pub identity_vkey: String,
    /// FEP-521a Multikey (`z6Mk…`) of the identity key.
    pub identity_multikey: String,
    /// C2SP `cosignature/v1` verifier key of the witness key.
    pub witness_vkey: String,
    /// Verifier keys of every identity key in the key history, oldest first.
    pub history: Vec<String>,
}

/// The outcome of a key rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// Index of the rotation entry (signed by the old key).
    pub index: u64,
    pub old_vkey: String,
    pub new_vkey: String,
    /// Where the old key file now lives.
    pub retired_file: PathBuf,
}

fn range_error(message: impl Into<String>) -> NodeError {
    NodeError::LogRange(message.into())
}

fn log_size(conn: &Connection) -> Result<u64> {
    Ok(store::state(conn)?.map_or(0, |s| s.size))
}

fn verifier(name: &str, key_type: KeyType, key: VerifyingKey) -> Result<NoteVerifier> {
    NoteVerifier::new(name, key_type, key).map_err(|e| NodeError::Log(format!("verifier key: {e}")))
}

fn stored_public_key(bytes: &[u8; 32]) -> Result<VerifyingKey> {
    VerifyingKey::from_bytes(bytes).map_err(|_| {
        StoreError::Corrupt("a key in the key history is not an ed25519 key".into()).into()
    })
}

impl Node {
    fn keys_dir(&self) -> PathBuf {
        self.settings.data_dir.join(KEYS_DIR)
    }

    /// The identity key that must sign the next entry. If the key history moved on (another
    /// process rotated the key), the key file is read again.
    pub(crate) fn signing_key_for(&self, conn: &Connection) -> Result<SigningKey> {
        let key = self.keys().identity.clone();
        let Some(current) = store::current_key(conn)? else {
            return Ok(key);
        };
        if current.public_key == key.verifying_key().to_bytes() {
            return Ok(key);
        }
        match keys::read_ed25519(&self.keys_dir().join(IDENTITY_FILE))? {
            Some(disk) if disk.verifying_key().to_bytes() == current.public_key => {
                self.keys
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .identity = disk.clone();
                Ok(disk)
            }
            _ => Err(NodeError::KeyMismatch),
        }
    }

    fn origin_in(&self, conn: &Connection) -> Result<String> {
        match store::state(conn)? {
            Some(state) => Ok(state.origin),
            None => origin_for_base(&self.settings.base_url),
        }
    }

    /// The log origin, `HOST/punte-log` (fixed by the first entry).
    pub fn log_origin(&self) -> Result<String> {
        self.store.read(|conn| self.origin_in(conn))
    }

    /// Number of entries in the log.
    pub fn log_size(&self) -> Result<u64> {
        self.store.read(log_size)
    }

    /// The latest signed checkpoint (a C2SP signed note). Before the first entry, a
    /// checkpoint of the empty tree signed now.
    pub fn log_checkpoint(&self) -> Result<String> {
        let (stored, origin) = self.store.read(|conn| {
            let stored = match store::latest_checkpoint(conn)? {
                Some((size, note)) => Some(crate::federation::witness::staple(conn, size, note)?),
                None => None,
            };
            Ok::<_, NodeError>((stored, self.origin_in(conn)?))
        })?;
        if let Some(note) = stored {
            return Ok(note);
        }
        let key = self.keys().identity.clone();
        let checkpoint = Checkpoint::new(origin.clone(), 0, punte_log::empty_root());
        Ok(checkpoint.sign(&checkpoint_signer(&origin, &key)?)?)
    }

    /// Entries `start..end` with their activity bytes; `end` is cut to `start + 1000`.
    /// Requires `start < end <= size`.
    pub fn log_entries(&self, start: u64, end: u64) -> Result<EntriesPage> {
        self.store.read(|conn| {
            let size = log_size(conn)?;
            if start >= end || end > size {
                return Err(range_error(format!(
                    "need 0 <= start < end <= size; got start {start}, end {end}, size {size}"
                )));
            }
            let end = end.min(start.saturating_add(MAX_ENTRIES_PAGE));
            let entries = store::entries(conn, start, end)?;
            if entries.len() as u64 != end - start {
                return Err(StoreError::Corrupt(format!(
                    "log entries {start}..{end} are incomplete"
                ))
                .into());
            }
            Ok(EntriesPage {
                start,
                end,
                size,
                entries,
            })
        })
    }

    /// RFC 9162 inclusion proof of entry `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.store.read(|conn| {
            let log = log_size(conn)?;
            if index >= size || size > log {
                return Err(range_error(format!(
                    "need 0 <= index < size <= {log}; got index {index}, size {size}"
                )));
            }
            inclusion_proof_from(&LeafHashes(conn), index, size)
                .map_err(|e| NodeError::Log(e.to_string()))
        })
    }

    /// RFC 9162 consistency proof between tree sizes `old` and `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.store.read(|conn| {
            let log = log_size(conn)?;
            if old > new || new > log {
                return Err(range_error(format!(
                    "need 0 <= old <= new <= {log}; got old {old}, new {new}"
                )));
            }
            consistency_proof_from(&LeafHashes(conn), old, new)
                .map_err(|e| NodeError::Log(e.to_string()))
        })
    }

    /// The C2SP verifier key (`origin+hex key ID+base64`) of every identity key in the key
    /// history, oldest first (the current key alone before the first entry).
    pub fn log_verifier_keys(&self) -> Result<Vec<String>> {
        let (origin, history) = self
            .store
            .read(|conn| Ok::<_, NodeError>((self.origin_in(conn)?, store::keys(conn)?)))?;
        if history.is_empty() {
            let key = self.keys().identity.verifying_key();
            return Ok(vec![verifier(&origin, KeyType::Ed25519, key)?.to_vkey()]);
        }
        history
            .iter()
            .map(|k| {
                Ok(
                    verifier(&origin, KeyType::Ed25519, stored_public_key(&k.public_key)?)?
                        .to_vkey(),
                )
            })
            .collect()
    }

    /// The identity and witness verifier keys and the identity Multikey.
    pub fn keys_summary(&self) -> Result<KeysSummary> {
        let origin = self.log_origin()?;
        let history = self.log_verifier_keys()?;
        let keys = self.keys();
        let witness_name = format!(
            "{}/punte-witness",
            origin.strip_suffix("/punte-log").unwrap_or(&origin)
        );
        Ok(KeysSummary {
            identity_vkey: verifier(&origin, KeyType::Ed25519, keys.identity.verifying_key())?
                .to_vkey(),
            identity_multikey: punte_protocol::multikey::encode_ed25519_public(
                &keys.identity.verifying_key(),
            ),
            witness_vkey: verifier(
                &witness_name,
                KeyType::CosignatureV1,
                keys.witness.verifying_key(),
            )?
            .to_vkey(),
            history,
        })
    }

    /// Number of activities in the outbox (activity entries not redacted).
    pub fn outbox_total(&self) -> Result<u64> {
        Ok(self.store.read(store::outbox_count)?)
    }

    /// Outbox page `page` (1-based, 50 activities, in log index order).
    pub fn outbox_page(&self, page: u64) -> Result<OutboxPage> {
        self.store.read(|conn| {
            let total = store::outbox_count(conn)?;
            let last_page = total.div_ceil(OUTBOX_PAGE_SIZE).max(1);
            if page == 0 || page > last_page {
                return Err(StoreError::not_found(format!("outbox page {page}")).into());
            }
            let rows = store::outbox_page(conn, (page - 1) * OUTBOX_PAGE_SIZE, OUTBOX_PAGE_SIZE)?;
            let items = rows
                .iter()
                .map(|(index, bytes)| {
                    serde_json::from_slice(bytes).map_err(|source| NodeError::Decode {
                        what: format!("activity of log entry {index}"),
                        source,
                    })
                })
                .collect::<Result<Vec<Value>>>()?;
            Ok(OutboxPage {
                page,
                total,
                last_page,
                items,
            })
        })
    }

    /// The exact stored bytes of activity `BASE/activities/{uuid}` (`Gone` once redacted).
    pub fn activity_bytes(&self, uuid: &str) -> Result<Vec<u8>> {
        let id = punte_protocol::urls::NodeUrls::new(&self.settings.base_url)?.activity(uuid);
        self.store.read(|conn| {
            let entry = store::entry_by_activity_id(conn, &id)?;
            entry.activity.ok_or_else(|| {
                StoreError::Gone {
                    what: format!("activity {id}"),
                }
                .into()
            })
        })
    }

    /// Publishes `object` as a signed activity with a log entry and checkpoint, in its own
    /// transaction, without any stored change (benchmarks; later, activities such as Announce
    /// that change nothing stored). Returns the log index.
    pub fn publish_object(&self, verb: crate::publish::Verb, object: Value) -> Result<u64> {
        self.change(|_, log| Ok(log.activity(verb, object)?.0.index))
    }

    /// Erases the activity bytes of entry `index` and appends a signed redaction entry with
    /// `reason`, in one transaction. The erased entry stays, so the tree still verifies.
    /// Returns the index of the redaction entry.
    pub fn redact(&self, index: u64, reason: &str) -> Result<u64> {
        let bytes = Redaction {
            index,
            reason: reason.to_string(),
        }
        .to_bytes()
        .map_err(|_| {
            NodeError::Invalid(ValidationErrors::single(
                "reason",
                "must be 1 to 1024 bytes on one line, without control characters",
            ))
        })?;
        self.change(|tx, log| {
            let target = store::entry(tx, index)?;
            if target.kind == EntryKind::Membership.to_byte() {
                // Members go by the latest list they replicated and every version carries
                // the whole membership history: erasing one would leave the network's
                // signed admissions and removals unreadable (docs/protocol.md §1.10).
                return Err(NodeError::Invalid(ValidationErrors::single(
                    "index",
                    "membership entries cannot be redacted: the signed membership history stays readable; publish a new version instead (punte members update/remove)",
                )));
            }
            if target.kind != EntryKind::Activity.to_byte() {
                return Err(NodeError::Invalid(ValidationErrors::single(
                    "index",
                    "only activity entries can be redacted; key rotations and redactions stay readable",
                )));
            }
            let id = format!("urn:uuid:{}", uuid::Uuid::now_v7());
            let appended = log.append(EntryKind::Redaction, &id, &bytes)?;
            store::erase_activity(tx, index, reason, appended.index)?;
            Ok(appended.index)
        })
    }

    /// Replaces the identity key: a key rotation entry signed by the old key names the new
    /// one, in one transaction with the key history; later entries use the new key. The old
    /// key file moves to `keys/retired/identity-<n>.ed25519.pem` and is never deleted.
    ///
    /// Crash safety: the new key is written to `keys/identity.next.ed25519.pem` before the
    /// transaction; after the commit the old key is copied to `retired/` and the new file
    /// renamed over `identity.ed25519.pem`. [`Node::open`] finishes an interrupted rotation.
    pub fn rotate_identity_key(&self) -> Result<Rotated> {
        let dir = self.keys_dir();
        let next_path = dir.join(IDENTITY_NEXT_FILE);
        let new_key = keys::generate_ed25519()?;
        keys::write_ed25519(&next_path, &new_key)?;
        let rotated = self.change(|_, log| {
            let old = log.key().clone();
            let (appended, retired_seq) = log.rotate(new_key.clone())?;
            Ok((old, appended.index, retired_seq, log.origin().to_string()))
        });
        let (old, index, retired_seq, origin) = match rotated {
            Ok(v) => v,
            Err(e) => {
                if let Err(io) = std::fs::remove_file(&next_path) {
                    tracing::warn!(error = %io, "cannot remove the unused new key file");
                }
                return Err(e);
            }
        };
        let retired_file = self.install_rotated_key(retired_seq, &old, &new_key)?;
        tracing::info!(index, "rotated the identity key");
        Ok(Rotated {
            index,
            old_vkey: verifier(&origin, KeyType::Ed25519, old.verifying_key())?.to_vkey(),
            new_vkey: verifier(&origin, KeyType::Ed25519, new_key.verifying_key())?.to_vkey(),
            retired_file,
        })
    }

    /// After the rotation committed: keep the old key in `retired/`, make the new key the
    /// identity key file and the in-memory key.
    fn install_rotated_key(&self, seq: u64, old: &SigningKey, new: &SigningKey) -> Result<PathBuf> {
        let dir = self.keys_dir();
        let retired_dir = dir.join(RETIRED_DIR);
        keys::create_private_dir(&retired_dir)?;
        let retired = retired_dir.join(keys::retired_identity_file(seq));
        if keys::read_ed25519(&retired)?.is_none() {
            keys::write_ed25519(&retired, old)?;
        }
        let next_path = dir.join(IDENTITY_NEXT_FILE);
        let identity_path = dir.join(IDENTITY_FILE);
        std::fs::rename(&next_path, &identity_path).map_err(|source| keys::KeyError::Write {
            path: identity_path.clone(),
            source,
        })?;
        if let Ok(d) = std::fs::File::open(&dir) {
            d.sync_all().map_err(|source| keys::KeyError::Write {
                path: dir.clone(),
                source,
            })?;
        }
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .identity = new.clone();
        Ok(retired)
    }

    /// Completes a rotation interrupted after its commit, or drops the new key file of a
    /// rotation that never committed.
    pub(crate) fn finish_interrupted_rotation(&self) -> Result<()> {
        let next_path = self.keys_dir().join(IDENTITY_NEXT_FILE);
        let Some(next) = keys::read_ed25519(&next_path)? else {
            return Ok(());
        };
        let history = self.store.read(store::keys)?;
        let current = history.iter().find(|k| k.retired_at.is_none());
        if current.is_some_and(|k| k.public_key == next.verifying_key().to_bytes()) {
            let old = self.keys().identity.clone();
            let seq = history
                .iter()
                .find(|k| k.public_key == old.verifying_key().to_bytes())
                .map(|k| k.seq)
                .ok_or(NodeError::KeyMismatch)?;
            self.install_rotated_key(seq, &old, &next)?;
            tracing::warn!("finished an interrupted identity key rotation");
        } else {
            std::fs::remove_file(&next_path).map_err(|source| keys::KeyError::Write {
                path: next_path.clone(),
                source,
            })?;
            tracing::warn!("removed the new key of an identity key rotation that did not commit");
        }
        Ok(())
    }
}
