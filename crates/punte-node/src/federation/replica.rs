//! Verified replicas of followed Punte partners' logs (docs/protocol.md §5.5).
//!
//! A replica holds the partner's entries `0..size`, each verified exactly as an audit would
//! (signature by the key of the key history valid at its index, `prev_root` chain, activity
//! bytes against their hash, timestamps, unique ids; `punte_log::audit`) and vouched for by a
//! signed checkpoint: either the checkpoint of exactly that size, or a later one with an RFC
//! 9162 consistency proof from the verified root. The partner's objects (practices,
//! evaluations, indicators, adaptations, attestations, its organisation profile) are kept as
//! of the replica.
//!
//! Entries arrive two ways: a delivery carries its entry and checkpoint in headers and is
//! applied at once when it is the next entry; anything else (a gap, a restart, a partner that
//! gave up delivering) is caught up by pulling `/log/entries` — on wake-up, at start, and
//! every `replica_poll_interval`.
//!
//! Why over 800 lines: the delivery path and the pull path apply the same verification to
//! the same replica row; kept together so the two cannot drift. Next split when it grows:
//! the HTTP pull client (to the one verified log client of issue #14).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

use punte_log::audit::{ActivityBytes, AuditConfig, AuditEntry, AuditState, Finding, audit};
use punte_log::tree::{parse_proof, verify_consistency};
use punte_log::{Checkpoint, CompactTree, Hash, Note, NoteVerifier, SignedEntry, open_checkpoint};
use punte_protocol::activity::{self, ActivityEnvelope, ActivityType, ObjectRef};
use punte_protocol::keys::ed25519_key_id;
use punte_protocol::objects::{self, ObjectKind};
use punte_protocol::proof;
use punte_store::federation::{self as store, ReplicaObject, ReplicaRow};

use super::forks::{ForkSeen, entry_fork, forked};
use super::inbound::{Applied, InboxRefusal, Verified};
use super::{Federation, RemoteError, base_of_actor};
use crate::error::NodeError;

/// Entries verified and committed per transaction while catching up.
const SYNC_BATCH: u64 = 5_000;
/// Entries per `/log/entries` request (the server's maximum).
const PAGE: u64 = 1_000;
/// Largest answer for one page of entries: 1000 entries of up to a few KiB each, base64.
/// Each entry is verified on its own, so a page is not held to the usual 1 MiB.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// Allowed backwards step of entry timestamps (as the audit).
const TIMESTAMP_TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub actor: String,
    pub from: u64,
    pub to: u64,
    pub checkpoint_size: u64,
}

fn hash_from(bytes: [u8; 32]) -> Hash {
    Hash(bytes)
}

fn frontier_of(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| <[u8; 32]>::try_from(c).ok().map(Hash))
        .collect()
}

fn frontier_bytes(tree: &CompactTree) -> Vec<u8> {
    tree.frontier()
        .iter()
        .flat_map(|h| h.as_bytes().to_vec())
        .collect()
}

fn state_of(r: &ReplicaRow) -> Result<AuditState, String> {
    let tree = CompactTree::from_frontier(r.size, frontier_of(&r.frontier))
        .ok_or_else(|| "stored replica frontier does not fit its size".to_owned())?;
    if tree.root() != hash_from(r.root) {
        return Err("stored replica root does not match its frontier".to_owned());
    }
    let current_key = ed25519_dalek::VerifyingKey::from_bytes(&r.current_key)
        .map_err(|_| "stored replica key is not an ed25519 key".to_owned())?;
    Ok(AuditState {
        tree,
        current_key,
        max_timestamp_ms: r.max_timestamp_ms,
    })
}

/// Findings that stop replication (errors, except an erasure whose redaction entry may
/// come in a later batch, and an erased membership entry: an audit reports it, and the
/// replica skips that list version like any erased activity, which whether the redaction
/// comes in the same batch must not change).
fn blocking_findings(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity() == punte_log::audit::Severity::Error)
        .filter(|f| {
            !matches!(
                f,
                Finding::ErasedWithoutRedaction { .. } | Finding::RedactedMembership { .. }
            )
        })
        .map(ToString::to_string)
        .collect()
}

/// Keeps a checkpoint of the partner that arrived here, when it is signed by the partner's
/// key (the actor's or the replica's current one), for auditors to compare. A checkpoint
/// whose size the replica already holds a signed checkpoint of, with another root, is
/// not kept as usual but returned as a fork.
fn keep_checkpoint(
    tx: &punte_store::Connection,
    replica: &ReplicaRow,
    known: &super::KnownActor,
    note: &[u8],
    via: &str,
    now: i64,
) -> Result<Option<ForkSeen>, NodeError> {
    let mut keys = Vec::new();
    if let Some(k) = known
        .remote
        .keys
        .ed25519_key(&ed25519_key_id(&replica.actor))
    {
        keys.push(k);
    }
    if let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(&replica.current_key)
        && !keys.contains(&k)
    {
        keys.push(k);
    }
    let verifiers: Vec<NoteVerifier> = keys
        .into_iter()
        .filter_map(|k| {
            NoteVerifier::new(&replica.origin, punte_log::note::KeyType::Ed25519, k).ok()
        })
        .collect();
    let Ok(opened) = open_checkpoint(note, &verifiers, &[]) else {
        return Ok(None);
    };
    if opened.checkpoint.origin != replica.origin {
        return Ok(None);
    }
    let Ok(text) = std::str::from_utf8(note) else {
        return Ok(None);
    };
    let kept = store::PartnerCheckpoint {
        origin: replica.origin.clone(),
        actor: replica.actor.clone(),
        size: opened.checkpoint.size,
        root: *opened.checkpoint.root.as_bytes(),
        note: text.to_owned(),
        via: via.to_owned(),
        received_ms: now,
    };
    let root = *opened.checkpoint.root.as_bytes();
    let held =
        store::partner_checkpoint_other_root(tx, &replica.origin, opened.checkpoint.size, &root)?
            .or_else(|| {
                // the replica's own checkpoint (kept when it arrived, unless pruned since)
                let own = replica.checkpoint.as_deref()?;
                let c = Note::parse(own.as_bytes())
                    .ok()
                    .and_then(|n| Checkpoint::parse(&n.text).ok())?;
                (c.size == opened.checkpoint.size && *c.root.as_bytes() != root)
                    .then(|| own.to_owned())
            });
    if let Some(held) = held {
        return Ok(Some(ForkSeen {
            fork: store::PartnerFork {
                actor: replica.actor.clone(),
                origin: replica.origin.clone(),
                kind: "checkpoint".to_owned(),
                at: opened.checkpoint.size,
                held,
                received: text.to_owned(),
                via: via.to_owned(),
                detected_ms: now,
            },
            keep: Some(kept),
        }));
    }
    store::keep_partner_checkpoint(tx, &kept)?;
    Ok(None)
}

/// Applies one verified entry's activity to the replicated objects; returns what happened.
fn apply_activity(
    tx: &punte_store::Connection,
    actor: &str,
    index: u64,
    activity_id: &str,
    bytes: Option<&[u8]>,
    signer: &[u8; 32],
    now: i64,
) -> Result<String, NodeError> {
    let Some(bytes) = bytes else {
        return Ok("redacted at the origin".to_owned());
    };
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return Ok("not an activity".to_owned());
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(signer) else {
        return Ok("entry signer is not a key".to_owned());
    };
    // The proof must be by the key that signed the entry.
    let key_id = ed25519_key_id(actor);
    if let Err(e) = proof::verify(&value, |m| (m == key_id).then_some(key)) {
        return Ok(format!("activity proof does not verify: {e}"));
    }
    let env = match activity::parse_activity(&value) {
        Ok(env) => env,
        Err(e) => return Ok(format!("not applied: {e}")),
    };
    if env.actor != actor {
        return Ok("not applied: activity of another actor".to_owned());
    }
    apply_envelope(tx, actor, index, activity_id, &env, now)
}

fn apply_envelope(
    tx: &punte_store::Connection,
    actor: &str,
    index: u64,
    activity_id: &str,
    env: &ActivityEnvelope,
    now: i64,
) -> Result<String, NodeError> {
    match env.kind {
        ActivityType::Create | ActivityType::Update => {
            let Some(object) = env.object.embedded() else {
                return Ok("not applied: no embedded object".to_owned());
            };
            let kind = if object.get("type").and_then(Value::as_str) == Some("Organization")
                && env.object.id() == actor
            {
                "organisation"
            } else if object.get("type").and_then(Value::as_str) == Some(objects::MEMBERSHIP_TYPE) {
                let checked = crate::federation::membership::check_replicated(
                    tx,
                    actor,
                    index,
                    object,
                    &env.actor_origin,
                )?;
                if let Err(reason) = checked {
                    return Ok(format!("not applied: {reason}"));
                }
                "membership"
            } else {
                match objects::parse_object(object, &env.actor_origin) {
                    Ok(_) => match ObjectKind::of(object) {
                        Some(ObjectKind::Practice) => "practice",
                        Some(ObjectKind::Evaluation) => "evaluation",
                        Some(ObjectKind::IndicatorDefinition) => "indicator",
                        Some(ObjectKind::Adaptation) => "adaptation",
                        Some(ObjectKind::Attestation) => "attestation",
                        None => return Ok("not applied: unknown object type".to_owned()),
                    },
                    Err(e) => return Ok(format!("object refused: {e}")),
                }
            };
            store::upsert_replica_object(
                tx,
                &ReplicaObject {
                    object_id: env.object.id().to_owned(),
                    actor: actor.to_owned(),
                    kind: kind.to_owned(),
                    log_index: index,
                    activity_id: activity_id.to_owned(),
                    object: object.to_string(),
                    updates: 1,
                    deleted: false,
                    updated_ms: now,
                },
            )?;
            Ok(format!("{kind} replicated"))
        }
        ActivityType::Delete => {
            let id = match &env.object {
                ObjectRef::Id(id) | ObjectRef::Embedded { id, .. } => id,
            };
            let deleted = store::delete_replica_object(tx, actor, id, index, activity_id, now)?;
            Ok(if deleted {
                "deletion replicated".to_owned()
            } else {
                "deletion of an unknown object".to_owned()
            })
        }
        _ => Ok("logged".to_owned()),
    }
}

/// The delivery path: a Create/Update/Delete from a followed Punte partner with its entry
/// and checkpoint in headers. Applied at once when it is the next entry of the replica and
/// its checkpoint is exactly one entry larger; otherwise the replica is marked behind and
/// the sync pulls what is missing.
pub(crate) fn apply_delivered(
    fed: &Federation,
    tx: &punte_store::Transaction<'_>,
    v: &Verified,
    _env: &ActivityEnvelope,
    now: i64,
    wake_sync: &mut bool,
) -> Result<String, Applied> {
    let actor = &v.actor.row.id;
    if let Some(why) = forked(tx, actor)? {
        return Err(Applied::Refused(InboxRefusal::Fork(why)));
    }
    let Some(replica) = store::replica(tx, actor)? else {
        *wake_sync = true;
        return Ok("queued: the replica starts with a full sync".to_owned());
    };
    if let Some(note) = v.checkpoint.as_deref()
        && let Some(fork) = keep_checkpoint(tx, &replica, &v.actor, note, "delivery", now)?
    {
        return Err(Applied::Fork(Box::new(fork)));
    }
    let Some(entry_bytes) = &v.log_entry else {
        *wake_sync = true;
        return Ok("queued: no log entry attached; the sync will pull it".to_owned());
    };
    let refuse = |m: String| Applied::Refused(InboxRefusal::Unprocessable(m));
    let entry = SignedEntry::decode(entry_bytes)
        .map_err(|e| refuse(format!("attached log entry is malformed: {e}")))?;
    let index = entry.body.index;
    // the size the log would have with this entry: the partner chose the index, so it is
    // checked before any arithmetic (and kept within what the store can hold)
    let Some(next) = index.checked_add(1).filter(|n| i64::try_from(*n).is_ok()) else {
        return Err(refuse(format!(
            "attached log entry index {index} is beyond any log"
        )));
    };
    if entry.body.activity_id != v.id {
        return Err(refuse(format!(
            "attached log entry {index} is for activity {}, not {}",
            entry.body.activity_id, v.id
        )));
    }
    if index < replica.size {
        if let Some(fork) = entry_fork(tx, &replica, &entry, entry_bytes, now)? {
            return Err(Applied::Fork(Box::new(fork)));
        }
        return Ok(format!("already replicated (entry {index})"));
    }
    let checkpoint_note = v.checkpoint.as_deref();
    let checkpoint_size = checkpoint_note
        .and_then(|n| Note::parse(n).ok())
        .and_then(|n| Checkpoint::parse(&n.text).ok())
        .map(|c| c.size)
        .filter(|s| i64::try_from(*s).is_ok());
    if index > replica.size || checkpoint_size != Some(next) {
        let wanted = checkpoint_size.unwrap_or(next).max(next);
        store::want_replica_size(tx, actor, wanted)?;
        *wake_sync = true;
        return Ok(format!(
            "queued: entry {index} arrived with the replica at {}; backfilling",
            replica.size
        ));
    }
    let Some(note) = checkpoint_note else {
        *wake_sync = true;
        return Ok("queued: no checkpoint attached".to_owned());
    };
    let start = state_of(&replica).map_err(|e| Applied::Node(NodeError::Log(e)))?;
    let config = AuditConfig {
        origin: &replica.origin,
        start,
        log_keys: &[],
        witness_keys: &[],
        timestamp_tolerance_ms: TIMESTAMP_TOLERANCE_MS,
        parallelism: 1,
    };
    let report = audit(
        &config,
        &[AuditEntry {
            entry: entry_bytes,
            activity: ActivityBytes::Present(&v.body),
        }],
        &[note],
    );
    let problems = blocking_findings(&report.findings);
    if !problems.is_empty() {
        return Err(refuse(format!(
            "attached log entry {index} does not verify: {}",
            problems.join("; ")
        )));
    }
    if !report.checkpoints.first().is_some_and(|c| c.matches_log) {
        return Err(refuse(format!(
            "the attached checkpoint does not match the replica extended by entry {index}"
        )));
    }
    if fed.settings.partner_witness_policy.is_some() {
        // A delivered checkpoint is fresh: its witnesses have not cosigned it yet. The sync
        // applies the entry once a checkpoint covering it meets the policy.
        store::want_replica_size(tx, actor, next)?;
        store::replica_awaiting(
            tx,
            actor,
            Some(&format!(
                "awaiting witness policy: entry {index} arrived with a checkpoint that is not cosigned yet"
            )),
        )?;
        *wake_sync = true;
        return Ok(format!(
            "queued: entry {index} verified; it waits for a checkpoint that meets the witness policy"
        ));
    }
    store::insert_replica_entry(
        tx,
        &store::ReplicaEntry {
            actor,
            index,
            entry: entry_bytes,
            activity: Some(&v.body),
            activity_id: &v.id,
            kind: entry.body.kind.to_byte(),
            timestamp_ms: entry.body.timestamp_ms,
            checkpoint_size: next,
            via: "delivery",
            received_ms: now,
        },
    )?;
    let outcome = apply_activity(
        tx,
        actor,
        index,
        &v.id,
        Some(&v.body),
        &entry.body.signer,
        now,
    )?;
    let end = report.end_state;
    store::save_replica(
        tx,
        &ReplicaRow {
            size: end.tree.size(),
            root: *end.tree.root().as_bytes(),
            frontier: frontier_bytes(&end.tree),
            current_key: end.current_key.to_bytes(),
            max_timestamp_ms: end.max_timestamp_ms,
            checkpoint: std::str::from_utf8(note).ok().map(str::to_owned),
            checkpoint_size: next,
            wanted_size: next,
            last_sync_ms: Some(now),
            last_error: None,
            awaiting: None,
            ..replica
        },
    )?;
    Ok(format!("entry {index}: {outcome}"))
}

/// Stores a verified batch, unless the replica moved meanwhile (then nothing is written
/// and the stored state is returned to continue from).
fn commit_batch(
    node: &crate::Node,
    actor: &str,
    expected: &ReplicaRow,
    entries: &[Fetched],
    end: &AuditState,
    note: &[u8],
    checkpoint_size: u64,
) -> Result<ReplicaRow, RemoteError> {
    let now = crate::publish::unix_ms(node.now());
    let note_text = String::from_utf8_lossy(note).into_owned();
    let saved = node.store().write(|tx| -> Result<ReplicaRow, NodeError> {
        match store::replica(tx, actor)? {
            Some(current) if current.size != expected.size => return Ok(current),
            Some(_) => {}
            // The first batch of a new replica: its row comes first (entries refer to it).
            None => store::save_replica(tx, expected)?,
        }
        for e in entries {
            let decoded = SignedEntry::decode(&e.entry)
                .map_err(|err| NodeError::Log(format!("verified entry undecodable: {err}")))?;
            store::insert_replica_entry(
                tx,
                &store::ReplicaEntry {
                    actor,
                    index: e.index,
                    entry: &e.entry,
                    activity: e.activity.as_deref(),
                    activity_id: &decoded.body.activity_id,
                    kind: decoded.body.kind.to_byte(),
                    timestamp_ms: decoded.body.timestamp_ms,
                    checkpoint_size,
                    via: "backfill",
                    received_ms: now,
                },
            )?;
            if matches!(
                decoded.body.kind,
                punte_log::EntryKind::Activity | punte_log::EntryKind::Membership
            ) {
                apply_activity(
                    tx,
                    actor,
                    e.index,
                    &decoded.body.activity_id,
                    e.activity.as_deref(),
                    &decoded.body.signer,
                    now,
                )?;
            }
        }
        let row = ReplicaRow {
            size: end.tree.size(),
            root: *end.tree.root().as_bytes(),
            frontier: frontier_bytes(&end.tree),
            current_key: end.current_key.to_bytes(),
            max_timestamp_ms: end.max_timestamp_ms,
            checkpoint: Some(note_text),
            checkpoint_size,
            wanted_size: checkpoint_size,
            last_sync_ms: Some(now),
            last_error: None,
            awaiting: None,
            ..expected.clone()
        };
        store::save_replica(tx, &row)?;
        Ok(row)
    })?;
    Ok(saved)
}

#[derive(Debug, Deserialize)]
struct WirePage {
    end: u64,
    entries: Vec<WireEntry>,
}

#[derive(Debug, Deserialize)]
struct WireEntry {
    index: u64,
    entry: String,
    activity: Option<String>,
}

struct Fetched {
    index: u64,
    entry: Vec<u8>,
    activity: Option<Vec<u8>>,
}

/// Audits one fetched batch from `start`, with the partner's checkpoint `note` when the
/// batch ends at its size. CPU-bound: called off the async threads.
fn audit_batch(
    origin: &str,
    start: AuditState,
    entries: &[Fetched],
    note: Option<&[u8]>,
) -> punte_log::AuditReport {
    let audit_entries: Vec<AuditEntry<'_>> = entries
        .iter()
        .map(|e| AuditEntry {
            entry: &e.entry,
            activity: match &e.activity {
                Some(b) => ActivityBytes::Present(b),
                None => ActivityBytes::Erased,
            },
        })
        .collect();
    let config = AuditConfig {
        origin,
        start,
        log_keys: &[],
        witness_keys: &[],
        timestamp_tolerance_ms: TIMESTAMP_TOLERANCE_MS,
        parallelism: 2,
    };
    let notes: Vec<&[u8]> = note.into_iter().collect();
    audit(&config, &audit_entries, &notes)
}

impl Federation {
    async fn get_text(&self, url: &str) -> Result<Vec<u8>, RemoteError> {
        self.get_limited(url, super::fetch::MAX_BODY_BYTES).await
    }

    /// A GET of the partner's log; `limit` bytes at most.
    async fn get_limited(&self, url: &str, limit: usize) -> Result<Vec<u8>, RemoteError> {
        let signer = self.owned_signer(super::SignatureKind::Rfc9421);
        let got = self
            .fetcher
            .get_large(
                url,
                "text/plain, application/json",
                Some(signer.as_signer()),
                self.now_secs(),
                limit,
            )
            .await?;
        if !(200..300).contains(&got.status) {
            return Err(super::FetchError::Status {
                url: url.to_owned(),
                status: got.status,
            }
            .into());
        }
        Ok(got.body)
    }

    /// Brings the replica of `actor` up to the partner's latest checkpoint.
    pub async fn sync_replica(&self, actor: &str) -> Result<SyncReport, RemoteError> {
        let known = self.actor(actor, false).await?;
        let bad = |reason: String| RemoteError::BadActor {
            url: actor.to_owned(),
            reason,
        };
        let unverified = |reason: String| RemoteError::Log {
            actor: actor.to_owned(),
            reason,
        };
        let fork = self.node.store().read(|conn| forked(conn, actor))?;
        if let Some(why) = fork {
            return Err(RemoteError::Forked(why));
        }
        if !known.row.is_punte {
            return Err(bad(
                "not a Punte node: it has no log to replicate".to_owned()
            ));
        }
        let base = base_of_actor(actor)
            .ok_or_else(|| bad("a Punte actor id ends in /actor".to_owned()))?
            .to_owned();
        let actor_key = known
            .remote
            .keys
            .ed25519_key(&ed25519_key_id(actor))
            .ok_or_else(|| bad("no Ed25519 key in assertionMethod".to_owned()))?;
        let stored = self
            .node
            .store()
            .read(|conn| store::replica(conn, actor))
            .map_err(NodeError::from)?;
        let replica = match stored {
            Some(r) => r,
            None => self.new_replica(actor, &base, &actor_key).await?,
        };
        let note = self.get_text(&format!("{base}/log/checkpoint")).await?;
        let mut verifiers = vec![
            NoteVerifier::new(
                &replica.origin,
                punte_log::note::KeyType::Ed25519,
                actor_key,
            )
            .map_err(|e| bad(format!("checkpoint key: {e}")))?,
        ];
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(&replica.current_key)
            && k != actor_key
            && let Ok(v) = NoteVerifier::new(&replica.origin, punte_log::note::KeyType::Ed25519, k)
        {
            verifiers.push(v);
        }
        let opened = open_checkpoint(&note, &verifiers, &[])
            .map_err(|e| unverified(format!("checkpoint does not verify: {e}")))?;
        let checkpoint = opened.checkpoint;
        if checkpoint.origin != replica.origin {
            return Err(unverified(format!(
                "checkpoint origin {} is not the replica's {}",
                checkpoint.origin, replica.origin
            )));
        }
        let now = self.now_ms();
        let fork = self.node.store().write(|tx| {
            let fork = keep_checkpoint(tx, &replica, &known, &note, "sync", now)?;
            if let Some(f) = &fork {
                f.record(tx)?;
            }
            Ok::<_, NodeError>(fork)
        })?;
        if let Some(f) = fork {
            let msg = f.message();
            self.record_sync_error(actor, &msg);
            return Err(RemoteError::Forked(msg));
        }
        let from = replica.size;
        if checkpoint.size < replica.size {
            let msg = format!(
                "the partner's checkpoint (size {}) is smaller than the verified replica ({}): its log was rolled back",
                checkpoint.size, replica.size
            );
            self.record_sync_error(actor, &msg);
            return Err(unverified(msg));
        }
        if checkpoint.size == replica.size {
            if checkpoint.root != hash_from(replica.root) {
                let msg = format!(
                    "the partner's checkpoint of size {} has another root than the verified replica: equivocation",
                    checkpoint.size
                );
                self.record_sync_error(actor, &msg);
                return Err(unverified(msg));
            }
            let note_text = String::from_utf8_lossy(&note).into_owned();
            self.node
                .store()
                .write(|tx| {
                    let Some(current) = store::replica(tx, actor)? else {
                        return Ok(());
                    };
                    let awaiting = current
                        .awaiting
                        .clone()
                        .filter(|_| current.size < current.wanted_size);
                    store::save_replica(
                        tx,
                        &ReplicaRow {
                            checkpoint: Some(note_text),
                            checkpoint_size: checkpoint.size,
                            last_sync_ms: Some(now),
                            last_error: None,
                            awaiting,
                            ..current
                        },
                    )
                })
                .map_err(NodeError::from)?;
            return Ok(SyncReport {
                actor: actor.to_owned(),
                from,
                to: from,
                checkpoint_size: checkpoint.size,
            });
        }

        // With the witness requirement: the latest checkpoint if it meets the policy, else
        // the largest one that does (`?cosigned=N`), else nothing yet.
        let latest_size = checkpoint.size;
        let mut waiting = None;
        let (note, checkpoint) = match self.settings.partner_witness_policy {
            None => (note, checkpoint),
            Some(policy) => {
                let check = self
                    .check_partner_witnesses(policy, &base, &note, &verifiers)
                    .await;
                if check.met {
                    (note, checkpoint)
                } else {
                    tracing::info!(partner = %actor, reason = %check.reason, "replica holds back unwitnessed entries");
                    self.hold_replica(&replica, latest_size, &check.reason)?;
                    let earlier = self
                        .cosigned_checkpoint(policy, &base, &replica, &checkpoint, &verifiers)
                        .await;
                    let Some((note, checkpoint)) = earlier else {
                        return Ok(SyncReport {
                            actor: actor.to_owned(),
                            from,
                            to: from,
                            checkpoint_size: latest_size,
                        });
                    };
                    waiting = Some(check.reason);
                    (note, checkpoint)
                }
            }
        };

        let mut replica = replica;
        while replica.size < checkpoint.size {
            let start = replica.size;
            let end = checkpoint.size.min(start + SYNC_BATCH);
            let entries = self.fetch_entries(&base, start, end).await?;
            let state = state_of(&replica).map_err(|e| RemoteError::Node(NodeError::Log(e)))?;
            let final_batch = end == checkpoint.size;
            // up to SYNC_BATCH signatures and hashes: verified off the async threads
            let origin = replica.origin.clone();
            let checked = final_batch.then(|| note.clone());
            let (report, entries) = tokio::task::spawn_blocking(move || {
                let report = audit_batch(&origin, state, &entries, checked.as_deref());
                (report, entries)
            })
            .await
            .map_err(|e| RemoteError::Node(NodeError::Log(format!("verification stopped: {e}"))))?;
            let problems = blocking_findings(&report.findings);
            if !problems.is_empty() {
                let msg = format!(
                    "entries {start}..{end} do not verify: {}",
                    problems.join("; ")
                );
                self.record_sync_error(actor, &msg);
                return Err(unverified(msg));
            }
            let end_root = report.end_state.tree.root();
            if report.end_state.tree.size() != end {
                return Err(unverified(format!(
                    "the partner served {} entries for {start}..{end}",
                    report.end_state.tree.size() - start
                )));
            }
            if final_batch {
                if !report.checkpoints.first().is_some_and(|c| c.matches_log) {
                    let msg =
                        format!("entries up to {end} do not match the partner's signed checkpoint");
                    self.record_sync_error(actor, &msg);
                    return Err(unverified(msg));
                }
            } else {
                let proof_text = self
                    .get_text(&format!(
                        "{base}/log/proof/consistency?old={end}&new={}",
                        checkpoint.size
                    ))
                    .await?;
                let proof = parse_proof(&String::from_utf8_lossy(&proof_text))
                    .map_err(|e| unverified(format!("consistency proof: {e}")))?;
                if let Err(e) =
                    verify_consistency(end, checkpoint.size, &end_root, &checkpoint.root, &proof)
                {
                    let msg = format!(
                        "entries up to {end} are not consistent with the signed checkpoint of size {}: {e}",
                        checkpoint.size
                    );
                    self.record_sync_error(actor, &msg);
                    return Err(unverified(msg));
                }
            }
            // the write (fsync'd, with every replicated object) runs off the async threads too
            let (node, owner, note) = (self.node.clone(), actor.to_owned(), note.clone());
            let checkpoint_size = checkpoint.size;
            replica = tokio::task::spawn_blocking(move || {
                commit_batch(
                    &node,
                    &owner,
                    &replica,
                    &entries,
                    &report.end_state,
                    &note,
                    checkpoint_size,
                )
            })
            .await
            .map_err(|e| RemoteError::Node(NodeError::Log(format!("storing stopped: {e}"))))??;
        }
        if let Some(reason) = waiting {
            self.hold_replica(&replica, latest_size, &reason)?;
        }
        Ok(SyncReport {
            actor: actor.to_owned(),
            from,
            to: replica.size,
            checkpoint_size: checkpoint.size,
        })
    }

    /// The partner's largest checkpoint with enough cosignatures (`GET
    /// /log/checkpoint?cosigned=N`), when it verifies, lies between the replica and the
    /// latest checkpoint (with the latest's root at the latest's size) and meets `policy`.
    async fn cosigned_checkpoint(
        &self,
        policy: crate::federation::witness::WitnessPolicy,
        base: &str,
        replica: &ReplicaRow,
        latest: &Checkpoint,
        verifiers: &[NoteVerifier],
    ) -> Option<(Vec<u8>, Checkpoint)> {
        let url = format!(
            "{base}/log/checkpoint?cosigned={}",
            policy.min_cosignatures.max(1)
        );
        let note = self.get_text(&url).await.ok()?;
        let opened = open_checkpoint(&note, verifiers, &[]).ok()?;
        let c = opened.checkpoint;
        let fits = c.origin == replica.origin
            && c.size > replica.size
            && c.size <= latest.size
            && (c.size < latest.size || c.root == latest.root);
        if !fits {
            return None;
        }
        self.check_partner_witnesses(policy, base, &note, verifiers)
            .await
            .met
            .then_some((note, c))
    }

    /// Records that the replica waits for a checkpoint meeting the witness policy (creating
    /// the replica row of a new partner, so the wait shows).
    fn hold_replica(
        &self,
        replica: &ReplicaRow,
        announced: u64,
        reason: &str,
    ) -> Result<(), RemoteError> {
        let now = self.now_ms();
        self.node
            .store()
            .write(|tx| {
                let current =
                    store::replica(tx, &replica.actor)?.unwrap_or_else(|| replica.clone());
                store::save_replica(
                    tx,
                    &ReplicaRow {
                        wanted_size: current.wanted_size.max(announced),
                        last_sync_ms: Some(now),
                        last_error: None,
                        awaiting: Some(reason.to_owned()),
                        ..current
                    },
                )
            })
            .map_err(NodeError::from)?;
        Ok(())
    }

    fn record_sync_error(&self, actor: &str, message: &str) {
        tracing::warn!(partner = actor, error = message, "replica sync failed");
        let now = self.now_ms();
        let _ = self
            .node
            .store()
            .write(|tx| store::replica_error(tx, actor, message, now));
    }

    /// Starts a replica: the genesis key is the first of the partner's key history, which
    /// must end with the key its actor publishes.
    async fn new_replica(
        &self,
        actor: &str,
        base: &str,
        actor_key: &ed25519_dalek::VerifyingKey,
    ) -> Result<ReplicaRow, RemoteError> {
        let bad = |reason: String| RemoteError::BadActor {
            url: actor.to_owned(),
            reason,
        };
        let text = self.get_text(&format!("{base}/log/key")).await?;
        let text = String::from_utf8(text).map_err(|_| bad("/log/key is not UTF-8".into()))?;
        let keys: Vec<NoteVerifier> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| NoteVerifier::parse(l.trim()))
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("/log/key: {e}")))?;
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return Err(bad("/log/key lists no key".to_owned()));
        };
        if last.public_key() != actor_key {
            return Err(bad(
                "the log's current key is not the key the actor publishes".to_owned(),
            ));
        }
        Ok(ReplicaRow {
            actor: actor.to_owned(),
            base_url: base.to_owned(),
            origin: first.name().to_owned(),
            size: 0,
            root: *punte_log::empty_root().as_bytes(),
            frontier: Vec::new(),
            current_key: first.public_key().to_bytes(),
            max_timestamp_ms: None,
            checkpoint: None,
            checkpoint_size: 0,
            wanted_size: 0,
            last_sync_ms: None,
            last_error: None,
            awaiting: None,
        })
    }

    async fn fetch_entries(
        &self,
        base: &str,
        start: u64,
        end: u64,
    ) -> Result<Vec<Fetched>, RemoteError> {
        let mut out = Vec::new();
        let mut next = start;
        while next < end {
            let to = end.min(next + PAGE);
            let body = self
                .get_limited(
                    &format!("{base}/log/entries?start={next}&end={to}"),
                    MAX_PAGE_BYTES,
                )
                .await?;
            let page: WirePage =
                serde_json::from_slice(&body).map_err(|e| RemoteError::BadActor {
                    url: base.to_owned(),
                    reason: format!("/log/entries answer is malformed: {e}"),
                })?;
            if page.end <= next || page.end > to || page.entries.len() as u64 != page.end - next {
                return Err(RemoteError::BadActor {
                    url: base.to_owned(),
                    reason: format!("/log/entries?start={next} answered a wrong range"),
                });
            }
            for (i, e) in page.entries.into_iter().enumerate() {
                let expected = next + i as u64;
                let decode = |s: &str| STANDARD.decode(s);
                let (Ok(entry), Ok(activity)) = (
                    decode(&e.entry),
                    e.activity.as_deref().map(decode).transpose(),
                ) else {
                    return Err(RemoteError::BadActor {
                        url: base.to_owned(),
                        reason: format!("entry {expected} is not base64"),
                    });
                };
                if e.index != expected {
                    return Err(RemoteError::BadActor {
                        url: base.to_owned(),
                        reason: format!("entry {expected} was served as {}", e.index),
                    });
                }
                out.push(Fetched {
                    index: e.index,
                    entry,
                    activity,
                });
            }
            next = page.end;
        }
        Ok(out)
    }

    /// Partners' signed checkpoints as they arrived here (`GET /federation/checkpoints`),
    /// of `origin` only when given, largest size first.
    pub fn partner_checkpoints(
        &self,
        origin: Option<&str>,
        limit: u32,
    ) -> crate::Result<Vec<store::PartnerCheckpoint>> {
        Ok(self
            .node
            .store()
            .read(|conn| store::partner_checkpoints(conn, origin, limit.clamp(1, 1000)))?)
    }

    /// Replicas of this node's partners, by actor.
    pub fn replicas(&self) -> crate::Result<Vec<ReplicaRow>> {
        Ok(self.node.store().read(store::replicas)?)
    }

    /// The partners whose signed history was seen to fork here, with the evidence.
    pub fn partner_forks(&self) -> crate::Result<Vec<store::PartnerFork>> {
        Ok(self.node.store().read(store::partner_forks)?)
    }

    /// Objects replicated from partners (`kind`: practice, evaluation, indicator,
    /// adaptation, organisation).
    pub fn replica_objects(
        &self,
        actor: Option<&str>,
        kind: Option<&str>,
    ) -> crate::Result<Vec<ReplicaObject>> {
        Ok(self
            .node
            .store()
            .read(|conn| store::replica_objects(conn, actor, kind, false))?)
    }
}

/// Partners to sync now: accepted Punte follows without a replica, behind, due a poll, or
/// not yet `pulled` since the node started (a node that was down catches up at once, not
/// at the partner's next retry or poll).
fn due_partners(
    fed: &Federation,
    pulled: &std::collections::HashSet<String>,
) -> Result<Vec<String>, NodeError> {
    let now = fed.now_ms();
    let poll = i64::try_from(fed.settings.replica_poll_interval.as_millis()).unwrap_or(i64::MAX);
    fed.node.store().read(|conn| {
        let mut due = Vec::new();
        for f in store::following(conn, Some(store::FollowState::Accepted))? {
            if !f.is_punte {
                continue;
            }
            if !pulled.contains(&f.actor) {
                due.push(f.actor);
                continue;
            }
            match store::replica(conn, &f.actor)? {
                None => due.push(f.actor),
                Some(r)
                    if r.size < r.wanted_size
                        || r.last_sync_ms.is_none_or(|t| now.saturating_sub(t) >= poll) =>
                {
                    due.push(f.actor);
                }
                Some(_) => {}
            }
        }
        Ok(due)
    })
}

/// Longest pause between syncs of a replica that makes no progress although its partner's
/// log is larger (e.g. awaiting the required witnesses).
const STALLED_MAX_DELAY: Duration = Duration::from_secs(60);

/// When to sync a partner again after a failure or a sync that made no progress.
#[derive(Debug, Default)]
struct Backoff {
    attempts: u32,
    until_ms: i64,
    /// For a stall: the partner's checkpoint size it stalled at (a new size resets it).
    stalled_at: Option<u64>,
}

/// Runs the replica sync until `shutdown` is true. A partner whose sync fails is retried with
/// exponential backoff up to the poll interval; one whose replica stays behind without
/// progress (awaiting witnesses) with backoff up to [`STALLED_MAX_DELAY`], started again when
/// the partner's checkpoint grows.
pub(crate) async fn run(fed: Arc<Federation>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut backoff: std::collections::HashMap<String, Backoff> = Default::default();
    // partners synced since the start: every other followed partner is pulled at once
    let mut pulled = std::collections::HashSet::<String>::new();
    let delay_ms = |attempts: u32, max: Duration| {
        let delay = super::delivery::backoff(
            Duration::from_secs(5),
            max.max(Duration::from_secs(5)),
            attempts,
        );
        i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)
    };
    loop {
        if *shutdown.borrow() {
            break;
        }
        let due = {
            let (fed, pulled) = (fed.clone(), pulled.clone());
            tokio::task::spawn_blocking(move || due_partners(&fed, &pulled)).await
        };
        let now = fed.now_ms();
        match due {
            Ok(Ok(actors)) => {
                for actor in actors {
                    if backoff.get(&actor).is_some_and(|b| b.until_ms > now) {
                        continue;
                    }
                    match fed.sync_replica(&actor).await {
                        Ok(report)
                            if report.to == report.from && report.checkpoint_size > report.to =>
                        {
                            pulled.insert(actor.clone());
                            // Behind without progress: do not ask the partner every few
                            // seconds, but start again from 5 s when its log grows.
                            let entry = backoff.entry(actor.clone()).or_default();
                            if entry.stalled_at != Some(report.checkpoint_size) {
                                entry.attempts = 0;
                                entry.stalled_at = Some(report.checkpoint_size);
                            }
                            // 5 s, 10 s, 20 s, … up to the cap (with jitter).
                            entry.until_ms = now.saturating_add(delay_ms(
                                entry.attempts,
                                STALLED_MAX_DELAY.min(fed.settings.replica_poll_interval),
                            ));
                            entry.attempts += 1;
                        }
                        Ok(report) => {
                            backoff.remove(&actor);
                            pulled.insert(actor.clone());
                            if report.to > report.from {
                                tracing::info!(partner = %actor, from = report.from, to = report.to, "replica caught up");
                            }
                        }
                        Err(e) => {
                            let entry = backoff.entry(actor.clone()).or_default();
                            entry.stalled_at = None;
                            entry.attempts += 1;
                            entry.until_ms = now.saturating_add(delay_ms(
                                entry.attempts,
                                fed.settings.replica_poll_interval,
                            ));
                            tracing::warn!(partner = %actor, error = %e, "replica sync failed");
                            fed.record_sync_error(&actor, &e.to_string());
                        }
                    }
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot list partners to sync"),
            Err(_) => {}
        }
        let wait = fed
            .settings
            .replica_poll_interval
            .min(Duration::from_secs(5))
            .max(Duration::from_millis(100));
        tokio::select! {
            () = fed.sync_wakeup.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}
