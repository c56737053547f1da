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
    /// Entries in the order served.
    pub entries: Vec<FetchedEntry>,
    /// Indexes the node failed to serve (HTTP 5xx); they are absent from `entries`.
    #[serde(default)]
    pub unavailable: Vec<u64>,
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
    pub report: Report,
}

impl Bundle {
    pub fn new(evidence: Evidence, report: Report) -> Bundle {
        Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            evidence,
            report,
        }
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
}

/// Fetches a node's log over HTTP.
#[derive(Debug, Clone)]
pub struct Crawler {
    client: reqwest::Client,
    options: FetchOptions,
}

/// One page of `/log/entries`, as served.
#[derive(Debug, Deserialize)]
struct EntriesPage {
    start: u64,
    end: u64,
    size: u64,
    entries: Vec<WireEntry>,
}

/// A validated page.
struct Page {
    end: u64,
    entries: Vec<FetchedEntry>,
}

/// What one range crawl got: the entries, and the indexes the node failed to serve.
#[derive(Default)]
struct Crawled {
    entries: Vec<FetchedEntry>,
    unavailable: Vec<u64>,
}

#[derive(Debug, Deserialize)]
struct WireEntry {
    index: u64,
    entry: String,
    activity: Option<String>,
}

impl Crawler {
    pub fn new(options: FetchOptions) -> Result<Crawler, AuditError> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("punte-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(AuditError::Client)?;
        Ok(Crawler { client, options })
    }

    /// Fetches everything the audit of `request` needs. Answers that break the protocol
    /// (oversized, malformed, refused) stop the crawl with an error; content problems
    /// (bad signatures, gaps, …) are left for [`verify`] to report.
    pub async fn collect(
        &self,
        request: &AuditRequest,
        progress: &dyn Progress,
    ) -> Result<Evidence, AuditError> {
        let base = &request.base_url;
        let checkpoint_url = format!("{base}/log/checkpoint");
        let note = self
            .get(&checkpoint_url, self.options.max_small_bytes)
            .await?;
        let note = String::from_utf8(note).map_err(|_| AuditError::BadResponse {
            url: checkpoint_url.clone(),
            reason: "the checkpoint is not UTF-8".to_owned(),
        })?;
        // Unverified here: `verify` opens it. An unparsable checkpoint is a finding, and
        // the log size is then found by probing the entries endpoint.
        let checkpoint = parse_checkpoint(note.as_bytes());

        let key_url = format!("{base}/log/key");
        let key_text = self.get(&key_url, self.options.max_small_bytes).await?;
        let key_text = String::from_utf8(key_text).map_err(|_| AuditError::BadResponse {
            url: key_url.clone(),
            reason: "the key list is not UTF-8".to_owned(),
        })?;
        let published_keys: Vec<String> = key_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();

        let anchor = choose_anchor(request, checkpoint.as_ref(), &published_keys)?;

        let mut checkpoints = Vec::new();
        let from = match &request.since {
            Some(state) => {
                checkpoints.push(state.checkpoint.clone());
                state.size
            }
            None => 0,
        };
        checkpoints.push(note);

        let mut consistency = None;
        if let (Some(state), Some(new)) = (&request.since, &checkpoint) {
            let old_size = state.size;
            let proof = if old_size == 0 || new.size <= old_size {
                String::new()
            } else {
                let url = format!(
                    "{base}/log/proof/consistency?old={old_size}&new={}",
                    new.size
                );
                let bytes = self.get(&url, self.options.max_small_bytes).await?;
                String::from_utf8(bytes).map_err(|_| AuditError::BadResponse {
                    url,
                    reason: "the proof is not UTF-8".to_owned(),
                })?
            };
            consistency = Some(ConsistencyEvidence {
                old_size,
                new_size: new.size,
                proof,
            });
        }

        // Crawl up to the checkpoint size, or to the end of what the node serves if that
        // is shorter (the missing tail is then a finding).
        let target = match &checkpoint {
            Some(c) => c.size,
            None => PROBE_LIMIT,
        };
        let end = self.served_end(base, from, target).await?;
        progress.set_total(end.saturating_sub(from));
        let step = self.options.page_size.clamp(1, MAX_PAGE_ENTRIES);
        let ranges: Vec<(u64, u64)> = (0..)
            .map(|i: u64| from.saturating_add(i.saturating_mul(step)))
            .take_while(|s| *s < end)
            .map(|s| (s, s.saturating_add(step).min(end)))
            .collect();
        let pages: Vec<Result<Crawled, AuditError>> = stream::iter(ranges)
            .map(|(s, e)| self.fetch_range(base, s, e, progress))
            .buffered(self.options.concurrency.max(1))
            .collect()
            .await;
        let mut entries = Vec::new();
        let mut unavailable = Vec::new();
        for page in pages {
            let mut page = page?;
            entries.append(&mut page.entries);
            unavailable.append(&mut page.unavailable);
            if unavailable.len() > MAX_UNAVAILABLE {
                return Err(AuditError::BadResponse {
                    url: format!("{base}/log/entries"),
                    reason: format!("more than {MAX_UNAVAILABLE} entries fail to load"),
                });
            }
        }

        Ok(Evidence {
            source: base.clone(),
            fetched_at: request.fetched_at.clone(),
            anchor,
            witness_keys: request
                .witnesses
                .iter()
                .map(NoteVerifier::to_vkey)
                .collect(),
            published_keys,
            start: request.since.clone(),
            checkpoints,
            consistency,
            timestamp_tolerance_ms: request.timestamp_tolerance_ms,
            entries,
            unavailable,
        })
    }

    /// Whether the node serves a page ending at `end`: a 4xx answer means the range is
    /// beyond its log; a 5xx answer means the range exists but fails to load.
    async fn serves_up_to(&self, base: &str, end: u64) -> Result<bool, AuditError> {
        let start = end.saturating_sub(1);
        match self.fetch_page(base, start, end).await {
            Ok(_) => Ok(true),
            Err(AuditError::Status { status, .. }) if status >= 500 => Ok(true),
            Err(AuditError::Status { status, .. }) if status >= 400 => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The end of the crawl: `target` if the node serves that far, else the size it
    /// serves (binary search, O(log n) requests). Never below `from`.
    async fn served_end(&self, base: &str, from: u64, target: u64) -> Result<u64, AuditError> {
        if target <= from || self.serves_up_to(base, target).await? {
            return Ok(target.max(from));
        }
        let (mut good, mut bad) = (from, target);
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            if self.serves_up_to(base, mid).await? {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Ok(good)
    }

    /// Fetches entries `start..end`, following short pages and splitting ranges that fail
    /// to load (5xx) down to the single entries that fail.
    async fn fetch_range(
        &self,
        base: &str,
        start: u64,
        end: u64,
        progress: &dyn Progress,
    ) -> Result<Crawled, AuditError> {
        let mut out = Crawled::default();
        // A stack of ranges still to fetch; the first range is on top, so order is kept.
        let mut todo = vec![(start, end)];
        while let Some((s, e)) = todo.pop() {
            match self.fetch_page(base, s, e).await {
                Ok(mut page) => {
                    progress.advance(page.end - s);
                    out.entries.append(&mut page.entries);
                    if page.end < e {
                        todo.push((page.end, e));
                    }
                }
                Err(AuditError::Status { status, .. }) if status >= 500 => {
                    if e - s > 1 {
                        let mid = s + (e - s) / 2;
                        todo.push((mid, e));
                        todo.push((s, mid));
                    } else {
                        progress.advance(1);
                        out.unavailable.push(s);
                        if out.unavailable.len() > MAX_UNAVAILABLE {
                            return Err(AuditError::BadResponse {
                                url: format!("{base}/log/entries"),
                                reason: format!("more than {MAX_UNAVAILABLE} entries fail to load"),
                            });
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Ok(out)
    }

    /// One page `start..end` (`start < end`), validated.
    async fn fetch_page(&self, base: &str, start: u64, end: u64) -> Result<Page, AuditError> {
        let url = format!("{base}/log/entries?start={start}&end={end}");
        let body = self.get(&url, self.options.max_page_bytes).await?;
        let bad = |reason: String| AuditError::BadResponse {
            url: url.clone(),
            reason,
        };
        let page: EntriesPage = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        if page.start != start {
            return Err(bad(format!(
                "the page starts at {} not {start}",
                page.start
            )));
        }
        if page.end > end || page.end <= page.start || page.end > page.size {
            return Err(bad(format!(
                "the page end {} is outside {start}..={end} or beyond the size {}",
                page.end, page.size
            )));
        }
        let span = page.end - page.start;
        if page.entries.len() as u64 > span {
            return Err(bad(format!(
                "{} entries in a page of {span}",
                page.entries.len()
            )));
        }
        let mut entries = Vec::with_capacity(page.entries.len());
        for (n, wire) in page.entries.into_iter().enumerate() {
            let entry = BASE64
                .decode(&wire.entry)
                .map_err(|_| bad(format!("entry {n} of the page is not base64")))?;
            let activity = match wire.activity {
                Some(text) => Some(
                    BASE64
                        .decode(&text)
                        .map_err(|_| bad(format!("activity {n} of the page is not base64")))?,
                ),
                None => None,
            };
            entries.push(FetchedEntry {
                index: wire.index,
                entry,
                activity,
            });
        }
        Ok(Page {
            end: page.end,
            entries,
        })
    }

    /// GET with status check and a body size cap.
    async fn get(&self, url: &str, limit: usize) -> Result<Vec<u8>, AuditError> {
        let http = |source| AuditError::Http {
            url: url.to_owned(),
            source,
        };
        let mut response = self.client.get(url).send().await.map_err(http)?;
        let status = response.status();
        if !status.is_success() {
            return Err(AuditError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let too_large = || AuditError::TooLarge {
            url: url.to_owned(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Picks the trust anchor: a saved state's, a pinned key, or the first published key.
fn choose_anchor(
    request: &AuditRequest,
    checkpoint: Option<&Checkpoint>,
    published: &[String],
) -> Result<TrustAnchor, AuditError> {
    let origin = checkpoint.map(|c| c.origin.as_str());
    if let Some(state) = &request.since {
        if let Some(pinned) = request.pinned.iter().find(|k| k.name() == state.origin)
            && pinned.to_vkey() != state.anchor
        {
            return Err(AuditError::Anchor(format!(
                "--key {} differs from the saved state's anchor {}",
                pinned.to_vkey(),
                state.anchor
            )));
        }
        return Ok(TrustAnchor {
            vkey: state.anchor.clone(),
            source: AnchorSource::SavedState,
        });
    }
    let by_origin = request
        .pinned
        .iter()
        .find(|k| origin.is_some_and(|o| k.name() == o));
    let chosen = match (by_origin, request.pinned.as_slice()) {
        (Some(key), _) => Some(key),
        (None, [only]) => Some(only),
        (None, []) => None,
        (None, _) => {
            return Err(AuditError::Anchor(format!(
                "no --key is named after the node's origin {}",
                origin.unwrap_or("(unknown: the checkpoint does not parse)")
            )));
        }
    };
    if let Some(key) = chosen {
        return Ok(TrustAnchor {
            vkey: key.to_vkey(),
            source: AnchorSource::Given,
        });
    }
    let first = published.first().ok_or_else(|| {
        AuditError::Anchor("the node publishes no key at /log/key; pass --key".to_owned())
    })?;
    let verifier = parse_anchor(first)
        .map_err(|e| AuditError::Anchor(format!("the first key of /log/key: {e}")))?;
    Ok(TrustAnchor {
        vkey: verifier.to_vkey(),
        source: AnchorSource::FirstUse,
    })
}

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

/// Runs the audit on `evidence` with `parallelism` threads. Only the evidence and the
/// trust anchor inside it are used, so the same evidence always gives the same report.
pub fn verify(evidence: &Evidence, parallelism: usize) -> Result<Verification, AuditError> {
    let anchor = parse_anchor(&evidence.anchor.vkey)?;
    let origin = anchor.name().to_owned();
    let (start, mut history, mode) = match &evidence.start {
        Some(state) => {
            if state.origin != origin {
                return Err(AuditError::State(format!(
                    "the state's origin {} is not the anchor's {origin}",
                    state.origin
                )));
            }
            let keys = state
                .keys
                .iter()
                .map(|k| {
                    parse_anchor(&k.vkey).map(|v| KeyPeriod {
                        key: *v.public_key(),
                        from_index: k.from_index,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| AuditError::State(format!("key history: {e}")))?;
            (state.audit_state()?, keys, AuditMode::Incremental)
        }
        None => (
            AuditState::genesis(*anchor.public_key()),
            Vec::new(),
            AuditMode::Full,
        ),
    };
    let from_index = start.tree.size();
    let witness_keys = evidence
        .witness_keys
        .iter()
        .map(|k| parse_witness(k))
        .collect::<Result<Vec<_>, _>>()?;

    let mut log_keys = vec![anchor.clone()];
    for period in &history {
        if let Ok(v) = NoteVerifier::new(&origin, KeyType::Ed25519, period.key)
            && !log_keys.contains(&v)
        {
            log_keys.push(v);
        }
    }

    let shrunk = match (&evidence.start, evidence.checkpoints.last()) {
        (Some(state), Some(latest)) => parse_checkpoint(latest.as_bytes())
            .filter(|c| c.size < state.size)
            .map(|c| (state.size, c)),
        _ => None,
    };
    // A log that shrank is not audited against the old tree: only the saved checkpoint
    // is compared with it, the current one is opened on its own below.
    let checkpoint_bytes: Vec<&[u8]> = match &shrunk {
        Some(_) => evidence
            .checkpoints
            .iter()
            .take(evidence.checkpoints.len().saturating_sub(1))
            .map(|c| c.as_bytes())
            .collect(),
        None => evidence.checkpoints.iter().map(|c| c.as_bytes()).collect(),
    };
    let entries: Vec<AuditEntry<'_>> = evidence
        .entries
        .iter()
        .map(|e| AuditEntry {
            entry: &e.entry,
            activity: match &e.activity {
                Some(bytes) => ActivityBytes::Present(bytes),
                None => ActivityBytes::Erased,
            },
        })
        .collect();
    let config = AuditConfig {
        origin: &origin,
        start,
        log_keys: &log_keys,
        witness_keys: &witness_keys,
        timestamp_tolerance_ms: evidence.timestamp_tolerance_ms,
        parallelism,
    };
    let audited = punte_log::audit(&config, &entries, &checkpoint_bytes);

    let mut findings: Vec<ReportFinding> = audited.findings.iter().map(report_finding).collect();

    // Consistency with the saved checkpoint.
    if let Some((old_size, new)) = &shrunk {
        findings.push(ReportFinding {
            severity: FindingSeverity::Error,
            kind: "log_shrunk".to_owned(),
            index: Some(new.size),
            message: format!(
                "the log has {} entries but a checkpoint of size {old_size} was verified before",
                new.size
            ),
            detail: serde_json::json!({"old_size": old_size, "new_size": new.size}),
        });
        if let Some(latest) = evidence.checkpoints.last()
            && let Err(e) = open_checkpoint(latest.as_bytes(), &log_keys, &witness_keys)
        {
            findings.push(ReportFinding {
                severity: FindingSeverity::Error,
                kind: "checkpoint_invalid".to_owned(),
                index: None,
                message: format!("the current checkpoint is invalid: {e}"),
                detail: serde_json::json!({"position": evidence.checkpoints.len() - 1, "error": e.to_string()}),
            });
        }
    } else if let (Some(consistency), Some(state)) = (&evidence.consistency, &evidence.start)
        && let (Ok(old), Some(new)) = (
            state.parsed_checkpoint(),
            evidence
                .checkpoints
                .last()
                .and_then(|c| parse_checkpoint(c.as_bytes())),
        )
    {
        let result = if consistency.old_size != old.size || consistency.new_size != new.size {
            Err("the proof was fetched for other sizes".to_owned())
        } else {
            parse_proof(&consistency.proof)
                .map_err(|e| e.to_string())
                .and_then(|proof| check_consistency(&old, &new, &proof).map_err(|e| e.to_string()))
        };
        if let Err(error) = result {
            findings.push(ReportFinding {
                severity: FindingSeverity::Error,
                kind: "inconsistent".to_owned(),
                index: Some(old.size),
                message: format!(
                    "the checkpoint of size {} does not extend the saved checkpoint of size {} ({error}): the log was forked or rewritten",
                    new.size, old.size
                ),
                detail: serde_json::json!({
                    "old_size": old.size, "old_root": old.root.to_base64(),
                    "new_size": new.size, "new_root": new.root.to_base64(), "error": error,
                }),
            });
        }
    }

    // The published key list must be the key history.
    match audited.keys.split_first() {
        Some((first, rest)) if history.last().is_none_or(|h| h.key != first.key) => {
            history.push(*first);
            history.extend_from_slice(rest);
        }
        Some((_, rest)) => history.extend_from_slice(rest),
        None => {}
    }
    let history_vkeys: Vec<String> = history.iter().map(|p| vkey_of(&origin, &p.key)).collect();
    let published: Vec<Option<String>> = evidence
        .published_keys
        .iter()
        .map(|k| parse_anchor(k).ok().map(|v| v.to_vkey()))
        .collect();
    let published_ok: Vec<String> = published.iter().flatten().cloned().collect();
    if published_ok.len() != published.len() || published_ok != history_vkeys {
        findings.push(ReportFinding {
            severity: FindingSeverity::Error,
            kind: "key_list_mismatch".to_owned(),
            index: None,
            message: format!(
                "/log/key lists {} keys that are not the {} keys of the log's key history",
                published.len(),
                history_vkeys.len()
            ),
            detail: serde_json::json!({"published": evidence.published_keys, "history": history_vkeys}),
        });
    }

    let keys: Vec<KeyPeriodRecord> = history
        .iter()
        .map(|p| KeyPeriodRecord {
            vkey: vkey_of(&origin, &p.key),
            from_index: p.from_index,
        })
        .collect();
    let checkpoints: Vec<ReportCheckpoint> = audited
        .checkpoints
        .iter()
        .map(|c| ReportCheckpoint {
            size: c.checkpoint.size,
            root: c.checkpoint.root.to_base64(),
            matches_log: c.matches_log,
            cosigners: c.cosigners.clone(),
        })
        .collect();
    let clean = findings.iter().all(|f| f.severity == FindingSeverity::Info);
    let report = Report {
        source: evidence.source.clone(),
        origin: origin.clone(),
        mode,
        anchor: evidence.anchor.clone(),
        clean,
        from_index,
        entries: audited.entries,
        size: audited.size,
        root: audited.root.to_base64(),
        keys: keys.clone(),
        checkpoints,
        findings,
    };

    // The state to resume from: only after a clean audit whose latest checkpoint is the
    // log as audited.
    let latest = evidence.checkpoints.last();
    let latest_matches = audited
        .checkpoints
        .last()
        .is_some_and(|c| c.matches_log && c.checkpoint.size == audited.size);
    let end_state = match latest {
        Some(note) if clean && latest_matches => Some(SavedState {
            format: STATE_FORMAT.to_owned(),
            source: evidence.source.clone(),
            origin: origin.clone(),
            anchor: match &evidence.start {
                Some(state) => state.anchor.clone(),
                None => anchor.to_vkey(),
            },
            checkpoint: note.clone(),
            size: audited.end_state.tree.size(),
            frontier: audited
                .end_state
                .tree
                .frontier()
                .iter()
                .map(Hash::to_base64)
                .collect(),
            current_key: BASE64.encode(audited.end_state.current_key.as_bytes()),
            max_timestamp_ms: audited.end_state.max_timestamp_ms,
            keys,
            saved_at: evidence.fetched_at.clone(),
        }),
        _ => None,
    };
    Ok(Verification { report, end_state })
}

/// The report form of a [`punte_log`] finding.
fn report_finding(finding: &Finding) -> ReportFinding {
    use serde_json::json;
    let key = |k: &[u8; 32]| BASE64.encode(k);
    let (kind, index, detail) = match finding {
        Finding::Undecodable { position, error } => (
            "undecodable",
            None,
            json!({"position": position, "error": error.to_string()}),
        ),
        Finding::WrongOrigin { index, origin } => {
            ("wrong_origin", Some(*index), json!({"origin": origin}))
        }
        Finding::Missing { from, to } => ("missing", Some(*from), json!({"from": from, "to": to})),
        Finding::Reordered { position, index } => {
            ("reordered", Some(*index), json!({"position": position}))
        }
        Finding::DuplicateIndex { index } => ("duplicate_index", Some(*index), json!({})),
        Finding::BadSignature { index } => ("bad_signature", Some(*index), json!({})),
        Finding::UnknownKey { index, key: k } => {
            ("unknown_key", Some(*index), json!({"key": key(k)}))
        }
        Finding::WeakKey { key: k } => ("weak_key", None, json!({"key": key(k)})),
        Finding::PrevRootMismatch { index, through } => (
            "prev_root_mismatch",
            Some(*index),
            json!({"through": through}),
        ),
        Finding::Tampered { index } => ("tampered", Some(*index), json!({})),
        Finding::ErasedWithoutRedaction { index } => {
            ("erased_without_redaction", Some(*index), json!({}))
        }
        Finding::Redacted {
            index,
            reason,
            redaction_index,
        } => (
            "redacted",
            Some(*index),
            json!({"reason": reason, "redaction_index": redaction_index}),
        ),
        Finding::InvalidRedaction { index } => ("invalid_redaction", Some(*index), json!({})),
        Finding::RedactedMembership {
            index,
            redaction_index,
        } => (
            "redacted_membership",
            Some(*index),
            json!({ "redaction_index": redaction_index }),
        ),
        Finding::KeyRotated { index, new_key } => (
            "key_rotated",
            Some(*index),
            json!({"new_key": key(new_key)}),
        ),
        Finding::InvalidKeyRotation { index } => ("invalid_key_rotation", Some(*index), json!({})),
        Finding::DuplicateActivityId {
            index,
            first_index,
            activity_id,
        } => (
            "duplicate_activity_id",
            Some(*index),
            json!({"first_index": first_index, "activity_id": activity_id}),
        ),
        Finding::TimestampRegression {
            index,
            previous_ms,
            timestamp_ms,
        } => (
            "timestamp_regression",
            Some(*index),
            json!({"previous_ms": previous_ms, "timestamp_ms": timestamp_ms}),
        ),
        Finding::CheckpointInvalid { position, error } => (
            "checkpoint_invalid",
            None,
            json!({"position": position, "error": error}),
        ),
        Finding::CheckpointMismatch {
            size,
            checkpoint_root,
            log_root,
        } => (
            "checkpoint_mismatch",
            None,
            json!({"size": size, "checkpoint_root": checkpoint_root.to_base64(), "log_root": log_root.to_base64()}),
        ),
        Finding::CheckpointBeyondLog { size, log_size } => (
            "checkpoint_beyond_log",
            Some(*log_size),
            json!({"size": size, "log_size": log_size}),
        ),
        Finding::Equivocation { size, roots } => (
            "equivocation",
            None,
            json!({"size": size, "roots": [roots.0.to_base64(), roots.1.to_base64()]}),
        ),
    };
    ReportFinding {
        severity: match finding.severity() {
            Severity::Info => FindingSeverity::Info,
            Severity::Error => FindingSeverity::Error,
        },
        kind: kind.to_owned(),
        index,
        message: finding.to_string(),
        detail,
    }
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
                entries: self.entries.clone(),
                unavailable: Vec::new(),
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
