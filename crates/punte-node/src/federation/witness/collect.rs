//! The log side of witnessing: the worker that submits each new checkpoint to the node's
//! witnesses, stores the cosignatures they return, resyncs on 409, and sets the append
//! guard when a witness has cosigned more of this log than the node holds, or another
//! checkpoint of the same size.
//!
//! The witnesses are the node's accepted followers that are Punte nodes; each one's
//! submission prefix is `BASE/witness` and its key is read once from `BASE/witness/key`.
//! In members-only mode they are only the followers that are current members, and their
//! keys are the witness keys the membership list pins (docs/protocol.md §5.8).
//! At start and every [`RESTORE_CHECK_INTERVAL`] the worker also reads what each witness
//! cosigned for this origin (`BASE/witness/checkpoints?origin=`), which is how a node
//! restored from an old backup learns that it must not append.

use std::sync::Arc;
use std::time::{Duration, Instant};

use punte_log::checkpoint::{Checkpoint, open_checkpoint};
use punte_log::note::{KeyType, Note, NoteVerifier};
use punte_store::federation::{self as fed_store, FollowState};
use punte_store::witness::{self as store, AppendGuard, CosignatureRow, WitnessRow};

use super::{TLOG_SIZE, WITNESS_PREFIX, format_add_checkpoint};
use crate::error::{NodeError, Result};
use crate::federation::delivery::backoff;
use crate::federation::{Federation, SignatureKind, base_of_actor};

/// How often the worker looks for a new checkpoint.
const POLL: Duration = Duration::from_millis(250);
/// How often the worker compares its log with what its witnesses cosigned.
pub const RESTORE_CHECK_INTERVAL: Duration = Duration::from_secs(60);

use punte_protocol::witness::WitnessedList;

/// What one submission came to.
enum Submitted {
    Cosigned,
    /// 409: the witness last cosigned this size.
    Resync(u64),
    /// The witness holds what this node cannot extend: stop appending.
    Guard(String),
    Failed(String),
}

/// Runs until `shutdown` is true.
pub(crate) async fn run(fed: Arc<Federation>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut last_check: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = round(&fed, &mut last_check).await {
            tracing::warn!(error = %e, "witness round failed");
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One pass: refresh the witness list, check for a restore, submit the latest checkpoint.
async fn round(fed: &Federation, last_check: &mut Option<Instant>) -> Result<()> {
    sync_witness_list(fed)?;
    let witnesses = fed.node().store().read(store::witnesses)?;
    for w in witnesses.iter().filter(|w| w.vkey.is_none()) {
        if let Err(e) = fetch_key(fed, w).await {
            let now = fed.now_ms();
            let retry = retry_at(fed, w.attempts, now);
            fed.node()
                .store()
                .write(|tx| store::witness_failed(tx, &w.actor, &e, retry))?;
        }
    }
    let witnesses = fed.node().store().read(store::witnesses)?;
    let due_check = last_check.is_none_or(|t| t.elapsed() >= RESTORE_CHECK_INTERVAL);
    if due_check && witnesses.iter().any(|w| w.vkey.is_some()) {
        *last_check = Some(Instant::now());
        restore_check(fed, &witnesses).await?;
    }
    if fed.node().store().read(store::append_guard)?.is_some() {
        return Ok(());
    }
    let Some((size, note)) = fed
        .node()
        .store()
        .read(punte_store::log::latest_checkpoint)?
    else {
        return Ok(());
    };
    let now = fed.now_ms();
    for w in &witnesses {
        if w.vkey.is_none() || w.next_attempt_ms > now {
            continue;
        }
        let have = fed
            .node()
            .store()
            .read(|conn| store::cosignatures(conn, size))?;
        if have.iter().any(|c| c.witness == w.actor) {
            continue;
        }
        submit_with_resync(fed, w, size, &note).await?;
    }
    Ok(())
}

fn retry_at(fed: &Federation, attempts: u32, now: i64) -> i64 {
    let s = fed.settings();
    let delay = backoff(s.retry_base, s.retry_max_delay, attempts);
    now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
}

/// The witnesses are the accepted followers that are Punte nodes; in members-only mode only
/// those that are current members, with the witness key and country the membership list
/// pins for them (never a key fetched from their node).
fn sync_witness_list(fed: &Federation) -> Result<()> {
    let pinned = fed.member_witnesses()?;
    fed.node().store().write(|tx| {
        let list: Vec<(String, String)> = fed_store::followers(tx, Some(FollowState::Accepted))?
            .into_iter()
            .filter(|f| f.is_punte)
            .filter(|f| {
                pinned
                    .as_ref()
                    .is_none_or(|p| p.iter().any(|m| m.actor == f.actor))
            })
            .filter_map(|f| {
                let url = format!("{}{WITNESS_PREFIX}", base_of_actor(&f.actor)?);
                Some((f.actor, url))
            })
            .collect();
        store::sync_witnesses(tx, &list)?;
        for w in store::witnesses(tx)? {
            let Some(m) = pinned.iter().flatten().find(|m| m.actor == w.actor) else {
                continue;
            };
            if w.vkey.as_deref() != Some(m.vkey.as_str())
                || w.country.as_deref() != Some(m.country.as_str())
            {
                store::set_witness_key(tx, &w.actor, &m.vkey, Some(&m.country))?;
            }
        }
        Ok::<_, NodeError>(())
    })?;
    Ok(())
}

async fn get_text(fed: &Federation, url: &str, accept: &str) -> Result<Vec<u8>, String> {
    let signer = fed.owned_signer(SignatureKind::Rfc9421);
    let got = fed
        .fetcher()
        .get(url, accept, Some(signer.as_signer()), fed.now_secs())
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&got.status) {
        return Err(format!("{url} answered {}", got.status));
    }
    Ok(got.body)
}

/// Reads the witness's `cosignature/v1` key and its country.
async fn fetch_key(fed: &Federation, w: &WitnessRow) -> Result<(), String> {
    let body = get_text(fed, &format!("{}/key", w.url), "text/plain").await?;
    let text = String::from_utf8(body).map_err(|_| "the witness key is not UTF-8".to_owned())?;
    let verifier = NoteVerifier::parse(text.trim()).map_err(|e| format!("witness key: {e}"))?;
    if verifier.key_type() != KeyType::CosignatureV1 {
        return Err("the witness key is not a cosignature/v1 key".to_owned());
    }
    let country = match fed.actor(&w.actor, false).await {
        Ok(a) => a
            .document
            .get("country")
            .and_then(|c| c.as_str())
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
            .map(str::to_owned),
        Err(_) => None,
    };
    fed.node()
        .store()
        .write(|tx| store::set_witness_key(tx, &w.actor, &verifier.to_vkey(), country.as_deref()))
        .map_err(|e| e.to_string())
}

/// The node's log keys as verifiers.
fn log_keys(fed: &Federation) -> Result<Vec<NoteVerifier>> {
    Ok(fed
        .node()
        .log_verifier_keys()?
        .iter()
        .filter_map(|k| NoteVerifier::parse(k).ok())
        .collect())
}

fn witness_key(w: &WitnessRow) -> Option<NoteVerifier> {
    w.vkey.as_deref().and_then(|k| NoteVerifier::parse(k).ok())
}

/// What `w` cosigned for this node's origin, verified with the node's keys and the
/// witness's key: (checkpoint, note).
async fn cosigned_by(fed: &Federation, w: &WitnessRow) -> Result<Option<(Checkpoint, String)>> {
    let Some(wkey) = witness_key(w) else {
        return Ok(None);
    };
    let origin = fed.node().log_origin()?;
    let url = format!(
        "{}/checkpoints?origin={}",
        w.url,
        crate::federation::percent_encode(&origin)
    );
    let body = match get_text(fed, &url, "application/json").await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(witness = %w.actor, error = %e, "cannot read what a witness cosigned");
            return Ok(None);
        }
    };
    let Ok(list) = serde_json::from_slice::<WitnessedList>(&body) else {
        return Ok(None);
    };
    let keys = log_keys(fed)?;
    for item in list.items.into_iter().filter(|i| i.origin == origin) {
        let Ok(opened) = open_checkpoint(
            item.checkpoint.as_bytes(),
            &keys,
            std::slice::from_ref(&wkey),
        ) else {
            continue;
        };
        if opened.checkpoint.size == item.size
            && opened.cosigners.iter().any(|(name, _)| name == wkey.name())
        {
            return Ok(Some((opened.checkpoint, item.checkpoint)));
        }
    }
    Ok(None)
}

/// Compares the local log with what every witness cosigned; sets the guard when a witness
/// holds a larger checkpoint, or one of the same size with another root.
async fn restore_check(fed: &Federation, witnesses: &[WitnessRow]) -> Result<()> {
    let local = fed
        .node()
        .store()
        .read(punte_store::log::latest_checkpoint)?;
    let (local_size, local_root) = match &local {
        Some((_, note)) => {
            let parsed = Note::parse(note.as_bytes())
                .ok()
                .and_then(|n| Checkpoint::parse(&n.text).ok())
                .ok_or_else(|| NodeError::Log("the stored checkpoint does not parse".into()))?;
            (parsed.size, parsed.root)
        }
        None => (0, punte_log::empty_root()),
    };
    for w in witnesses {
        let Some((cosigned, note)) = cosigned_by(fed, w).await? else {
            continue;
        };
        let reason = if cosigned.size > local_size {
            format!(
                "witness {} cosigned size {} but this node's log holds {local_size} entries (restored from an old backup?)",
                w.actor, cosigned.size
            )
        } else if cosigned.size == local_size && cosigned.root != local_root {
            format!(
                "witness {} cosigned another checkpoint of size {local_size}: this log was forked",
                w.actor
            )
        } else {
            continue;
        };
        set_guard(fed, w, local_size, &note, &reason)?;
        return Ok(());
    }
    Ok(())
}

fn set_guard(
    fed: &Federation,
    w: &WitnessRow,
    local_size: u64,
    cosigned: &str,
    reason: &str,
) -> Result<()> {
    tracing::error!(witness = %w.actor, reason, "refusing to append to the signed history");
    let now = fed.now_ms();
    fed.node().store().write(|tx| {
        store::set_append_guard(
            tx,
            &AppendGuard {
                witness: w.actor.clone(),
                local_size,
                cosigned: cosigned.to_owned(),
                reason: reason.to_owned(),
                detected_ms: now,
            },
        )
    })?;
    Ok(())
}

/// Submits the checkpoint of `size`, starting from the size the witness last cosigned and
/// resyncing on 409 (twice at most per round).
async fn submit_with_resync(fed: &Federation, w: &WitnessRow, size: u64, note: &str) -> Result<()> {
    let mut old = w.size;
    for _ in 0..3 {
        if old > size {
            let cosigned = cosigned_by(fed, w)
                .await?
                .map(|(_, n)| n)
                .unwrap_or_default();
            let reason = format!(
                "witness {} cosigned size {old} but this node's log holds {size} entries (restored from an old backup?)",
                w.actor
            );
            return set_guard(fed, w, size, &cosigned, &reason);
        }
        match submit(fed, w, old, size, note).await? {
            Submitted::Cosigned => return Ok(()),
            Submitted::Resync(m) => {
                fed.node()
                    .store()
                    .write(|tx| store::witness_resync(tx, &w.actor, m))?;
                if m == old {
                    // Same old size refused twice: the stored roots differ.
                    let cosigned = cosigned_by(fed, w)
                        .await?
                        .map(|(_, n)| n)
                        .unwrap_or_default();
                    let reason = format!(
                        "witness {} refuses the checkpoint of size {size}: it cosigned another one (this log was forked)",
                        w.actor
                    );
                    return set_guard(fed, w, size, &cosigned, &reason);
                }
                old = m;
            }
            Submitted::Guard(reason) => {
                let cosigned = cosigned_by(fed, w)
                    .await?
                    .map(|(_, n)| n)
                    .unwrap_or_default();
                return set_guard(fed, w, size, &cosigned, &reason);
            }
            Submitted::Failed(error) => {
                tracing::debug!(witness = %w.actor, %error, "witness submission failed");
                let now = fed.now_ms();
                let retry = retry_at(fed, w.attempts, now);
                fed.node()
                    .store()
                    .write(|tx| store::witness_failed(tx, &w.actor, &error, retry))?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// One `add-checkpoint` request.
async fn submit(
    fed: &Federation,
    w: &WitnessRow,
    old: u64,
    size: u64,
    note: &str,
) -> Result<Submitted> {
    let Some(wkey) = witness_key(w) else {
        return Ok(Submitted::Failed("no witness key yet".into()));
    };
    let proof = fed.node().consistency_proof(old, size)?;
    let body = format_add_checkpoint(old, &proof, note);
    let url = format!("{}/add-checkpoint", w.url);
    let signer = fed.owned_signer(SignatureKind::Rfc9421);
    let answer = match fed
        .fetcher()
        .post(
            &url,
            "text/plain; charset=utf-8",
            &[],
            body.into_bytes(),
            signer.as_signer(),
            fed.now_secs(),
        )
        .await
    {
        Ok(a) => a,
        Err(e) => return Ok(Submitted::Failed(e.to_string())),
    };
    match answer.status {
        200 => {}
        409 => {
            let is_size = answer
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(TLOG_SIZE));
            let m = std::str::from_utf8(&answer.body)
                .ok()
                .and_then(|t| t.strip_suffix('\n'))
                .and_then(|t| t.parse::<u64>().ok());
            return Ok(match (is_size, m) {
                (true, Some(m)) => Submitted::Resync(m),
                _ => Submitted::Failed("409 without a tlog size".into()),
            });
        }
        422 => {
            return Ok(Submitted::Guard(format!(
                "witness {} cannot verify this log's consistency proof from size {old}: it cosigned a checkpoint this log does not extend (this log was forked)",
                w.actor
            )));
        }
        status => {
            let detail: String = String::from_utf8_lossy(&answer.body)
                .chars()
                .take(300)
                .collect();
            return Ok(Submitted::Failed(format!(
                "{url} answered {status}: {detail}"
            )));
        }
    }
    let lines = String::from_utf8(answer.body)
        .map_err(|_| NodeError::Log("the cosignature is not UTF-8".into()))?;
    let keys = log_keys(fed)?;
    let combined = format!("{note}{lines}");
    let opened = match open_checkpoint(combined.as_bytes(), &keys, std::slice::from_ref(&wkey)) {
        Ok(o) => o,
        Err(e) => {
            return Ok(Submitted::Failed(format!(
                "the cosignature does not verify: {e}"
            )));
        }
    };
    let Some(sig) = opened
        .note
        .verified
        .iter()
        .find(|v| v.signature.name == wkey.name() && v.signature.key_id == wkey.key_id())
    else {
        return Ok(Submitted::Failed(
            "the answer holds no cosignature by the witness key".into(),
        ));
    };
    let timestamp = sig.timestamp.unwrap_or(0);
    let line = sig.signature.to_line();
    let now = fed.now_ms();
    fed.node().store().write(|tx| {
        store::insert_cosignature(
            tx,
            &CosignatureRow {
                size,
                witness: w.actor.clone(),
                line,
                timestamp,
                received_ms: now,
            },
        )?;
        store::witness_succeeded(tx, &w.actor, size, now)
    })?;
    Ok(Submitted::Cosigned)
}

impl Federation {
    /// Submits the latest checkpoint to every witness now (tests and benchmarks measure the
    /// cosignature round trip with it); returns how many cosignatures the checkpoint has.
    pub async fn collect_cosignatures_now(&self) -> Result<usize> {
        let mut checked = Some(Instant::now());
        round(self, &mut checked).await?;
        let size = self.node().log_size()?;
        Ok(self
            .node()
            .store()
            .read(|conn| store::cosignatures(conn, size))?
            .len())
    }
}
