//! `punte audit`: audits other nodes' signed histories over HTTP (full or incremental), or
//! re-verifies an evidence bundle offline, and prints one report per node. Exit code 0 when
//! every audit is clean, 1 when any found a problem, 2 when any could not run.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use punte_audit::network::{
    EVIDENCE_FORMAT, NetworkEvidence, NetworkObservations, NetworkReport, NetworkRequest, judge,
    network_audit, verify_evidence,
};
use punte_audit::{
    AnchorSource, AuditMode, AuditRequest, Bundle, Crawler, DEFAULT_TIMESTAMP_TOLERANCE_MS,
    FetchOptions, FindingSeverity, LogVerifier, Progress, Report, ReportFinding, SavedState,
    TrustAnchor, node_file_stem, normalise_node_url, parse_anchor, parse_witness, verify,
};

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 every audit is clean, 1 an audit found a problem, 2 an audit could not run.
With several URLs, --bundle, --save-state and --since name directories holding one file per
node (HOST_PORT.bundle.json, HOST_PORT.state.json).")]
pub struct AuditArgs {
    /// Base URLs of the nodes to audit, e.g. https://ngo.example.org.
    #[arg(value_name = "URL", required_unless_present = "offline")]
    pub urls: Vec<String>,
    /// Re-verify an evidence bundle without the network.
    #[arg(long, value_name = "BUNDLE", conflicts_with_all = ["urls", "since", "bundle", "save_state"])]
    pub offline: Option<PathBuf>,
    /// Print the report as JSON (an object; an array with several URLs).
    #[arg(long)]
    pub json: bool,
    /// Audit incrementally from a state saved by an earlier audit.
    #[arg(long, value_name = "FILE")]
    pub since: Option<PathBuf>,
    /// Write an evidence bundle that re-verifies offline (and, unless --save-state is
    /// given, the state beside it as OUT.state.json).
    #[arg(long, value_name = "OUT")]
    pub bundle: Option<PathBuf>,
    /// Where to save the state for the next --since (written only after a clean audit).
    #[arg(long, value_name = "FILE")]
    pub save_state: Option<PathBuf>,
    /// The log's first key (C2SP verifier key, as `punte keys show` prints it). Without
    /// it, the first key the node publishes is trusted on first use. Repeat for several
    /// nodes: each node uses the key named after its origin.
    #[arg(long, value_name = "VKEY")]
    pub key: Vec<String>,
    /// A witness verifier key (cosignature/v1) whose cosignatures on the checkpoint are
    /// verified and reported, or a witness's URL whose cosigned checkpoints and kept
    /// evidence are compared with the node's (without any, the node's /log/witnesses are
    /// asked); repeat for several. Offline, keys replace the bundle's witnesses.
    #[arg(long, value_name = "VKEY|URL")]
    pub witness: Vec<String>,
    /// A partner's base URL whose kept checkpoints of the node (stapled to deliveries and
    /// read by its replica, /federation/checkpoints) are compared with the node's; repeat
    /// for several (without any, the node's /followers are asked).
    #[arg(long, value_name = "URL")]
    pub partner: Vec<String>,
    /// Where to write the evidence file when the node and its witnesses disagree
    /// [default: HOST_PORT.evidence.json].
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// A witness whose last cosignature for a smaller size is older than this has stopped
    /// advancing.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub stale_after: u64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Verification threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Timeout of each HTTP request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Entry pages fetched at the same time.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Allowed backwards step of entry timestamps, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMESTAMP_TOLERANCE_MS)]
    pub timestamp_tolerance_ms: i64,
    /// The disclosure threshold evaluations are checked against: a value a reader can get
    /// a group of fewer than K people from is reported as `disclosure_violation`.
    #[arg(long, value_name = "K", default_value_t = punte_model::disclosure::DEFAULT_K, value_parser = clap::value_parser!(u64).range(1..))]
    pub disclosure_k: u64,
}

/// The result of auditing one node (or one bundle).
enum Outcome {
    Audited {
        report: Box<Report>,
        notes: Vec<String>,
        /// Offline: whether the bundle's findings were reached again.
        reproduced: Option<bool>,
    },
    Failed {
        source: String,
        error: anyhow::Error,
    },
}

impl Outcome {
    fn exit_code(&self) -> u8 {
        match self {
            Outcome::Audited {
                report, reproduced, ..
            } => u8::from(!report.clean || *reproduced == Some(false)),
            Outcome::Failed { .. } => 2,
        }
    }
}

/// Runs the command and exits the process with its verdict (0, 1 or 2).
pub fn run_and_exit(args: &AuditArgs) -> ! {
    let code = run(args);
    std::process::exit(i32::from(code))
}

/// Runs the command; never panics on remote data; returns the exit code.
pub fn run(args: &AuditArgs) -> u8 {
    let outcomes = match &args.offline {
        Some(path) => vec![offline(args, path).unwrap_or_else(|error| Outcome::Failed {
            source: path.display().to_string(),
            error,
        })],
        None => online(args),
    };
    let printed = if args.json {
        print_json(&outcomes)
    } else {
        print_text(&outcomes)
    };
    if let Err(e) = printed {
        eprintln!("punte audit: cannot write the report: {e}");
        return 2;
    }
    outcomes.iter().map(Outcome::exit_code).max().unwrap_or(2)
}

fn threads(args: &AuditArgs) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A per-node path: the path itself for one node, or `DIR/STEM.SUFFIX` for several.
fn node_path(path: &Path, several: bool, url: &str, suffix: &str) -> PathBuf {
    if several {
        path.join(format!("{}.{suffix}", node_file_stem(url)))
    } else {
        path.to_path_buf()
    }
}

/// `x.json` → `x.state.json`; anything else gets `.state.json` appended.
fn state_beside(bundle: &Path) -> PathBuf {
    let name = bundle
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit".to_owned());
    let stem = name
        .strip_suffix(".bundle.json")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(&name);
    bundle.with_file_name(format!("{stem}.state.json"))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn online(args: &AuditArgs) -> Vec<Outcome> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return vec![Outcome::Failed {
                source: args.urls.join(" "),
                error: anyhow::Error::new(e).context("cannot start the async runtime"),
            }];
        }
    };
    let several = args.urls.len() > 1;
    args.urls
        .iter()
        .map(|url| {
            audit_node(args, &runtime, url, several).unwrap_or_else(|error| Outcome::Failed {
                source: url.clone(),
                error,
            })
        })
        .collect()
}

fn audit_node(
    args: &AuditArgs,
    runtime: &tokio::runtime::Runtime,
    url: &str,
    several: bool,
) -> anyhow::Result<Outcome> {
    let base_url = normalise_node_url(url)?;
    let pinned = args
        .key
        .iter()
        .map(|k| parse_anchor(k))
        .collect::<Result<Vec<_>, _>>()?;
    let witnesses = args
        .witness
        .iter()
        .filter(|k| !is_url(k))
        .map(|k| parse_witness(k))
        .collect::<Result<Vec<_>, _>>()?;
    let since = match &args.since {
        Some(path) => {
            let path = node_path(path, several, &base_url, "state.json");
            let bytes = std::fs::read(&path)
                .with_context(|| format!("cannot read the state {}", path.display()))?;
            let state =
                SavedState::from_json(&bytes).with_context(|| format!("in {}", path.display()))?;
            Some(state)
        }
        None => None,
    };
    let mut notes = Vec::new();
    if let Some(state) = &since
        && state.source != base_url
    {
        notes.push(format!(
            "the saved state was taken from {}, not {base_url}",
            state.source
        ));
    }
    let request = AuditRequest {
        base_url: base_url.clone(),
        pinned,
        witnesses,
        since,
        fetched_at: now_rfc3339(),
        timestamp_tolerance_ms: args.timestamp_tolerance_ms,
        disclosure_k: args.disclosure_k,
    };
    let crawler = Crawler::new(FetchOptions {
        timeout: Duration::from_secs(args.timeout.max(1)),
        concurrency: args.concurrency.max(1),
        ..FetchOptions::default()
    })?;

    let bar = progress_bar(args.quiet);
    bar.set_message(format!("fetching {base_url}"));
    let progress = Bar(bar.clone());
    let evidence = runtime.block_on(crawler.collect(&request, &progress));
    let evidence = match evidence {
        Ok(e) => e,
        Err(e) => {
            bar.finish_and_clear();
            return Err(e.into());
        }
    };
    bar.set_message(format!("verifying {} entries", evidence.entries.len()));
    bar.enable_steady_tick(Duration::from_millis(200));
    let verified = verify(&evidence, threads(args));
    bar.finish_and_clear();
    let verified = verified?;
    if !evidence.unavailable.is_empty() {
        notes.push(format!(
            "the node failed to serve {} entries (HTTP 5xx); they are reported missing",
            evidence.unavailable.len()
        ));
    }

    // The whole verdict first (log, witnesses, partners); only then the outputs, so that a
    // bundle carries every finding and no state is kept from an audit that was not clean.
    let mut report = verified.report;
    let network = network_check(args, runtime, &base_url, several, &mut report, &mut notes)?;
    let mut state_path = args
        .save_state
        .as_ref()
        .map(|p| node_path(p, several, &base_url, "state.json"));
    if let Some(out) = &args.bundle {
        let path = node_path(out, several, &base_url, "bundle.json");
        let bundle = Bundle::new(evidence, report.clone()).with_network(network);
        let bytes = serde_json::to_vec(&bundle).context("cannot encode the bundle")?;
        write_file(&path, &bytes)?;
        notes.push(format!("evidence bundle written to {}", path.display()));
        if state_path.is_none() {
            state_path = Some(state_beside(&path));
        }
    }
    if let Some(path) = state_path {
        match &verified.end_state {
            Some(state) if report.clean => {
                let bytes = serde_json::to_vec_pretty(state).context("cannot encode the state")?;
                write_file(&path, &bytes)?;
                notes.push(format!(
                    "state for the next --since written to {}",
                    path.display()
                ));
            }
            _ => notes.push(
                "state not saved: only a clean audit whose checkpoint matches the log is saved"
                    .to_owned(),
            ),
        }
    }
    Ok(Outcome::Audited {
        report: Box::new(report),
        notes,
        reproduced: None,
    })
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Compares the node's checkpoints with its witnesses' (docs/protocol.md §6.5); findings
/// join the report, and a disagreement is written as an evidence file.
fn network_check(
    args: &AuditArgs,
    runtime: &tokio::runtime::Runtime,
    base_url: &str,
    several: bool,
    report: &mut Report,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<NetworkObservations>> {
    let log_keys = log_keys(report);
    let request = NetworkRequest {
        base_url: base_url.to_owned(),
        log_keys,
        witnesses: args.witness.iter().filter(|w| is_url(w)).cloned().collect(),
        partners: (!args.partner.is_empty()).then(|| args.partner.clone()),
        stale_after_secs: args.stale_after,
        now_secs: u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0),
        fetched_at: now_rfc3339(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let network = match runtime.block_on(network_audit(&request)) {
        Ok(n) => n,
        Err(e) => {
            notes.push(format!("witnesses not compared: {e}"));
            return Ok(None);
        }
    };
    let evidence = network.evidence.clone();
    let observations = network.observations.clone();
    add_network(report, network, notes);
    if let Some(evidence) = evidence {
        let path = match &args.evidence {
            Some(p) => node_path(p, several, base_url, "evidence.json"),
            None => PathBuf::from(format!("{}.evidence.json", node_file_stem(base_url))),
        };
        let bytes = serde_json::to_vec_pretty(&evidence).context("cannot encode the evidence")?;
        write_file(&path, &bytes)?;
        notes.push(format!(
            "evidence of {} written to {} (re-verify with punte audit --offline)",
            evidence.kind,
            path.display()
        ));
    }
    Ok(Some(observations))
}

/// The log's verifier keys as the report found them: its published key history and anchor.
fn log_keys(report: &Report) -> Vec<LogVerifier> {
    let mut log_keys = Vec::new();
    for k in report
        .keys
        .iter()
        .map(|p| p.vkey.as_str())
        .chain([report.anchor.vkey.as_str()])
    {
        if let Ok(v) = parse_anchor(k)
            && !log_keys.contains(&v)
        {
            log_keys.push(v);
        }
    }
    log_keys
}

/// Adds the network's findings to `report` (and what each witness and partner said to
/// `notes`); the report is clean only if both are.
fn add_network(report: &mut Report, network: NetworkReport, notes: &mut Vec<String>) {
    for w in &network.witnesses {
        let what = match (w.size, &w.error) {
            (Some(size), _) => format!(
                "cosigned size {size}{}",
                w.cosigned_at
                    .map(|t| format!(" at {t}"))
                    .unwrap_or_default()
            ),
            (None, Some(e)) => format!("could not be read: {e}"),
            (None, None) => "cosigned nothing yet".to_owned(),
        };
        notes.push(format!("witness {} {what}", w.url));
    }
    for p in &network.partners {
        notes.push(match &p.error {
            Some(e) => format!("partner {} could not be read: {e}", p.url),
            None => format!(
                "partner {} kept {} checkpoint(s) of this log",
                p.url, p.checkpoints
            ),
        });
    }
    report.findings.extend(network.findings);
    let clean = report.errors().next().is_none();
    report.clean = clean;
}

/// Re-verifies a witness evidence file (`punte-witness-evidence/v1`).
fn offline_evidence(args: &AuditArgs, path: &Path, bytes: &[u8]) -> anyhow::Result<Outcome> {
    let evidence =
        NetworkEvidence::from_json(bytes).with_context(|| format!("in {}", path.display()))?;
    let keys = args
        .key
        .iter()
        .map(|k| parse_anchor(k))
        .collect::<Result<Vec<_>, _>>()?;
    let proven = verify_evidence(&evidence, (!keys.is_empty()).then_some(keys.as_slice()));
    let anchor = keys
        .first()
        .map(|k| k.to_vkey())
        .or_else(|| evidence.log_keys.first().cloned())
        .unwrap_or_default();
    let mut notes = vec![format!(
        "offline re-verification of the witness evidence {} (fetched from {} at {})",
        path.display(),
        evidence.source,
        evidence.fetched_at
    )];
    let (findings, reproduced, size) = match &proven {
        Ok(p) => (
            vec![ReportFinding {
                severity: FindingSeverity::Error,
                kind: p.kind.clone(),
                index: None,
                message: p.message.clone(),
                detail: serde_json::json!({
                    "first": evidence.first.from, "second": evidence.second.from,
                    "sizes": [p.sizes.0, p.sizes.1],
                }),
            }],
            p.kind == evidence.kind,
            p.sizes.1,
        ),
        Err(why) => {
            notes.push(format!("the evidence proves nothing: {why}"));
            (Vec::new(), false, 0)
        }
    };
    let report = Report {
        source: evidence.source.clone(),
        origin: evidence.origin.clone(),
        mode: AuditMode::Full,
        anchor: TrustAnchor {
            vkey: anchor,
            source: AnchorSource::Given,
        },
        clean: findings.is_empty(),
        from_index: 0,
        entries: 0,
        size,
        root: String::new(),
        keys: Vec::new(),
        checkpoints: Vec::new(),
        findings,
    };
    Ok(Outcome::Audited {
        report: Box::new(report),
        notes,
        reproduced: Some(reproduced),
    })
}

fn offline(args: &AuditArgs, path: &Path) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the bundle {}", path.display()))?;
    let format = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_owned));
    if format.as_deref() == Some(EVIDENCE_FORMAT) {
        return offline_evidence(args, path, &bytes);
    }
    let bundle = Bundle::from_json(&bytes).with_context(|| format!("in {}", path.display()))?;
    let mut evidence = bundle.evidence;
    let mut notes = vec![format!(
        "offline re-verification of {} (fetched from {} at {})",
        path.display(),
        evidence.source,
        evidence.fetched_at
    )];
    if let [key] = args.key.as_slice() {
        let key = parse_anchor(key)?;
        if key.to_vkey() != evidence.anchor.vkey {
            notes.push(format!(
                "the bundle's trust anchor {} is replaced by --key",
                evidence.anchor.vkey
            ));
        }
        evidence.anchor = TrustAnchor {
            vkey: key.to_vkey(),
            source: AnchorSource::Given,
        };
    } else if args.key.len() > 1 {
        bail!("--offline takes at most one --key");
    }
    if !args.witness.is_empty() {
        evidence.witness_keys = args
            .witness
            .iter()
            .filter(|k| !is_url(k))
            .map(|k| parse_witness(k).map(|v| v.to_vkey()))
            .collect::<Result<Vec<_>, _>>()?;
    }
    let bar = progress_bar(args.quiet);
    bar.set_message(format!("verifying {} entries", evidence.entries.len()));
    bar.enable_steady_tick(Duration::from_millis(200));
    let verified = verify(&evidence, threads(args));
    bar.finish_and_clear();
    let mut report = verified?.report;
    if let Some(network) = &bundle.network {
        let keys = log_keys(&report);
        match judge(network, &keys, &evidence.source, &evidence.fetched_at) {
            Ok(judged) => add_network(&mut report, judged, &mut notes),
            Err(e) => notes.push(format!("witnesses not compared: {e}")),
        }
    }
    let reproduced = report.findings == bundle.report.findings;
    if !reproduced {
        notes.push(format!(
            "the bundle records {} findings, this verification reached {}: they differ",
            bundle.report.findings.len(),
            report.findings.len()
        ));
    }
    Ok(Outcome::Audited {
        report: Box::new(report),
        notes,
        reproduced: Some(reproduced),
    })
}

/// A progress bar on standard error, hidden when it is not a terminal or with --quiet.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} entries, {per_sec}, eta {eta}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn set_total(&self, entries: u64) {
        self.0.set_length(entries);
    }
    fn advance(&self, entries: u64) {
        self.0.inc(entries);
    }
}

fn print_json(outcomes: &[Outcome]) -> anyhow::Result<()> {
    let values: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Audited {
                report,
                notes,
                reproduced,
            } => {
                let mut value = serde_json::to_value(report).unwrap_or_default();
                if let Some(object) = value.as_object_mut() {
                    object.insert("notes".to_owned(), notes.clone().into());
                    if let Some(r) = reproduced {
                        object.insert("reproduced".to_owned(), (*r).into());
                    }
                }
                value
            }
            Outcome::Failed { source, error } => serde_json::json!({
                "source": source,
                "error": format!("{error:#}"),
            }),
        })
        .collect();
    let value = match <[serde_json::Value; 1]>::try_from(values) {
        Ok([one]) => one,
        Err(many) => serde_json::Value::Array(many),
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value)?;
    writeln!(out)?;
    Ok(())
}

fn print_text(outcomes: &[Outcome]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (n, outcome) in outcomes.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        match outcome {
            Outcome::Failed { source, error } => {
                writeln!(out, "audit of {source}: COULD NOT RUN")?;
                writeln!(out, "  {error:#}")?;
            }
            Outcome::Audited {
                report,
                notes,
                reproduced,
            } => write_report(&mut out, report, notes, *reproduced)?,
        }
    }
    out.flush()?;
    Ok(())
}

fn write_report(
    out: &mut impl std::io::Write,
    report: &Report,
    notes: &[String],
    reproduced: Option<bool>,
) -> std::io::Result<()> {
    let errors = report.errors().count();
    let verdict = if report.clean {
        "CLEAN".to_owned()
    } else {
        format!("{errors} FINDING{}", if errors == 1 { "" } else { "S" })
    };
    writeln!(
        out,
        "audit of {} ({}): {verdict}",
        report.source, report.origin
    )?;
    let mode = match report.mode {
        AuditMode::Full => "full",
        AuditMode::Incremental => "incremental",
    };
    writeln!(
        out,
        "  {mode} audit of entries {}..{} ({} {}), tree size {}, root {}",
        report.from_index,
        report.from_index.saturating_add(report.entries),
        report.entries,
        if report.entries == 1 {
            "entry"
        } else {
            "entries"
        },
        report.size,
        report.root
    )?;
    let how = match report.anchor.source {
        AnchorSource::Given => "given with --key",
        AnchorSource::FirstUse => {
            "TRUSTED ON FIRST USE: the first key the node publishes at /log/key; \
             pin it with --key"
        }
        AnchorSource::SavedState => "from the saved state",
    };
    writeln!(out, "  trust anchor: {} ({how})", report.anchor.vkey)?;
    for period in &report.keys {
        writeln!(
            out,
            "  key from entry {}: {}",
            period.from_index, period.vkey
        )?;
    }
    for checkpoint in &report.checkpoints {
        let matches = if checkpoint.matches_log {
            "matches the log"
        } else {
            "DOES NOT MATCH the log"
        };
        write!(
            out,
            "  checkpoint size {}: signed, {matches}",
            checkpoint.size
        )?;
        for (witness, time) in &checkpoint.cosigners {
            write!(out, "; cosigned by {witness} at {time}")?;
        }
        writeln!(out)?;
    }
    if report.findings.is_empty() {
        writeln!(out, "  no findings")?;
    }
    for finding in &report.findings {
        let severity = match finding.severity {
            FindingSeverity::Error => "error",
            FindingSeverity::Info => "info ",
        };
        let at = finding
            .index
            .map(|i| format!("entry {i}"))
            .unwrap_or_else(|| "log".to_owned());
        writeln!(
            out,
            "  {severity} {:<24} {at:<12} {}",
            finding.kind, finding.message
        )?;
    }
    match reproduced {
        Some(true) => writeln!(out, "  the bundle's findings were reproduced")?,
        Some(false) => writeln!(out, "  the bundle's findings were NOT reproduced")?,
        None => {}
    }
    for note in notes {
        writeln!(out, "  note: {note}")?;
    }
    Ok(())
}
