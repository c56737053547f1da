//! Witnessing (docs/protocol.md §6): partners cosign each other's checkpoints.
//!
//! Two roles, one module each way:
//! - **witness** (this file): the node is a C2SP `tlog-witness` for the Punte partners it
//!   follows. [`Federation::add_checkpoint`] verifies a submitted checkpoint against the
//!   partner's key and the last checkpoint it cosigned for that origin, and cosigns it with
//!   the node's witness key (`cosignature/v1`, separate from the identity key). Checking the
//!   old size and saving the new state happen in one transaction. Validly signed checkpoints
//!   that conflict with the cosigned one are kept as evidence.
//! - **log** (`collect.rs`): the node submits each new checkpoint to its witnesses (its
//!   accepted Punte followers), stores the cosignatures per size and staples them to the
//!   checkpoint it serves; a witness that cosigned more than the node holds sets the append
//!   guard (a node restored from an old backup refuses to fork its own history).
//!
//! The auditor's side, comparing what a node and its witnesses serve, is
//! `punte_audit::network`.

mod collect;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use punte_log::checkpoint::{Checkpoint, open_checkpoint};
use punte_log::note::{KeyType, Note, NoteSigner, NoteVerifier};
use punte_log::tree::{format_proof, verify_consistency};
use punte_log::{Hash, empty_root};
use punte_protocol::keys::ed25519_key_id;
use punte_store::federation::{self as fed_store, FollowState};
use punte_store::witness::{self as store, EvidenceRow, WitnessState};

use crate::Node;
use crate::error::{NodeError, Result};
use crate::federation::membership::PinnedWitness;
use crate::federation::{Federation, base_of_actor};
use crate::publish::origin_for_base;

pub(crate) use collect::run;

/// Media type of the 409 answer of `add-checkpoint`: the size cosigned last, in decimal.
pub const TLOG_SIZE: &str = "text/x.tlog.size";
/// Most consistency proof lines a request may carry (C2SP tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;
/// Largest `add-checkpoint` body accepted.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
pub use punte_protocol::witness::{WITNESS_PREFIX, witness_name};

/// An `add-checkpoint` request body, parsed (not verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, exactly as submitted.
    pub note: Vec<u8>,
}

/// Why a witness refused a checkpoint; each maps to the status code of C2SP tlog-witness.
#[derive(Debug, thiserror::Error)]
pub enum WitnessRefusal {
    /// 400: malformed body, or old size above the checkpoint's size.
    #[error("{0}")]
    BadRequest(String),
    /// 404: the origin is not a partner this node follows.
    #[error("unknown origin {0}")]
    UnknownOrigin(String),
    /// 403: no signature by the origin's key verifies.
    #[error("{0}")]
    Forbidden(String),
    /// 409: the old size is not the size last cosigned, or equal sizes with other roots.
    #[error("{reason}")]
    Conflict { size: u64, reason: String },
    /// 422: the consistency proof does not verify.
    #[error("{0}")]
    BadProof(String),
    /// 403 (500 if the list is unreadable): members-only mode refused the log's origin, or
    /// the checkpoint is not signed by the member's pinned identity key.
    #[error("{0}")]
    Membership(crate::federation::membership::MembershipRefusal),
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl From<punte_store::StoreError> for WitnessRefusal {
    fn from(e: punte_store::StoreError) -> Self {
        Self::Node(e.into())
    }
}

/// Parses `old N\n`, up to 63 base64 proof lines, an empty line, and the signed checkpoint.
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpoint, WitnessRefusal> {
    let bad = |m: &str| WitnessRefusal::BadRequest(m.to_owned());
    let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8"))?;
    let (first, mut rest) = text
        .split_once('\n')
        .ok_or_else(|| bad("the body has no old size line"))?;
    let old = first
        .strip_prefix("old ")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .filter(|n| *n == "0" || !n.starts_with('0'))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("the first line must be `old N` (decimal, no leading zeros)"))?;
    let mut proof = Vec::new();
    loop {
        let (line, after) = rest
            .split_once('\n')
            .ok_or_else(|| bad("the proof lines must end with an empty line"))?;
        rest = after;
        if line.is_empty() {
            break;
        }
        if proof.len() >= MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        proof.push(
            Hash::from_base64(line)
                .map_err(|_| bad("a consistency proof line is not a base64 hash"))?,
        );
    }
    if rest.is_empty() {
        return Err(bad("the body has no checkpoint"));
    }
    Ok(AddCheckpoint {
        old,
        proof,
        note: rest.as_bytes().to_vec(),
    })
}

/// Formats an `add-checkpoint` body.
pub fn format_add_checkpoint(old: u64, proof: &[Hash], note: &str) -> String {
    format!("old {old}\n{}\n{note}", format_proof(proof))
}

/// The witness policy: how many cosignatures the latest checkpoint needs, from how many
/// countries (`[witness]` config section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessPolicy {
    pub min_cosignatures: u32,
    pub distinct_countries: u32,
}

impl Default for WitnessPolicy {
    fn default() -> Self {
        Self {
            min_cosignatures: 2,
            distinct_countries: 2,
        }
    }
}

/// One cosignature of the latest checkpoint, for the status view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CosignerStatus {
    pub witness: String,
    pub country: Option<String>,
    pub timestamp: u64,
}

/// One witness, for the status view and `GET /log/witnesses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessInfo {
    pub actor: String,
    pub url: String,
    pub vkey: Option<String>,
    pub country: Option<String>,
    /// The size it last cosigned.
    pub size: u64,
    pub last_error: Option<String>,
}

/// The refusal to append, for the status view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardStatus {
    pub witness: String,
    pub local_size: u64,
    pub cosigned: String,
    pub reason: String,
}

/// Whether the latest checkpoint meets the witness policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WitnessStatus {
    pub size: u64,
    pub policy: WitnessPolicy,
    pub cosignatures: Vec<CosignerStatus>,
    pub countries: Vec<String>,
    pub meets_policy: bool,
    pub witnesses: Vec<WitnessInfo>,
    /// Set when the node refuses to append (a witness cosigned more than it holds).
    pub refusing_appends: Option<GuardStatus>,
}

impl Node {
    /// The witness key as a `cosignature/v1` signer named `HOST/punte-witness`.
    pub fn witness_signer(&self) -> Result<NoteSigner> {
        let origin = self.log_origin()?;
        NoteSigner::new(
            &witness_name(&origin),
            KeyType::CosignatureV1,
            self.keys().witness.clone(),
        )
        .map_err(|e| NodeError::Log(format!("witness key: {e}")))
    }

    /// The witness verifier key (`GET /witness/key`).
    pub fn witness_vkey(&self) -> Result<String> {
        Ok(self.witness_signer()?.verifier().to_vkey())
    }

    /// The latest checkpoint this node cosigned for each origin (optionally one).
    pub fn witnessed_checkpoints(&self, origin: Option<&str>) -> Result<Vec<WitnessState>> {
        let all = self.store().read(store::states)?;
        Ok(all
            .into_iter()
            .filter(|s| origin.is_none_or(|o| o == s.origin))
            .collect())
    }

    /// Conflicting checkpoints this node kept as a witness.
    pub fn witness_evidence(&self, origin: Option<&str>, limit: u32) -> Result<Vec<EvidenceRow>> {
        Ok(self
            .store()
            .read(|conn| store::evidence(conn, origin, limit.clamp(1, 1000)))?)
    }

    /// This node's witnesses.
    pub fn log_witnesses(&self) -> Result<Vec<WitnessInfo>> {
        let rows = self.store().read(store::witnesses)?;
        Ok(rows
            .into_iter()
            .map(|w| WitnessInfo {
                actor: w.actor,
                url: w.url,
                vkey: w.vkey,
                country: w.country,
                size: w.size,
                last_error: w.last_error,
            })
            .collect())
    }

    /// Whether the latest checkpoint meets `policy`, with the cosigners and the guard. A
    /// cosignature counts only when it is by a current witness and verifies with that
    /// witness's key on record.
    pub fn witness_status(&self, policy: WitnessPolicy) -> Result<WitnessStatus> {
        self.witness_status_among(policy, None)
    }

    /// [`Node::witness_status`]; with `only` (members-only mode) just the cosignatures of
    /// those witnesses by the key the membership list pins for them count, with the
    /// country it pins.
    pub(crate) fn witness_status_among(
        &self,
        policy: WitnessPolicy,
        only: Option<&[PinnedWitness]>,
    ) -> Result<WitnessStatus> {
        let (checkpoint, cosigs, guard) = self.store().read(|conn| {
            let checkpoint = punte_store::log::latest_checkpoint(conn)?;
            let size = checkpoint.as_ref().map_or(0, |(s, _)| *s);
            let cosigs = store::cosignatures(conn, size)?;
            let guard = store::append_guard(conn)?;
            Ok::<_, NodeError>((checkpoint, cosigs, guard))
        })?;
        let size = checkpoint.as_ref().map_or(0, |(s, _)| *s);
        let log_keys: Vec<NoteVerifier> = self
            .log_verifier_keys()?
            .iter()
            .filter_map(|k| NoteVerifier::parse(k).ok())
            .collect();
        let witnesses: Vec<WitnessInfo> = self
            .log_witnesses()?
            .into_iter()
            .filter(|w| only.is_none_or(|o| o.iter().any(|m| m.actor == w.actor)))
            .collect();
        // The key and country a witness's cosignature is judged by.
        let judged_by = |actor: &str| -> Option<(String, Option<String>)> {
            match only {
                Some(o) => o
                    .iter()
                    .find(|m| m.actor == actor)
                    .map(|m| (m.vkey.clone(), Some(m.country.clone()))),
                None => witnesses
                    .iter()
                    .find(|w| w.actor == actor)
                    .and_then(|w| Some((w.vkey.clone()?, w.country.clone()))),
            }
        };
        let cosignatures: Vec<CosignerStatus> = cosigs
            .into_iter()
            .filter_map(|c| {
                let (vkey, country) = judged_by(&c.witness)?;
                let wkey = NoteVerifier::parse(&vkey).ok()?;
                let (_, note) = checkpoint.as_ref()?;
                let opened = open_checkpoint(
                    format!("{note}{}", c.line).as_bytes(),
                    &log_keys,
                    std::slice::from_ref(&wkey),
                )
                .ok()?;
                opened
                    .cosigners
                    .iter()
                    .any(|(name, _)| name == wkey.name())
                    .then_some(CosignerStatus {
                        country,
                        witness: c.witness,
                        timestamp: c.timestamp,
                    })
            })
            .collect();
        let mut countries: Vec<String> = cosignatures
            .iter()
            .filter_map(|c| c.country.clone())
            .collect();
        countries.sort();
        countries.dedup();
        let meets_policy = guard.is_none()
            && cosignatures.len() >= policy.min_cosignatures as usize
            && countries.len() >= policy.distinct_countries as usize;
        Ok(WitnessStatus {
            size,
            policy,
            cosignatures,
            countries,
            meets_policy,
            witnesses,
            refusing_appends: guard.map(|g| GuardStatus {
                witness: g.witness,
                local_size: g.local_size,
                cosigned: g.cosigned,
                reason: g.reason,
            }),
        })
    }

    /// The largest checkpoint with at least `min` cosignatures, stapled
    /// (`GET /log/checkpoint?cosigned=N`); `None` when there is none.
    pub fn cosigned_checkpoint(&self, min: u32) -> Result<Option<String>> {
        self.store().read(
            |conn| match store::largest_cosigned_checkpoint(conn, min)? {
                Some((size, note)) => Ok(Some(staple(conn, size, note)?)),
                None => Ok(None),
            },
        )
    }

    /// Lifts the append guard; returns whether one was set.
    pub fn clear_append_guard(&self) -> Result<bool> {
        Ok(self.store().write(|tx| store::clear_append_guard(tx))?)
    }
}

/// Fails while the append guard is set (called in every change's transaction).
pub(crate) fn check_append_allowed(conn: &punte_store::Connection) -> Result<()> {
    Ok(store::check_append_allowed(conn)?)
}

/// The checkpoint `note` of `size` with the stored cosignatures stapled after the log's own
/// signature line.
pub(crate) fn staple(conn: &punte_store::Connection, size: u64, note: String) -> Result<String> {
    let cosigs = store::cosignatures(conn, size)?;
    if cosigs.is_empty() {
        return Ok(note);
    }
    let mut out = note;
    for c in cosigs {
        out.push_str(&c.line);
    }
    Ok(out)
}

/// A partner whose checkpoints this node witnesses.
struct Witnessed {
    actor: String,
    keys: Vec<NoteVerifier>,
}

/// What the witness transaction decided.
enum Decision {
    Cosigned(String),
    Refused(WitnessRefusal),
}

impl Federation {
    /// The followed Punte partner whose log origin is `origin`, with the keys its checkpoints
    /// may be signed with (the actor's current identity key and the replica's current key).
    async fn witnessed(&self, origin: &str, refresh: bool) -> Result<Option<Witnessed>> {
        let node = self.node().clone();
        let wanted = origin.to_owned();
        let found =
            tokio::task::spawn_blocking(move || -> Result<Option<(String, Option<[u8; 32]>)>> {
                node.store().read(|conn| {
                    for f in fed_store::following(conn, Some(FollowState::Accepted))? {
                        if !f.is_punte {
                            continue;
                        }
                        let replica = fed_store::replica(conn, &f.actor)?;
                        let computed =
                            base_of_actor(&f.actor).and_then(|b| origin_for_base(b).ok());
                        let matches = replica.as_ref().is_some_and(|r| r.origin == wanted)
                            || computed.as_deref() == Some(wanted.as_str());
                        if matches {
                            return Ok(Some((f.actor, replica.map(|r| r.current_key))));
                        }
                    }
                    Ok(None)
                })
            })
            .await
            .map_err(|e| NodeError::Log(format!("witness lookup: {e}")))??;
        let Some((actor, replica_key)) = found else {
            return Ok(None);
        };
        let mut keys = Vec::new();
        match self.actor(&actor, refresh).await {
            Ok(known) => {
                if let Some(k) = known.remote.keys.ed25519_key(&ed25519_key_id(&actor)) {
                    keys.push(k);
                }
            }
            Err(e) => {
                tracing::warn!(partner = %actor, error = %e, "cannot read a witnessed partner's actor")
            }
        }
        if let Some(k) = replica_key.and_then(|b| VerifyingKey::from_bytes(&b).ok())
            && !keys.contains(&k)
        {
            keys.push(k);
        }
        let keys = keys
            .into_iter()
            .filter_map(|k| NoteVerifier::new(origin, KeyType::Ed25519, k).ok())
            .collect();
        Ok(Some(Witnessed { actor, keys }))
    }

    /// The witness status of this node's latest checkpoint (`GET /api/v1/witness/status`):
    /// in members-only mode only current members' cosignatures by their pinned witness keys
    /// count (docs/protocol.md §5.8).
    pub fn witness_status(&self, policy: WitnessPolicy) -> Result<WitnessStatus> {
        let pinned = self.member_witnesses()?;
        self.node().witness_status_among(policy, pinned.as_deref())
    }

    /// C2SP `add-checkpoint`: verifies `body` and answers the cosignature line.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, WitnessRefusal> {
        let request = parse_add_checkpoint(body)?;
        let note = Note::parse(&request.note)
            .map_err(|e| WitnessRefusal::BadRequest(format!("the checkpoint note: {e}")))?;
        let checkpoint = Checkpoint::parse(&note.text)
            .map_err(|e| WitnessRefusal::BadRequest(format!("the checkpoint: {e}")))?;
        let origin = checkpoint.origin.clone();
        // Members-only mode: only listed members' logs, signed by their pinned key.
        let pinned = self
            .membership_origin_gate(&origin)
            .map_err(WitnessRefusal::Membership)?;
        let mut partner = self
            .witnessed(&origin, false)
            .await?
            .ok_or_else(|| WitnessRefusal::UnknownOrigin(origin.clone()))?;
        if let Some(key) = pinned {
            partner.keys = NoteVerifier::new(&origin, KeyType::Ed25519, key)
                .into_iter()
                .collect();
            open_checkpoint(&request.note, &partner.keys, &[]).map_err(|e| {
                WitnessRefusal::Membership(crate::federation::membership::MembershipRefusal::KeyMismatch(
                    format!(
                        "the checkpoint is not signed by the identity key the membership list pins for {}: {e}",
                        partner.actor
                    ),
                ))
            })?;
        } else if open_checkpoint(&request.note, &partner.keys, &[]).is_err() {
            // The partner may have rotated its key: read its actor again, once.
            partner = self
                .witnessed(&origin, true)
                .await?
                .ok_or_else(|| WitnessRefusal::UnknownOrigin(origin.clone()))?;
        }
        open_checkpoint(&request.note, &partner.keys, &[]).map_err(|e| {
            WitnessRefusal::Forbidden(format!(
                "no signature by the key of {} verifies: {e}",
                partner.actor
            ))
        })?;
        if request.old > checkpoint.size {
            return Err(WitnessRefusal::BadRequest(format!(
                "old size {} is above the checkpoint size {}",
                request.old, checkpoint.size
            )));
        }
        let signer = self.node().witness_signer()?;
        let now_ms = self.now_ms();
        let timestamp = u64::try_from(self.now_secs()).unwrap_or(0);
        let node = self.node().clone();
        let actor = partner.actor.clone();
        let decision = tokio::task::spawn_blocking(move || {
            node.store().write(|tx| {
                decide(
                    tx,
                    &request,
                    &checkpoint,
                    &actor,
                    &signer,
                    timestamp,
                    now_ms,
                )
            })
        })
        .await
        .map_err(|e| NodeError::Log(format!("witness task: {e}")))??;
        match decision {
            Decision::Cosigned(line) => Ok(line),
            Decision::Refused(r) => Err(r),
        }
    }
}

/// The atomic part of `add-checkpoint`: compare with the stored state, keep evidence, cosign
/// and save. Refusals are returned as values so the evidence commits.
fn decide(
    tx: &punte_store::Transaction<'_>,
    request: &AddCheckpoint,
    checkpoint: &Checkpoint,
    actor: &str,
    signer: &NoteSigner,
    timestamp: u64,
    now_ms: i64,
) -> Result<Decision, NodeError> {
    // A log this node's replica saw fork is cosigned no further (its evidence is kept).
    if punte_store::federation::origin_forked(tx, &checkpoint.origin)? {
        return Ok(Decision::Refused(WitnessRefusal::Forbidden(format!(
            "the signed history of {} forked (this node holds the evidence): it is cosigned no further",
            checkpoint.origin
        ))));
    }
    let stored = store::state(tx, &checkpoint.origin)?;
    let (stored_size, stored_root) = stored
        .as_ref()
        .map_or((0, empty_root()), |s| (s.size, Hash(s.root)));
    let note_text = String::from_utf8_lossy(&request.note).into_owned();
    let keep = |kind: &str| -> Result<(), NodeError> {
        if let Some(s) = &stored {
            store::insert_evidence(
                tx,
                &EvidenceRow {
                    id: 0,
                    origin: checkpoint.origin.clone(),
                    actor: actor.to_owned(),
                    kind: kind.to_owned(),
                    cosigned: s.checkpoint.clone(),
                    submitted: note_text.clone(),
                    old_size: request.old,
                    proof: format_proof(&request.proof),
                    received_ms: now_ms,
                },
            )?;
        }
        Ok(())
    };
    if request.old != stored_size {
        return Ok(Decision::Refused(WitnessRefusal::Conflict {
            size: stored_size,
            reason: format!(
                "old size {} is not the size last cosigned, {stored_size}",
                request.old
            ),
        }));
    }
    if checkpoint.size == stored_size && stored.is_some() {
        if checkpoint.root != stored_root {
            keep("same-size-other-root")?;
            return Ok(Decision::Refused(WitnessRefusal::Conflict {
                size: stored_size,
                reason: format!(
                    "a checkpoint of size {stored_size} with another root was cosigned; kept as evidence of equivocation"
                ),
            }));
        }
    } else if let Err(e) = verify_consistency(
        request.old,
        checkpoint.size,
        &stored_root,
        &checkpoint.root,
        &request.proof,
    ) {
        keep("proof-failed")?;
        return Ok(Decision::Refused(WitnessRefusal::BadProof(format!(
            "the consistency proof from {} to {} does not verify: {e}",
            request.old, checkpoint.size
        ))));
    }
    let cosignature = signer
        .cosign(&checkpoint.to_text(), timestamp)
        .map_err(|e| NodeError::Log(format!("cannot cosign: {e}")))?;
    let mut note =
        Note::parse(&request.note).map_err(|e| NodeError::Log(format!("checkpoint note: {e}")))?;
    note.add_signature(cosignature.clone());
    let stapled = note
        .to_text()
        .map_err(|e| NodeError::Log(format!("checkpoint note: {e}")))?;
    store::save_state(
        tx,
        &WitnessState {
            origin: checkpoint.origin.clone(),
            actor: actor.to_owned(),
            size: checkpoint.size,
            root: *checkpoint.root.as_bytes(),
            checkpoint: stapled,
            cosigned_ms: now_ms,
        },
    )?;
    Ok(Decision::Cosigned(cosignature.to_line()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn add_checkpoint_bodies_parse_strictly() {
        let h = Hash([1; 32]).to_base64();
        let note = "o/punte-log\n2\nAAAA\n\n— o/punte-log abc\n";
        let body = format!("old 1\n{h}\n\n{note}");
        let parsed = parse_add_checkpoint(body.as_bytes()).unwrap();
        assert_eq!(parsed.old, 1);
        assert_eq!(parsed.proof, vec![Hash([1; 32])]);
        assert_eq!(parsed.note, note.as_bytes());
        assert_eq!(
            format_add_checkpoint(1, &[Hash([1; 32])], note),
            body,
            "format and parse agree"
        );
        let empty = parse_add_checkpoint(format!("old 0\n\n{note}").as_bytes()).unwrap();
        assert!(empty.proof.is_empty());
        for bad in [
            "".to_owned(),
            format!("old 01\n\n{note}"),
            format!("old -1\n\n{note}"),
            format!("old 1\n{h}\n"),
            format!("old 1\nnot-base64\n\n{note}"),
            "old 1\n\n".to_owned(),
            format!("new 1\n\n{note}"),
            format!("old 1\n{}\n{note}", format!("{h}\n").repeat(64)),
        ] {
            assert!(
                matches!(
                    parse_add_checkpoint(bad.as_bytes()),
                    Err(WitnessRefusal::BadRequest(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_witness_name_follows_the_origin() {
        assert_eq!(
            witness_name("ngo.example.org/punte-log"),
            "ngo.example.org/punte-witness"
        );
    }
}
