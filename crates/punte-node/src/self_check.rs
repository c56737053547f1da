//! The node's check of its own signed history (docs/operating.md "Checking a node"): every
//! entry present, in order, with the leaf hash it is stored with, the tree and the latest
//! checkpoint agreeing with the stored state, and the entries signed by the key history
//! (`punte_log::audit`, as an auditor would). `punte check` runs it over the whole log and
//! also compares every live document with the entry that published it; at start the node
//! runs the cheap form — the tree from the stored leaf hashes, and a full audit of the entries
//! appended since the last clean check. A problem makes the node refuse to append (the
//! append guard, `witness` = `self-check`) until the operator restores a backup.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;

use punte_log::audit::{ActivityBytes, AuditConfig, AuditEntry, AuditState, Finding, Severity};
use punte_log::note::{KeyType, NoteVerifier};
use punte_log::{CompactTree, Hash, open_checkpoint};
use punte_store::log as store;

use crate::Node;
use crate::error::{NodeError, Result};

/// `node_meta` key: `SIZE ROOT` of the log at the last clean check.
const CHECKED: &str = "self_check";
/// Entries audited per step.
const BATCH: u64 = 10_000;
pub use punte_store::witness::SELF_CHECK_GUARD as SELF_CHECK;

/// What a check of the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCheck {
    pub size: u64,
    /// The first index whose entry was audited (0 for a full check).
    pub audited_from: u64,
    /// Problems, in the order found; empty when the log is sound.
    pub problems: Vec<String>,
}

impl Node {
    /// Checks the signed history (`full`: every entry; otherwise only the entries since the
    /// last clean check are audited, the tree always). A clean check is remembered; a failed
    /// one sets the append guard.
    pub fn check_log(&self, full: bool) -> Result<LogCheck> {
        let checked = self.check_log_inner(full)?;
        let now = crate::publish::unix_ms(self.now());
        self.store().write(|tx| {
            if checked.problems.is_empty() {
                if let Some(state) = store::state(tx)? {
                    punte_store::meta::set(
                        tx,
                        CHECKED,
                        &format!("{} {}", state.size, STANDARD.encode(state.root.as_bytes())),
                    )?;
                }
            } else {
                punte_store::witness::set_append_guard(
                    tx,
                    &punte_store::witness::AppendGuard {
                        witness: SELF_CHECK.to_owned(),
                        local_size: checked.size,
                        cosigned: String::new(),
                        reason: format!(
                            "the node's own signed history is damaged: {}",
                            checked.problems.join("; ")
                        ),
                        detected_ms: now,
                    },
                )?;
            }
            Ok::<_, NodeError>(())
        })?;
        if !checked.problems.is_empty() {
            tracing::error!(problems = %checked.problems.join("; "), "the signed history is damaged: the node refuses to append; restore the latest backup (docs/operating.md, Backups) and run `punte check`");
        }
        Ok(checked)
    }

    fn check_log_inner(&self, full: bool) -> Result<LogCheck> {
        let (state, leaves, keys, checkpoint, marker) = self.store().read(|conn| {
            Ok::<_, NodeError>((
                store::state(conn)?,
                store::leaf_hashes(conn)?,
                store::keys(conn)?,
                store::latest_checkpoint(conn)?,
                punte_store::meta::get(conn, CHECKED)?,
            ))
        })?;
        let Some(state) = state else {
            return Ok(LogCheck {
                size: 0,
                audited_from: 0,
                problems: Vec::new(),
            });
        };
        let mut problems = Vec::new();
        // Every index 0..size, once, in order.
        if let Some((pos, (index, _))) = leaves
            .iter()
            .enumerate()
            .find(|(pos, (index, _))| *index != *pos as u64)
        {
            problems.push(format!(
                "entry {pos} is missing (the next stored entry is {index})"
            ));
        }
        if leaves.len() as u64 != state.size {
            problems.push(format!(
                "the log state says {} entries, {} are stored",
                state.size,
                leaves.len()
            ));
        }
        // The tree from the stored leaves, and where an incremental audit starts.
        let (from, marker_root) = match marker.as_deref().and_then(|m| m.split_once(' ')) {
            Some((size, root)) if !full => (
                size.parse::<u64>().unwrap_or(0).min(state.size),
                STANDARD.decode(root).ok(),
            ),
            _ => (0, None),
        };
        let mut tree = CompactTree::new();
        let mut at_from = None;
        for (n, (_, leaf)) in leaves.iter().enumerate() {
            if n as u64 == from {
                at_from = Some(tree.clone());
            }
            tree.append(Hash(*leaf));
        }
        let at_from = at_from.unwrap_or_else(|| tree.clone());
        if tree.size() == state.size && tree.root() != state.root {
            problems.push("the stored entries do not add up to the stored tree root".to_owned());
        }
        let from = match marker_root {
            Some(root) if from > 0 && root.as_slice() != at_from.root().as_bytes() => {
                problems.push(format!(
                    "the first {from} entries changed since the last check (another tree root)"
                ));
                from
            }
            _ => from,
        };
        // Entries from `from` on, audited as an auditor would, with the latest checkpoint.
        let origin = state.origin.clone();
        let key_at = |index: u64| -> Option<VerifyingKey> {
            keys.iter()
                .rev()
                .find(|k| k.valid_from <= index)
                .and_then(|k| VerifyingKey::from_bytes(&k.public_key).ok())
        };
        let log_keys: Vec<NoteVerifier> = keys
            .iter()
            .filter_map(|k| VerifyingKey::from_bytes(&k.public_key).ok())
            .filter_map(|k| NoteVerifier::new(&origin, KeyType::Ed25519, k).ok())
            .collect();
        let Some(first_key) = key_at(from) else {
            problems.push("the key history is empty".to_owned());
            return Ok(LogCheck {
                size: state.size,
                audited_from: from,
                problems,
            });
        };
        let max_timestamp_ms = match from {
            0 => None,
            n => Some(
                self.store()
                    .read(|conn| store::entry(conn, n - 1))?
                    .timestamp_ms,
            ),
        };
        let mut audit_state = AuditState {
            tree: at_from,
            current_key: first_key,
            max_timestamp_ms,
        };
        let mut start = from;
        while start < state.size {
            let end = state.size.min(start + BATCH);
            let last = end == state.size;
            let stored = self.store().read(|conn| store::entries(conn, start, end))?;
            let entries: Vec<AuditEntry<'_>> = stored
                .iter()
                .map(|e| AuditEntry {
                    entry: &e.entry,
                    activity: match &e.activity {
                        Some(bytes) => ActivityBytes::Present(bytes),
                        None => ActivityBytes::Erased,
                    },
                })
                .collect();
            let notes: Vec<&[u8]> = match (&checkpoint, last) {
                (Some((_, note)), true) => vec![note.as_bytes()],
                _ => Vec::new(),
            };
            let config = AuditConfig {
                origin: &origin,
                start: audit_state.clone(),
                log_keys: &log_keys,
                witness_keys: &[],
                timestamp_tolerance_ms: 0,
                parallelism: 1,
            };
            let report = punte_log::audit(&config, &entries, &notes);
            problems.extend(
                report
                    .findings
                    .iter()
                    .filter(|f| f.severity() == Severity::Error)
                    // the redaction of an erased entry may be in a later batch
                    .filter(|f| last || !matches!(f, Finding::ErasedWithoutRedaction { .. }))
                    .map(ToString::to_string),
            );
            if last && !report.checkpoints.first().is_some_and(|c| c.matches_log) {
                problems.push("the latest checkpoint does not match the entries".to_owned());
            }
            audit_state = report.end_state;
            start = end;
        }
        if let Some((size, note)) = &checkpoint {
            let opened = open_checkpoint(note.as_bytes(), &log_keys, &[]);
            match opened {
                Ok(o) if o.checkpoint.size == state.size && o.checkpoint.root != state.root => {
                    problems.push(format!(
                        "the checkpoint of size {size} names another root than the stored tree"
                    ))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("the latest checkpoint does not verify: {e}")),
            }
        }
        problems.dedup();
        Ok(LogCheck {
            size: state.size,
            audited_from: from,
            problems,
        })
    }
}
