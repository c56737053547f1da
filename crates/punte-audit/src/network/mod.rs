//! Audit across the network: compare the checkpoints a node serves with what each of its
//! witnesses cosigned (`BASE/witness/checkpoints`) and kept as evidence
//! (`BASE/witness/evidence`), and with the checkpoints its partners received stapled to its
//! deliveries and read by their replicas (`PARTNER/federation/checkpoints`). Every checkpoint must be signed by a key of the log; equal
//! sizes must have equal roots, and neighbouring sizes must be joined by a consistency
//! proof the node serves. A failure becomes an evidence file (two signed checkpoints and
//! the proof) that [`verify_evidence`] re-checks without the network.
//!
//! Used by `punte audit` (docs/protocol.md §6.5). Everything fetched is untrusted.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use punte_log::checkpoint::{Checkpoint, open_checkpoint};
use punte_log::note::{KeyType, NoteVerifier};
use punte_log::tree::{parse_proof, verify_consistency};

use punte_protocol::urls::{base_of_actor, percent_encode};
use punte_protocol::witness::WITNESS_PREFIX;

use crate::{AuditError, FindingSeverity, ReportFinding};

mod evidence;
pub use evidence::{Proven, verify_evidence};

/// `format` of a witness evidence file.
pub const EVIDENCE_FORMAT: &str = "punte-witness-evidence/v1";
/// Largest body read from a node or witness.
const MAX_BODY: usize = 4 << 20;
/// Most partners discovered from `/followers`.
const MAX_PARTNERS: usize = 1000;

/// Where a checkpoint was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeenCheckpoint {
    /// `node`, `witness URL`, or `evidence kept by URL`.
    pub from: String,
    /// The signed note as served.
    pub note: String,
}

/// Two signed checkpoints of one log that do not fit together, and the proof the node
/// served between them (when their sizes differ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkEvidence {
    pub format: String,
    pub source: String,
    pub origin: String,
    pub fetched_at: String,
    /// `equivocation` (same size, other roots) or `inconsistent` (the proof fails or the
    /// node serves none).
    pub kind: String,
    /// The log's verifier keys the checkpoints were opened with.
    pub log_keys: Vec<String>,
    pub first: SeenCheckpoint,
    pub second: SeenCheckpoint,
    /// The consistency proof text served from the smaller to the larger size, if any.
    pub proof: Option<String>,
}

/// What one witness reported for the origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WitnessView {
    pub url: String,
    pub size: Option<u64>,
    pub cosigned_at: Option<u64>,
    pub error: Option<String>,
}

/// What one partner reported having received from the origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerView {
    pub url: String,
    /// Checkpoints it kept that verify with the log's keys.
    pub checkpoints: usize,
    pub error: Option<String>,
}

/// The result of comparing a node's, its witnesses' and its partners' checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkReport {
    pub origin: String,
    pub node_size: u64,
    pub witnesses: Vec<WitnessView>,
    pub partners: Vec<PartnerView>,
    pub findings: Vec<ReportFinding>,
    pub evidence: Option<NetworkEvidence>,
    /// What was fetched, for the evidence bundle.
    pub observations: NetworkObservations,
}

/// What the network audit needs.
#[derive(Debug, Clone)]
pub struct NetworkRequest {
    /// The node's base URL.
    pub base_url: String,
    /// The log's verifier keys (the audit's anchor and the published key history).
    pub log_keys: Vec<NoteVerifier>,
    /// Witness base URLs (a node URL, or its `/witness` prefix); empty = discover from
    /// `BASE/log/witnesses`.
    pub witnesses: Vec<String>,
    /// Partner base URLs whose `/federation/checkpoints` are compared too; `None` =
    /// discover them from the node's `/followers` collection, `Some(empty)` = none.
    pub partners: Option<Vec<String>>,
    /// A witness whose latest cosignature for a smaller size is older than this has
    /// stopped advancing.
    pub stale_after_secs: u64,
    /// The auditor's clock, POSIX seconds, and as RFC 3339.
    pub now_secs: u64,
    pub fetched_at: String,
    pub timeout: Duration,
}

struct Seen {
    from: String,
    note: String,
    checkpoint: Checkpoint,
}

fn finding(
    severity: FindingSeverity,
    kind: &str,
    message: String,
    detail: serde_json::Value,
) -> ReportFinding {
    ReportFinding {
        severity,
        kind: kind.to_owned(),
        index: None,
        message,
        detail,
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, AuditError> {
    let http = |source| AuditError::Http {
        url: url.to_owned(),
        source,
    };
    let mut response = client.get(url).send().await.map_err(http)?;
    let status = response.status();
    if !status.is_success() {
        return Err(AuditError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http)? {
        if body.len().saturating_add(chunk.len()) > MAX_BODY {
            return Err(AuditError::TooLarge {
                url: url.to_owned(),
                limit: MAX_BODY,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn bad(url: &str, reason: impl Into<String>) -> AuditError {
    AuditError::BadResponse {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

fn witness_prefix(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with(WITNESS_PREFIX) {
        url.to_owned()
    } else {
        format!("{url}{}", WITNESS_PREFIX)
    }
}

#[derive(Deserialize)]
struct Listed {
    url: String,
}

#[derive(Deserialize)]
struct ListedWitnesses {
    items: Vec<Listed>,
}

#[derive(Deserialize)]
struct PartnerCheckpointWire {
    origin: String,
    checkpoint: String,
}

#[derive(Deserialize)]
struct PartnerCheckpointList {
    items: Vec<PartnerCheckpointWire>,
}

#[derive(Deserialize)]
struct Collection {
    #[serde(rename = "orderedItems", default)]
    ordered_items: Vec<serde_json::Value>,
}

/// Partner base URLs from the node's `/followers` (actors `BASE/actor`); unreadable = none.
async fn discover_partners(client: &reqwest::Client, base: &str) -> Vec<String> {
    let url = format!("{base}/followers");
    let Ok(response) = client
        .get(&url)
        .header("Accept", "application/activity+json")
        .send()
        .await
    else {
        return Vec::new();
    };
    if !response.status().is_success() {
        return Vec::new();
    }
    let Ok(body) = response.bytes().await else {
        return Vec::new();
    };
    if body.len() > MAX_BODY {
        return Vec::new();
    }
    let Ok(collection) = serde_json::from_slice::<Collection>(&body) else {
        return Vec::new();
    };
    collection
        .ordered_items
        .iter()
        .filter_map(|i| i.as_str())
        .filter(|a| a.starts_with("https://") || a.starts_with("http://"))
        .filter_map(base_of_actor)
        .map(str::to_owned)
        .take(MAX_PARTNERS)
        .collect()
}

#[derive(Deserialize)]
struct EvidenceWire {
    origin: String,
    cosigned: String,
    submitted: String,
}

#[derive(Deserialize)]
struct EvidenceList {
    items: Vec<EvidenceWire>,
}

/// Everything the network audit fetched, kept so that a bundle re-verifies it offline
/// ([`judge`] reaches the same findings from it without the network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkObservations {
    /// The node's `/log/checkpoint` as served.
    pub node_checkpoint: String,
    pub witnesses: Vec<WitnessObservation>,
    pub partners: Vec<PartnerObservation>,
    /// The consistency proofs asked of the node between neighbouring sizes seen.
    pub proofs: Vec<ServedProof>,
    /// The auditor's clock (POSIX seconds) and staleness limit the witnesses were judged by.
    pub now_secs: u64,
    pub stale_after_secs: u64,
}

/// What one witness served for the origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessObservation {
    /// The witness's `/witness` prefix.
    pub url: String,
    /// Its cosignature verifier key (`/witness/key`), when it served a usable one.
    pub key: Option<String>,
    /// The cosigned checkpoints it listed for the origin.
    pub checkpoints: Vec<String>,
    /// Why its checkpoints could not be read, if they could not.
    pub error: Option<String>,
    /// The signed notes it keeps as evidence for the origin (cosigned and submitted).
    pub evidence: Vec<String>,
}

/// What one partner served for the origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerObservation {
    pub url: String,
    pub checkpoints: Vec<String>,
    pub error: Option<String>,
}

/// A consistency proof the node served (or not: `proof` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServedProof {
    pub old: u64,
    pub new: u64,
    pub proof: Option<String>,
}

/// The signed checkpoints of `origin` a witness (`/witness/checkpoints`) or a partner
/// (`/federation/checkpoints`) lists at `url` (both `{"items": [{"origin", "checkpoint"}]}`),
/// or why they could not be read.
async fn listed_checkpoints(
    client: &reqwest::Client,
    url: &str,
    origin: &str,
) -> (Vec<String>, Option<String>) {
    match get(client, url).await {
        Ok(body) => match serde_json::from_slice::<PartnerCheckpointList>(&body) {
            Ok(list) => (
                list.items
                    .into_iter()
                    .filter(|i| i.origin == origin)
                    .map(|i| i.checkpoint)
                    .collect(),
                None,
            ),
            Err(e) => (Vec::new(), Some(format!("{url}: malformed: {e}"))),
        },
        Err(e) => (Vec::new(), Some(e.to_string())),
    }
}

/// Compares what the node, its witnesses and its partners serve for the node's log:
/// fetches everything ([`NetworkObservations`]) and then [`judge`]s it.
pub async fn network_audit(request: &NetworkRequest) -> Result<NetworkReport, AuditError> {
    let client = reqwest::Client::builder()
        .timeout(request.timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("punte-audit/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(AuditError::Client)?;
    let base = request.base_url.trim_end_matches('/');
    let keys = &request.log_keys;
    let checkpoint_url = format!("{base}/log/checkpoint");
    let node_note = String::from_utf8(get(&client, &checkpoint_url).await?)
        .map_err(|_| bad(&checkpoint_url, "not UTF-8"))?;
    let origin = open_checkpoint(node_note.as_bytes(), keys, &[])
        .map_err(|e| {
            bad(
                &checkpoint_url,
                format!("the checkpoint does not verify: {e}"),
            )
        })?
        .checkpoint
        .origin;

    let witness_urls: Vec<String> = if request.witnesses.is_empty() {
        let url = format!("{base}/log/witnesses");
        match get(&client, &url).await {
            Ok(body) => serde_json::from_slice::<ListedWitnesses>(&body)
                .map(|l| l.items.into_iter().map(|i| i.url).collect())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    } else {
        request.witnesses.clone()
    };
    let mut witnesses = Vec::new();
    for w in &witness_urls {
        let prefix = witness_prefix(w);
        let key = match get(&client, &format!("{prefix}/key")).await {
            Ok(b) => String::from_utf8(b)
                .ok()
                .and_then(|t| NoteVerifier::parse(t.trim()).ok())
                .filter(|k| k.key_type() == KeyType::CosignatureV1)
                .map(|k| k.to_vkey()),
            Err(_) => None,
        };
        let mut observed = WitnessObservation {
            url: prefix.clone(),
            key,
            checkpoints: Vec::new(),
            error: None,
            evidence: Vec::new(),
        };
        let url = format!("{prefix}/checkpoints?origin={}", percent_encode(&origin));
        (observed.checkpoints, observed.error) = listed_checkpoints(&client, &url, &origin).await;
        let url = format!("{prefix}/evidence?origin={}", percent_encode(&origin));
        if let Ok(body) = get(&client, &url).await
            && let Ok(list) = serde_json::from_slice::<EvidenceList>(&body)
        {
            for item in list.items.into_iter().filter(|i| i.origin == origin) {
                observed.evidence.extend([item.cosigned, item.submitted]);
            }
        }
        witnesses.push(observed);
    }

    let partner_urls = match &request.partners {
        Some(list) => list.clone(),
        None => discover_partners(&client, base).await,
    };
    let mut partners = Vec::new();
    for p in &partner_urls {
        let p = p.trim_end_matches('/');
        let mut observed = PartnerObservation {
            url: p.to_owned(),
            checkpoints: Vec::new(),
            error: None,
        };
        let url = format!(
            "{p}/federation/checkpoints?origin={}",
            percent_encode(&origin)
        );
        (observed.checkpoints, observed.error) = listed_checkpoints(&client, &url, &origin).await;
        partners.push(observed);
    }

    let mut observations = NetworkObservations {
        node_checkpoint: node_note,
        witnesses,
        partners,
        proofs: Vec::new(),
        now_secs: request.now_secs,
        stale_after_secs: request.stale_after_secs,
    };
    // The proofs the verdict needs: between neighbouring distinct sizes.
    let seen = seen_checkpoints(&observations, keys, &origin).seen;
    for (old, new) in neighbouring_sizes(&seen) {
        let url = format!("{base}/log/proof/consistency?old={old}&new={new}");
        let proof = match get(&client, &url).await {
            Ok(body) => String::from_utf8(body).ok(),
            Err(_) => None,
        };
        observations.proofs.push(ServedProof { old, new, proof });
    }
    judge(&observations, keys, base, &request.fetched_at)
}

/// The checkpoints seen in `observations` that open with `keys`, and the findings about
/// those that do not.
struct SeenAll {
    seen: Vec<Seen>,
    witnesses: Vec<WitnessView>,
    partners: Vec<PartnerView>,
    findings: Vec<ReportFinding>,
}

fn seen_checkpoints(
    observations: &NetworkObservations,
    keys: &[NoteVerifier],
    origin: &str,
) -> SeenAll {
    let mut seen = Vec::new();
    let mut findings = Vec::new();
    if let Ok(opened) = open_checkpoint(observations.node_checkpoint.as_bytes(), keys, &[]) {
        seen.push(Seen {
            from: "node".to_owned(),
            note: observations.node_checkpoint.clone(),
            checkpoint: opened.checkpoint,
        });
    }
    let node_size = seen.first().map_or(0, |s| s.checkpoint.size);
    let mut witnesses = Vec::new();
    for w in &observations.witnesses {
        let prefix = &w.url;
        let wkey = w.key.as_deref().and_then(|k| NoteVerifier::parse(k).ok());
        let mut view = WitnessView {
            url: prefix.clone(),
            size: None,
            cosigned_at: None,
            error: w.error.clone(),
        };
        for note in &w.checkpoints {
            let wkeys: Vec<NoteVerifier> = wkey.iter().cloned().collect();
            match open_checkpoint(note.as_bytes(), keys, &wkeys) {
                Ok(opened) if opened.checkpoint.origin == origin => {
                    view.size = Some(opened.checkpoint.size);
                    view.cosigned_at = opened
                        .cosigners
                        .iter()
                        .filter(|(n, _)| wkey.as_ref().is_some_and(|k| k.name() == n))
                        .map(|(_, t)| *t)
                        .max();
                    seen.push(Seen {
                        from: format!("witness {prefix}"),
                        note: note.clone(),
                        checkpoint: opened.checkpoint,
                    });
                }
                Ok(opened) => findings.push(finding(
                    FindingSeverity::Error,
                    "witness_checkpoint_invalid",
                    format!(
                        "witness {prefix} serves a checkpoint of {} as one of {origin}",
                        opened.checkpoint.origin
                    ),
                    json!({ "witness": prefix }),
                )),
                Err(e) => findings.push(finding(
                    FindingSeverity::Error,
                    "witness_checkpoint_invalid",
                    format!(
                        "witness {prefix} serves a checkpoint for {origin} that does not verify: {e}"
                    ),
                    json!({ "witness": prefix }),
                )),
            }
        }
        for note in &w.evidence {
            if let Ok(opened) = open_checkpoint(note.as_bytes(), keys, &[])
                && opened.checkpoint.origin == origin
            {
                seen.push(Seen {
                    from: format!("evidence kept by {prefix}"),
                    note: note.clone(),
                    checkpoint: opened.checkpoint,
                });
            }
        }
        match (view.size, view.cosigned_at) {
            (None, _) if view.error.is_none() => findings.push(finding(
                FindingSeverity::Info,
                "witness_silent",
                format!("witness {prefix} has cosigned no checkpoint of {origin}"),
                json!({ "witness": prefix }),
            )),
            (Some(size), at)
                if size < node_size
                    && at.is_none_or(|t| {
                        observations.now_secs.saturating_sub(t) > observations.stale_after_secs
                    }) =>
            {
                findings.push(finding(
                    FindingSeverity::Info,
                    "witness_stale",
                    format!(
                        "witness {prefix} stopped advancing: it last cosigned size {size}{}, the node serves {node_size}",
                        at.map(|t| format!(" at {t}")).unwrap_or_default(),
                    ),
                    json!({ "witness": prefix, "size": size, "cosigned_at": at, "node_size": node_size }),
                ));
            }
            _ => {}
        }
        witnesses.push(view);
    }
    let mut partners = Vec::new();
    for p in &observations.partners {
        let mut view = PartnerView {
            url: p.url.clone(),
            checkpoints: 0,
            error: p.error.clone(),
        };
        for note in &p.checkpoints {
            match open_checkpoint(note.as_bytes(), keys, &[]) {
                Ok(opened) if opened.checkpoint.origin == origin => {
                    view.checkpoints += 1;
                    seen.push(Seen {
                        from: format!("received by partner {}", p.url),
                        note: note.clone(),
                        checkpoint: opened.checkpoint,
                    });
                }
                Ok(_) => {}
                Err(e) => findings.push(finding(
                    FindingSeverity::Info,
                    "partner_checkpoint_invalid",
                    format!(
                        "partner {} keeps a checkpoint for {origin} that does not verify with the log's keys: {e}",
                        p.url
                    ),
                    json!({ "partner": p.url }),
                )),
            }
        }
        partners.push(view);
    }
    // Smallest first (stable: the node's own checkpoint first among equals).
    seen.sort_by_key(|s| s.checkpoint.size);
    SeenAll {
        seen,
        witnesses,
        partners,
        findings,
    }
}

/// The distinct sizes seen (the first checkpoint of each), smallest first, without size 0.
fn distinct_sizes(seen: &[Seen]) -> Vec<&Seen> {
    let mut distinct: Vec<&Seen> = Vec::new();
    for s in seen {
        if !distinct
            .iter()
            .any(|d| d.checkpoint.size == s.checkpoint.size)
        {
            distinct.push(s);
        }
    }
    distinct
}

/// The (old, new) size pairs a consistency proof is needed for.
fn neighbouring_sizes(seen: &[Seen]) -> Vec<(u64, u64)> {
    distinct_sizes(seen)
        .windows(2)
        .filter_map(|pair| match pair {
            [a, b] if a.checkpoint.size > 0 => Some((a.checkpoint.size, b.checkpoint.size)),
            _ => None,
        })
        .collect()
}

/// The network verdict on `observations`, without the network: every checkpoint must open
/// with `keys`; equal sizes must have equal roots; neighbouring sizes must be joined by the
/// proof the node served. `source` is the node's base URL.
pub fn judge(
    observations: &NetworkObservations,
    keys: &[NoteVerifier],
    source: &str,
    fetched_at: &str,
) -> Result<NetworkReport, AuditError> {
    let node_cp = open_checkpoint(observations.node_checkpoint.as_bytes(), keys, &[])
        .map_err(|e| {
            bad(
                source,
                format!("the node's checkpoint does not verify: {e}"),
            )
        })?
        .checkpoint;
    let origin = node_cp.origin.clone();
    let SeenAll {
        seen,
        witnesses,
        partners,
        mut findings,
    } = seen_checkpoints(observations, keys, &origin);

    let log_keys: Vec<String> = keys.iter().map(NoteVerifier::to_vkey).collect();
    let mut evidence = None;
    let mut record = |kind: &str,
                      a: &Seen,
                      b: &Seen,
                      proof: Option<String>,
                      message: String,
                      sizes: Option<Vec<u64>>| {
        let mut detail = json!({
            "first": {"from": a.from, "size": a.checkpoint.size, "root": a.checkpoint.root.to_base64()},
            "second": {"from": b.from, "size": b.checkpoint.size, "root": b.checkpoint.root.to_base64()},
        });
        if let (Some(sizes), Some(d)) = (sizes, detail.as_object_mut()) {
            d.insert("sizes".to_owned(), json!(sizes));
        }
        findings.push(finding(
            FindingSeverity::Error,
            if kind == "equivocation" {
                "equivocation"
            } else {
                "inconsistent"
            },
            message,
            detail,
        ));
        if evidence.is_none() {
            evidence = Some(NetworkEvidence {
                format: EVIDENCE_FORMAT.to_owned(),
                source: source.to_owned(),
                origin: origin.clone(),
                fetched_at: fetched_at.to_owned(),
                kind: kind.to_owned(),
                log_keys: log_keys.clone(),
                first: SeenCheckpoint {
                    from: a.from.clone(),
                    note: a.note.clone(),
                },
                second: SeenCheckpoint {
                    from: b.from.clone(),
                    note: b.note.clone(),
                },
                proof,
            });
        }
    };
    // Equal sizes with other roots are equivocation: one finding per other root.
    let mut roots: Vec<&Seen> = Vec::new();
    for s in &seen {
        if roots.iter().any(|d| {
            d.checkpoint.size == s.checkpoint.size && d.checkpoint.root == s.checkpoint.root
        }) {
            continue;
        }
        if let Some(other) = roots
            .iter()
            .find(|d| d.checkpoint.size == s.checkpoint.size)
        {
            record(
                "equivocation",
                other,
                s,
                None,
                format!(
                    "two signed checkpoints of size {} with different roots ({} and {})",
                    s.checkpoint.size, other.from, s.from
                ),
                None,
            );
        }
        roots.push(s);
    }
    // Neighbouring sizes the node cannot join by a proof; a run of them (one rollback seen
    // at many kept sizes) is one finding naming the range.
    let mut failed: Vec<(&Seen, &Seen, Option<String>)> = Vec::new();
    for pair in distinct_sizes(&seen).windows(2) {
        let [a, b] = pair else { continue };
        let (old, new) = (a.checkpoint.size, b.checkpoint.size);
        if old == 0 {
            continue;
        }
        let served = observations
            .proofs
            .iter()
            .find(|p| p.old == old && p.new == new)
            .and_then(|p| p.proof.clone());
        let verified = served.as_deref().is_some_and(|text| {
            parse_proof(text).is_ok_and(|proof| {
                verify_consistency(old, new, &a.checkpoint.root, &b.checkpoint.root, &proof).is_ok()
            })
        });
        if !verified {
            failed.push((a, b, served));
        }
    }
    let mut runs: Vec<Vec<(&Seen, &Seen, Option<String>)>> = Vec::new();
    for f in failed {
        match runs.last_mut() {
            Some(run)
                if run
                    .last()
                    .is_some_and(|(_, b, _)| b.checkpoint.size == f.0.checkpoint.size) =>
            {
                run.push(f);
            }
            _ => runs.push(vec![f]),
        }
    }
    for run in runs {
        let (Some((a, b, served)), Some((_, last, _))) = (run.first(), run.last()) else {
            continue;
        };
        let (old, new) = (a.checkpoint.size, b.checkpoint.size);
        let message = if run.len() == 1 {
            format!(
                "the node cannot prove that its checkpoint of size {new} ({}) extends the one of size {old} ({})",
                b.from, a.from
            )
        } else {
            format!(
                "the node cannot prove that its checkpoints of sizes {new} to {} extend the one of size {old} ({}): {} sizes seen (the log was rolled back or forked after size {old})",
                last.checkpoint.size,
                a.from,
                run.len()
            )
        };
        let sizes = std::iter::once(old)
            .chain(run.iter().map(|(_, b, _)| b.checkpoint.size))
            .collect();
        record("inconsistent", a, b, served.clone(), message, Some(sizes));
    }
    Ok(NetworkReport {
        origin,
        node_size: node_cp.size,
        witnesses,
        partners,
        findings,
        evidence,
        observations: observations.clone(),
    })
}

#[cfg(test)]
mod tests;
