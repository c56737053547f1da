//! Auditing another node's signed history: the crawler that fetches its checkpoint, key list
//! and entries over HTTP, the evidence bundle and saved state (JSON files), and the glue
//! that runs [`punte_log::audit`] on what was fetched and turns the result into a report.
//!
//! Everything fetched is untrusted: sizes are capped, every field is validated, and the
//! verification runs on the exact bytes received. The evidence ([`Evidence`]) is what the
//! bundle stores, so an offline re-run ([`verify`]) sees exactly what the online audit saw.
//! Formats: `docs/protocol.md` §4.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;
use futures_util::{StreamExt as _, stream};
use serde::{Deserialize, Serialize};

use punte_log::audit::{
    ActivityBytes, AuditConfig, AuditEntry, AuditState, Finding, KeyPeriod, Severity,
};
use punte_log::checkpoint::{Checkpoint, check_consistency};
use punte_log::note::{KeyType, Note, NoteVerifier};
use punte_log::tree::{CompactTree, parse_proof};
use punte_log::{Hash, open_checkpoint};

/// Most entries the node serves in one page (`/log/entries`).
pub const MAX_PAGE_ENTRIES: u64 = 1000;
/// `format` of an evidence bundle.
pub const BUNDLE_FORMAT: &str = "punte-audit-bundle/v1";
/// `format` of a saved audit state (`--save-state`, `--since`).
pub const STATE_FORMAT: &str = "punte-audit-state/v1";
/// Most entries a crawl accepts failing to load (5xx) before giving up.
pub const MAX_UNAVAILABLE: usize = 10_000;
/// Upper bound of the log-size search when the checkpoint does not parse.
const PROBE_LIMIT: u64 = 1 << 40;
/// Default allowed backwards step of entry timestamps.
pub const DEFAULT_TIMESTAMP_TOLERANCE_MS: i64 = 60_000;

/// How the crawler talks to a node.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    /// Pages fetched at the same time.
    pub concurrency: usize,
    /// Entries asked for per page (at most [`MAX_PAGE_ENTRIES`]).
    pub page_size: u64,
    /// Largest accepted body of an entries page.
    pub max_page_bytes: usize,
    /// Largest accepted body of a checkpoint, key list or proof.
    pub max_small_bytes: usize,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            timeout: Duration::from_secs(30),
            concurrency: 4,
            page_size: MAX_PAGE_ENTRIES,
            max_page_bytes: 64 << 20,
            max_small_bytes: 1 << 20,
        }
    }
}

/// Why an audit could not run (as opposed to findings, which are results).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("invalid node url {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot build the http client: {0}")]
    Client(reqwest::Error),
    #[error("request to {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered http {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: response larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: invalid response: {reason}")]
    BadResponse { url: String, reason: String },
    #[error("trust anchor: {0}")]
    Anchor(String),
    #[error("saved state: {0}")]
    State(String),
    #[error("bundle: {0}")]
    Bundle(String),
}

/// Receives crawl progress (entries fetched so far).
pub trait Progress: Sync {
    /// The number of entries the crawl will fetch.
    fn set_total(&self, _entries: u64) {}
    /// `entries` more were fetched.
    fn advance(&self, _entries: u64) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Where the first (trusted) key of the audit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnchorSource {
    /// Given by the auditor (`--key`).
    Given,
    /// The first key the node publishes at `/log/key`, trusted on first use.
    FirstUse,
    /// The anchor of the saved state the audit resumed from.
    SavedState,
}

/// The key the audit trusts as the log's first key, as a C2SP verifier key whose name is
/// the log origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustAnchor {
    pub vkey: String,
    pub source: AnchorSource,
}

/// A key period, as stored in reports and states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPeriodRecord {
    /// C2SP verifier key (name = origin).
    pub vkey: String,
    /// First index the key signs.
    pub from_index: u64,
}

/// What an audit remembers for the next, incremental one: the last verified checkpoint and
/// the tree and key state after it. Written only after a clean audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    pub format: String,
    /// Base URL the state was fetched from.
    pub source: String,
    pub origin: String,
    /// The trust anchor of the first audit.
    pub anchor: String,
    /// The signed checkpoint note at `size`, as fetched.
    pub checkpoint: String,
    pub size: u64,
    /// Base64 perfect-subtree roots of the tree at `size`, largest first.
    pub frontier: Vec<String>,
    /// Base64 Ed25519 key valid for entry `size`.
    pub current_key: String,
    pub max_timestamp_ms: Option<i64>,
    /// Key history up to `size`, oldest first.
    pub keys: Vec<KeyPeriodRecord>,
    /// RFC 3339 time of the audit that wrote it.
    pub saved_at: String,
}

impl SavedState {
    /// Parses and checks a state file.
    pub fn from_json(bytes: &[u8]) -> Result<SavedState, AuditError> {
        let state: SavedState =
            serde_json::from_slice(bytes).map_err(|e| AuditError::State(e.to_string()))?;
        if state.format != STATE_FORMAT {
            return Err(AuditError::State(format!(
                "format {:?} is not {STATE_FORMAT}",
                state.format
            )));
        }
        state.audit_state()?;
        Ok(state)
    }

    /// The [`AuditState`] to resume from.
    pub fn audit_state(&self) -> Result<AuditState, AuditError> {
        let bad = |what: &str| AuditError::State(format!("invalid {what}"));
        let frontier = self
            .frontier
            .iter()
            .map(|h| Hash::from_base64(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("frontier"))?;
        let tree =
            CompactTree::from_frontier(self.size, frontier).ok_or_else(|| bad("frontier"))?;
        let current_key = decode_key(&self.current_key).ok_or_else(|| bad("current key"))?;
        Ok(AuditState {
            tree,
            current_key,
            max_timestamp_ms: self.max_timestamp_ms,
        })
    }

    /// The checkpoint note as a parsed (unverified) checkpoint.
    fn parsed_checkpoint(&self) -> Result<Checkpoint, AuditError> {
        parse_checkpoint(self.checkpoint.as_bytes())
            .ok_or_else(|| AuditError::State("invalid checkpoint".to_owned()))
    }
}

/// An entry as served: its index as the page names it, its bytes, and its activity bytes
/// (`None` when the node says they were erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchedEntry {
    pub index: u64,
    #[serde(with = "b64")]
    pub entry: Vec<u8>,
    #[serde(with = "b64_opt")]
    pub activity: Option<Vec<u8>>,
}

/// The consistency proof fetched between a saved checkpoint and the node's current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyEvidence {
    pub old_size: u64,
    pub new_size: u64,
    /// The proof text as served (one base64 hash per line).
    pub proof: String,
}

/// Everything an audit verifies: what was fetched, plus the auditor's trust anchor and
/// starting state. The bundle stores it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The node's base URL.
    pub source: String,
    /// RFC 3339 time the crawl started.
    pub fetched_at: String,
    pub anchor: TrustAnchor,
    /// Witness verifier keys (`cosignature/v1`) given by the auditor; cosignatures by them
    /// on the checkpoints are verified and reported.
    #[serde(default)]
    pub witness_keys: Vec<String>,
    /// Lines of `/log/key` as served.
    pub published_keys: Vec<String>,
    /// The state an incremental audit resumed from (`None`: full audit from index 0).
    pub start: Option<SavedState>,
    /// Signed checkpoint notes, in order: the saved one (incremental audits), then the
    /// node's current one.
    pub checkpoints: Vec<String>,
    pub consistency: Option<ConsistencyEvidence>,
    pub timestamp_tolerance_ms: i64,
    /// The disclosure threshold evaluations are checked against (`disclosure_violation`).
    #[serde(default = "default_disclosure_k")]
    pub disclosure_k: u64,
    /// Entries in the order served.
    pub entries: Vec<FetchedEntry>,
    /// Indexes the node failed to serve (HTTP 5xx); they are absent from `entries`.
    #[serde(default)]
    pub unavailable: Vec<u64>,
    /// What the node served at the id of each object the entries publish (AS2 JSON).
    #[serde(default)]
    pub served: Vec<ServedObject>,
}

/// What a node answered at an object's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServedObject {
    pub id: String,
    pub status: u16,
    /// The body of a `200` answer.
    pub body: Option<String>,
}

/// Full audit from index 0, or incremental from a saved state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditMode {
    Full,
    Incremental,
}

/// Severity of a reported finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingSeverity {
    Info,
    Error,
}

/// One finding of the report: a stable `kind`, the entry index it concerns (when it
/// concerns one), a readable message and the details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFinding {
    pub severity: FindingSeverity,
    pub kind: String,
    pub index: Option<u64>,
    pub message: String,
    pub detail: serde_json::Value,
}

/// A checkpoint that opened with a key of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportCheckpoint {
    pub size: u64,
    pub root: String,
    pub matches_log: bool,
    /// Witness names and cosignature times (POSIX seconds) that verified.
    pub cosigners: Vec<(String, u64)>,
}

/// The result of one audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub source: String,
    pub origin: String,
    pub mode: AuditMode,
    pub anchor: TrustAnchor,
    /// No finding of error severity.
    pub clean: bool,
    /// First audited index (0, or the saved size for incremental audits).
    pub from_index: u64,
    /// Entries audited.
    pub entries: u64,
    /// Tree size and base64 root after the last audited entry.
    pub size: u64,
    pub root: String,
    /// Key history, oldest first (including periods from the saved state).
    pub keys: Vec<KeyPeriodRecord>,
    pub checkpoints: Vec<ReportCheckpoint>,
    pub findings: Vec<ReportFinding>,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &ReportFinding> {
        self.findings
            .iter()
            .filter(|f| f.severity == FindingSeverity::Error)
    }
}

/// A verified audit: the report and, when it was clean, the state to resume from.
#[derive(Debug, Clone)]
pub struct Verification {
    pub report: Report,
    pub end_state: Option<SavedState>,
}

/// The evidence bundle: the evidence and the findings the auditor reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub evidence: Evidence,
    /// The whole verdict of the audit that wrote the bundle: the log's findings and the
    /// network's (witnesses, partners).
    pub report: Report,
    /// What the network audit fetched, re-judged offline by [`network::judge`] (absent
    /// when the witnesses and partners were not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<network::NetworkObservations>,
}

impl Bundle {
    pub fn new(evidence: Evidence, report: Report) -> Bundle {
        Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            evidence,
            report,
            network: None,
        }
    }

    /// The bundle with what the network audit fetched.
    pub fn with_network(mut self, network: Option<network::NetworkObservations>) -> Bundle {
        self.network = network;
        self
    }

    /// Parses a bundle file (untrusted: everything is re-verified by [`verify`]).
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, AuditError> {
        let bundle: Bundle =
            serde_json::from_slice(bytes).map_err(|e| AuditError::Bundle(e.to_string()))?;
        if bundle.format != BUNDLE_FORMAT {
            return Err(AuditError::Bundle(format!(
                "format {:?} is not {BUNDLE_FORMAT}",
                bundle.format
            )));
        }
        Ok(bundle)
    }
}

/// Checks a node base URL (`http` or `https`, no query or fragment) and removes a
/// trailing slash.
pub fn normalise_node_url(url: &str) -> Result<String, AuditError> {
    let bad = |reason: &str| AuditError::BadUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if parsed.host_str().is_none() {
        return Err(bad("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("a base url has no query or fragment"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// A file-name-safe name for a node URL (`host` or `host_port`), for per-node files.
pub fn node_file_stem(url: &str) -> String {
    let parsed = reqwest::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("node")
        .to_owned();
    let stem = match parsed.and_then(|u| u.port()) {
        Some(port) => format!("{host}_{port}"),
        None => host,
    };
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Parses a trust anchor given by the auditor: an Ed25519 C2SP verifier key.
pub fn parse_anchor(vkey: &str) -> Result<NoteVerifier, AuditError> {
    let verifier = NoteVerifier::parse(vkey.trim())
        .map_err(|e| AuditError::Anchor(format!("{:?} is not a verifier key: {e}", vkey.trim())))?;
    if verifier.key_type() != KeyType::Ed25519 {
        return Err(AuditError::Anchor(
            "the key is a witness key, not an Ed25519 log key".to_owned(),
        ));
    }
    Ok(verifier)
}

/// Parses a witness verifier key (C2SP `cosignature/v1`, type 0x04).
pub fn parse_witness(vkey: &str) -> Result<NoteVerifier, AuditError> {
    let verifier = NoteVerifier::parse(vkey.trim())
        .map_err(|e| AuditError::Anchor(format!("{:?} is not a witness key: {e}", vkey.trim())))?;
    if verifier.key_type() != KeyType::CosignatureV1 {
        return Err(AuditError::Anchor(format!(
            "{:?} is not a cosignature/v1 witness key",
            vkey.trim()
        )));
    }
    Ok(verifier)
}

/// What to audit and from where.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    /// Node base URL (normalised by [`normalise_node_url`]).
    pub base_url: String,
    /// Keys pinned by the auditor; the one whose name is the node's origin is the anchor
    /// (a single key is used whatever its name).
    pub pinned: Vec<NoteVerifier>,
    /// Witnesses whose cosignatures to verify.
    pub witnesses: Vec<NoteVerifier>,
    /// Resume from this state (incremental audit).
    pub since: Option<SavedState>,
    /// RFC 3339 time, from the caller's clock.
    pub fetched_at: String,
    pub timestamp_tolerance_ms: i64,
    /// The disclosure threshold the node's evaluations are checked against.
    pub disclosure_k: u64,
}

fn default_disclosure_k() -> u64 {
    punte_model::disclosure::DEFAULT_K
}

mod crawl;
mod disclosure;
pub mod network;
mod served;
mod verify;

pub use crawl::Crawler;
/// The verifier key type of logs and witnesses, for callers that hold keys.
pub use punte_log::note::NoteVerifier as LogVerifier;
pub use verify::verify;

/// Parses a signed checkpoint note without verifying it.
fn parse_checkpoint(note: &[u8]) -> Option<Checkpoint> {
    let note = Note::parse(note).ok()?;
    Checkpoint::parse(&note.text).ok()
}

fn decode_key(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = BASE64.decode(text).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn vkey_of(origin: &str, key: &VerifyingKey) -> String {
    NoteVerifier::new(origin, KeyType::Ed25519, *key)
        .map(|v| v.to_vkey())
        .unwrap_or_else(|_| BASE64.encode(key.as_bytes()))
}

/// Serde for byte strings as standard base64.
mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        BASE64.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Serde for optional byte strings as base64 or `null`.
mod b64_opt {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&BASE64.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| BASE64.decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use ed25519_dalek::SigningKey;
    use punte_log::checkpoint::Checkpoint;
    use punte_log::entry::{EntryBody, EntryKind, SignedEntry};
    use punte_log::note::NoteSigner;

    const ORIGIN: &str = "example.org/punte-log";

    /// A synthetic node log: entries, activity bytes, and a signed checkpoint per size.
    struct Log {
        key: SigningKey,
        entries: Vec<FetchedEntry>,
        tree: CompactTree,
    }

    impl Log {
        fn new() -> Log {
            Log {
                key: SigningKey::from_bytes(&[7; 32]),
                entries: Vec::new(),
                tree: CompactTree::new(),
            }
        }

        fn append(&mut self, text: &str) {
            let index = self.tree.size();
            let activity = format!("{{\"id\":\"https://example.org/a/{text}\"}}").into_bytes();
            let body = EntryBody::new(
                ORIGIN,
                index,
                self.tree.root(),
                1_700_000_000_000 + index as i64,
                EntryKind::Activity,
                format!("https://example.org/a/{text}"),
                &activity,
                &self.key.verifying_key(),
            );
            let entry = SignedEntry::sign(body, &self.key).unwrap().encode();
            self.tree.append(punte_log::leaf_hash(&entry));
            self.entries.push(FetchedEntry {
                index,
                entry,
                activity: Some(activity),
            });
        }

        fn signer(&self) -> NoteSigner {
            NoteSigner::new(ORIGIN, KeyType::Ed25519, self.key.clone()).unwrap()
        }

        fn checkpoint(&self) -> String {
            Checkpoint::new(ORIGIN, self.tree.size(), self.tree.root())
                .sign(&self.signer())
                .unwrap()
        }

        fn vkey(&self) -> String {
            self.signer().verifier().to_vkey()
        }

        fn evidence(&self) -> Evidence {
            Evidence {
                source: "https://example.org".to_owned(),
                fetched_at: "2025-01-01T00:00:00Z".to_owned(),
                anchor: TrustAnchor {
                    vkey: self.vkey(),
                    source: AnchorSource::Given,
                },
                witness_keys: Vec::new(),
                published_keys: vec![self.vkey()],
                start: None,
                checkpoints: vec![self.checkpoint()],
                consistency: None,
                timestamp_tolerance_ms: DEFAULT_TIMESTAMP_TOLERANCE_MS,
                disclosure_k: default_disclosure_k(),
                entries: self.entries.clone(),
                unavailable: Vec::new(),
                served: Vec::new(),
            }
        }
    }

    fn kinds(report: &Report) -> Vec<(String, Option<u64>)> {
        report.errors().map(|f| (f.kind.clone(), f.index)).collect()
    }

    fn make_log(n: usize) -> Log {
        let mut log = Log::new();
        for i in 0..n {
            log.append(&i.to_string());
        }
        log
    }

    #[test]
    fn a_clean_log_verifies_and_gives_a_state() {
        let log = make_log(5);
        let v = verify(&log.evidence(), 2).unwrap();
        assert!(v.report.clean, "{:?}", v.report.findings);
        assert_eq!(v.report.size, 5);
        let state = v.end_state.unwrap();
        assert_eq!(state.size, 5);
        let again = SavedState::from_json(&serde_json::to_vec(&state).unwrap()).unwrap();
        assert_eq!(again, state);
    }

    #[test]
    fn tampering_is_named() {
        let log = make_log(4);
        let mut evidence = log.evidence();
        evidence.entries[2].activity = Some(b"changed".to_vec());
        let report = verify(&evidence, 1).unwrap().report;
        assert_eq!(kinds(&report), vec![("tampered".to_owned(), Some(2))]);

        let mut evidence = log.evidence();
        evidence.entries.remove(1);
        let report = verify(&evidence, 1).unwrap().report;
        assert!(kinds(&report).contains(&("missing".to_owned(), Some(1))));

        let mut evidence = log.evidence();
        evidence.checkpoints[0] = evidence.checkpoints[0].replacen('4', "3", 1);
        let report = verify(&evidence, 1).unwrap().report;
        assert!(
            report.errors().any(|f| f.kind == "checkpoint_invalid"),
            "{:?}",
            report.findings
        );
    }

    #[test]
    fn incremental_audit_continues_and_catches_a_fork() {
        let mut log = make_log(3);
        let state = verify(&log.evidence(), 1).unwrap().end_state.unwrap();
        for i in 3..7 {
            log.append(&i.to_string());
        }
        let proof = punte_log::tree::consistency_proof(
            &log.entries
                .iter()
                .map(|e| punte_log::leaf_hash(&e.entry))
                .collect::<Vec<_>>(),
            3,
            7,
        )
        .unwrap();
        let mut evidence = log.evidence();
        evidence.anchor.source = AnchorSource::SavedState;
        evidence.checkpoints.insert(0, state.checkpoint.clone());
        evidence.start = Some(state.clone());
        evidence.entries.drain(..3);
        evidence.consistency = Some(ConsistencyEvidence {
            old_size: 3,
            new_size: 7,
            proof: punte_log::tree::format_proof(&proof),
        });
        let v = verify(&evidence, 1).unwrap();
        assert!(v.report.clean, "{:?}", v.report.findings);
        assert_eq!((v.report.from_index, v.report.entries), (3, 4));

        // A fork: same first two entries, then different ones.
        let mut fork = make_log(2);
        for i in 10..15 {
            fork.append(&i.to_string());
        }
        let leaves: Vec<Hash> = fork
            .entries
            .iter()
            .map(|e| punte_log::leaf_hash(&e.entry))
            .collect();
        let proof = punte_log::tree::consistency_proof(&leaves, 3, 7).unwrap();
        let mut evidence = fork.evidence();
        evidence.checkpoints.insert(0, state.checkpoint.clone());
        evidence.start = Some(state);
        evidence.entries.drain(..3);
        evidence.consistency = Some(ConsistencyEvidence {
            old_size: 3,
            new_size: 7,
            proof: punte_log::tree::format_proof(&proof),
        });
        let report = verify(&evidence, 1).unwrap().report;
        assert!(kinds(&report).contains(&("inconsistent".to_owned(), Some(3))));
    }

    #[test]
    fn witness_cosignatures_are_verified_and_reported() {
        let log = make_log(2);
        let witness = NoteSigner::new(
            "partner.example/punte-witness",
            KeyType::CosignatureV1,
            SigningKey::from_bytes(&[9; 32]),
        )
        .unwrap();
        let mut evidence = log.evidence();
        let text = Checkpoint::new(ORIGIN, log.tree.size(), log.tree.root()).to_text();
        let cosignature = witness.cosign(&text, 1_700_000_000).unwrap();
        evidence.checkpoints[0] = punte_log::checkpoint::staple_cosignatures(
            evidence.checkpoints[0].as_bytes(),
            &[cosignature],
        )
        .unwrap();
        evidence.witness_keys = vec![witness.verifier().to_vkey()];
        let report = verify(&evidence, 1).unwrap().report;
        assert!(report.clean, "{:?}", report.findings);
        assert_eq!(
            report.checkpoints[0].cosigners,
            vec![("partner.example/punte-witness".to_owned(), 1_700_000_000)]
        );
        // A log key is not a witness key.
        evidence.witness_keys = vec![log.vkey()];
        assert!(verify(&evidence, 1).is_err());
    }

    #[test]
    fn bundles_round_trip() {
        let log = make_log(3);
        let evidence = log.evidence();
        let report = verify(&evidence, 1).unwrap().report;
        let bundle = Bundle::new(evidence, report);
        let text = serde_json::to_vec(&bundle).unwrap();
        assert_eq!(Bundle::from_json(&text).unwrap(), bundle);
        assert!(Bundle::from_json(b"{}").is_err());
    }

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            normalise_node_url("https://ngo.example.org/").unwrap(),
            "https://ngo.example.org"
        );
        assert!(normalise_node_url("ftp://x").is_err());
        assert!(normalise_node_url("https://x/?a=b").is_err());
        assert_eq!(node_file_stem("http://127.0.0.1:8080"), "127.0.0.1_8080");
    }
}
