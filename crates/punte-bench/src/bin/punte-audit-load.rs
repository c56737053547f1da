//! `punte-audit-load`: the time to audit a network. Starts N nodes in-process on loopback,
//! writes E entries on each (bulk `Node::create_many`: each a signed practice activity and
//! log entry, written directly, not over HTTP), has W other nodes witness each log (their
//! cosignatures of its latest checkpoint made with their real witness keys and stored where
//! `add-checkpoint` stores them — the HTTP round trip itself is `punte-witness-load`'s), and
//! lets those witnesses also keep the checkpoint as a partner that received it. Then runs,
//! node after node, what `punte audit URL --witness W… --partner W…` runs: the full audit
//! (fetch every entry over HTTP, verify every signature, the tree, every `prev_root`, the
//! checkpoint and its cosignatures) and the network comparison with every witness's and
//! partner's checkpoints. The baseline, measured right before each node's audit, is raw
//! Ed25519 verification of the same entries' signatures (decode + `verify_strict`, one
//! thread), read from the databases.
//! Only loopback is contacted.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use punte_audit::network::{NetworkRequest, network_audit};
use punte_audit::{AuditRequest, Crawler, FetchOptions, NoProgress, verify};
use punte_log::SignedEntry;
use punte_log::checkpoint::Checkpoint;
use punte_log::note::{Note, NoteVerifier};
use punte_model::{Practice, PracticeContent};
use punte_server::{Application, Config};
use punte_store::federation::{PartnerCheckpoint, keep_partner_checkpoint};
use punte_store::witness::{CosignatureRow, WitnessState, insert_cosignature, save_state};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "Measure the audit of a network of nodes and their witnesses on loopback")]
struct Args {
    /// Nodes in the network.
    #[arg(long, default_value_t = 20)]
    nodes: usize,
    /// Entries written on each node.
    #[arg(long, default_value_t = 10_000)]
    entries: usize,
    /// Witnesses of each node (the next W nodes, in a ring).
    #[arg(long, default_value_t = 3)]
    witnesses: usize,
    /// Verification threads of the audit.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

struct Started {
    base: String,
    node: Arc<punte_node::Node>,
    _dir: tempfile::TempDir,
}

fn start() -> anyhow::Result<Started> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.federation.allow_private_addresses = true;
    config.server.workers = 1;
    let app = Application::with_listener(&config, TcpListener::bind("127.0.0.1:0")?)?;
    let base = app.base_url().to_owned();
    let node = app.node().into_inner();
    tokio::spawn(app.run_until_stopped());
    Ok(Started {
        base,
        node,
        _dir: dir,
    })
}

fn practice(i: usize) -> serde_json::Value {
    json!({
        "title": {"ro": format!("Practica {i}: școala de după școală"), "en": format!("Practice {i}: after-school club")},
        "summary": {"ro": "Sprijin la teme pentru copii din zone rurale", "en": "Homework support for rural children"},
        "problem": {"ro": "Abandon școlar timpuriu în comunele mici", "en": "Early school leaving in small villages"},
        "solution": {"ro": "Mentori voluntari în fiecare după-amiază, cu masă caldă", "en": "Volunteer mentors every afternoon, with a hot meal"},
        "originalLanguage": "ro", "translations": {"en": {"method": "human"}},
        "country": "RO", "region": "RO32", "themes": ["education", "youth"], "sdgTargets": ["4.1"], "maturity": "promising"
    })
}

/// Writes `n` entries on `node`, 2000 per transaction.
fn write_entries(node: &punte_node::Node, n: usize) -> anyhow::Result<()> {
    let mut left = n;
    while left > 0 {
        let k = left.min(2000);
        let contents: Vec<PracticeContent> = (0..k)
            .map(|i| serde_json::from_value(practice(n - left + i)))
            .collect::<Result<_, _>>()?;
        node.create_many::<Practice>(contents)?;
        left -= k;
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `witness` cosigns `log`'s latest checkpoint: its state as a witness and as a partner
/// that received it, and the cosignature stapled on the log's side.
fn witness(log: &Started, witness: &Started) -> anyhow::Result<()> {
    let (size, note) = log
        .node
        .store()
        .read(punte_store::log::latest_checkpoint)?
        .context("the log has no checkpoint")?;
    let parsed = Note::parse(note.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let checkpoint = Checkpoint::parse(&parsed.text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let signer = witness.node.witness_signer()?;
    let now = now_ms();
    let timestamp = u64::try_from(now / 1000)?;
    let cosignature = signer
        .cosign(&checkpoint.to_text(), timestamp)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut stapled = parsed.clone();
    stapled.add_signature(cosignature.clone());
    let stapled = stapled.to_text().map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = format!("{}/actor", log.base);
    witness.node.store().write(|tx| {
        save_state(
            tx,
            &WitnessState {
                origin: checkpoint.origin.clone(),
                actor: actor.clone(),
                size,
                root: *checkpoint.root.as_bytes(),
                checkpoint: stapled.clone(),
                cosigned_ms: now,
            },
        )?;
        keep_partner_checkpoint(
            tx,
            &PartnerCheckpoint {
                origin: checkpoint.origin.clone(),
                actor: actor.clone(),
                size,
                root: *checkpoint.root.as_bytes(),
                note: note.clone(),
                via: "sync".to_owned(),
                received_ms: now,
            },
        )
        .map(|_| ())
    })?;
    log.node.store().write(|tx| {
        insert_cosignature(
            tx,
            &CosignatureRow {
                size,
                witness: format!("{}/actor", witness.base),
                line: cosignature.to_line(),
                timestamp,
                received_ms: now,
            },
        )
    })?;
    Ok(())
}

/// Raw signature verification of every entry of `node` (the baseline): entries/s.
fn baseline(node: &punte_node::Node) -> anyhow::Result<(usize, Duration)> {
    let size = node.log_size()?;
    let entries = node
        .store()
        .read(|conn| punte_store::log::entries(conn, 0, size))?;
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&node.keys().identity.verifying_key().to_bytes())?;
    let t = Instant::now();
    for e in &entries {
        let signed = SignedEntry::decode(&e.entry).map_err(|e| anyhow::anyhow!("{e}"))?;
        signed.verify(&key).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok((entries.len(), t.elapsed()))
}

struct Audited {
    fetch: Duration,
    verify: Duration,
    network: Duration,
    entries: u64,
}

async fn audit(
    crawler: &Crawler,
    log: &Started,
    witnesses: &[&Started],
    threads: usize,
) -> anyhow::Result<Audited> {
    let mut witness_keys = Vec::new();
    for w in witnesses {
        witness_keys.push(
            NoteVerifier::parse(&w.node.witness_vkey()?).map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    let urls: Vec<String> = witnesses.iter().map(|w| w.base.clone()).collect();
    let t0 = Instant::now();
    let evidence = crawler
        .collect(
            &AuditRequest {
                base_url: log.base.clone(),
                pinned: Vec::new(),
                witnesses: witness_keys,
                since: None,
                fetched_at: "2026-01-01T00:00:00Z".to_owned(),
                timestamp_tolerance_ms: punte_audit::DEFAULT_TIMESTAMP_TOLERANCE_MS,
                disclosure_k: punte_model::disclosure::DEFAULT_K,
            },
            &NoProgress,
        )
        .await?;
    let t1 = Instant::now();
    let verified = tokio::task::block_in_place(|| verify(&evidence, threads))?;
    let t2 = Instant::now();
    let report = verified.report;
    if !report.clean {
        bail!(
            "the audit of {} is not clean: {:?}",
            log.base,
            report.findings
        );
    }
    let cosigned = report.checkpoints.last().map_or(0, |c| c.cosigners.len());
    if cosigned != witnesses.len() {
        bail!("{} has {cosigned} verified cosignatures", log.base);
    }
    let mut log_keys = Vec::new();
    for k in report.keys.iter().map(|k| k.vkey.as_str()) {
        log_keys.push(punte_audit::parse_anchor(k)?);
    }
    let network = network_audit(&NetworkRequest {
        base_url: log.base.clone(),
        log_keys,
        witnesses: urls.clone(),
        partners: Some(urls),
        stale_after_secs: 3600,
        now_secs: u64::try_from(now_ms() / 1000)?,
        fetched_at: "2026-01-01T00:00:00Z".to_owned(),
        timeout: Duration::from_secs(60),
    })
    .await?;
    let t3 = Instant::now();
    let seen = network
        .witnesses
        .iter()
        .filter(|w| w.size.is_some())
        .count();
    let kept: usize = network.partners.iter().map(|p| p.checkpoints).sum();
    if seen != witnesses.len() || kept != witnesses.len() || network.evidence.is_some() {
        bail!(
            "the network audit of {} saw {seen} witnesses and {kept} partner checkpoints: {:?}",
            log.base,
            network.findings
        );
    }
    Ok(Audited {
        fetch: t1 - t0,
        verify: t2 - t1,
        network: t3 - t2,
        entries: report.entries,
    })
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.witnesses >= args.nodes {
        bail!("each node needs --witnesses other nodes (fewer than --nodes)");
    }
    let mut nodes = Vec::new();
    for _ in 0..args.nodes {
        nodes.push(Arc::new(start()?));
    }
    eprintln!(
        "writing {} entries on each of {} nodes…",
        args.entries, args.nodes
    );
    let written = Instant::now();
    let mut writers = Vec::new();
    for n in &nodes {
        let n = n.clone();
        let entries = args.entries;
        writers.push(tokio::task::spawn_blocking(move || {
            write_entries(&n.node, entries)
        }));
    }
    for w in writers {
        w.await??;
    }
    let write_secs = secs(written.elapsed());
    // The witnesses of node i: the next W nodes of the ring.
    let ring = |i: usize| -> Vec<&Started> {
        (1..=args.witnesses)
            .filter_map(|k| nodes.get((i + k) % nodes.len()).map(|n| n.as_ref()))
            .collect()
    };
    for (i, log) in nodes.iter().enumerate() {
        for w in ring(i) {
            witness(log, w)?;
        }
    }

    // Node after node, the baseline right before the audit, so both see the same load.
    eprintln!("auditing…");
    let crawler = Crawler::new(FetchOptions {
        timeout: Duration::from_secs(60),
        ..FetchOptions::default()
    })?;
    let mut base_entries = 0;
    let mut base_time = Duration::ZERO;
    let mut total = Duration::ZERO;
    let mut results = Vec::new();
    for (i, log) in nodes.iter().enumerate() {
        let (k, t) = baseline(&log.node)?;
        base_entries += k;
        base_time += t;
        let ws = ring(i);
        let started = Instant::now();
        results.push(audit(&crawler, log, &ws, args.threads).await?);
        total += started.elapsed();
    }
    let entries: u64 = results.iter().map(|r| r.entries).sum();
    let per_node: Vec<f64> = results
        .iter()
        .map(|r| secs(r.fetch + r.verify + r.network))
        .collect();
    let mean = per_node.iter().sum::<f64>() / per_node.len().max(1) as f64;
    let min = per_node.iter().copied().fold(f64::INFINITY, f64::min);
    let max = per_node.iter().copied().fold(0.0, f64::max);
    let sum = |f: fn(&Audited) -> Duration| results.iter().map(|r| secs(f(r))).sum::<f64>();
    let base_rate = base_entries as f64 / secs(base_time).max(1e-9);
    let audit_rate = entries as f64 / secs(total).max(1e-9);

    println!(
        "| measurement ({} nodes × {} entries, {} witnesses each, {} verification threads) | value |",
        args.nodes, args.entries, args.witnesses, args.threads
    );
    println!("| --- | ---: |");
    println!(
        "| setup: write all entries (bulk create_many, nodes in parallel) | {write_secs:.1} s |"
    );
    println!(
        "| baseline: raw Ed25519 verification of the same {base_entries} entry signatures, 1 thread | {base_rate:.0} entries/s |"
    );
    println!(
        "| network audit, all {} nodes one after the other: total | {:.1} s |",
        args.nodes,
        secs(total)
    );
    println!(
        "| network audit: entries audited per second | {audit_rate:.0} entries/s ({:.2}× the baseline) |",
        audit_rate / base_rate
    );
    println!("| per node: mean / min / max | {mean:.2} / {min:.2} / {max:.2} s |");
    println!(
        "| per node, mean: fetch entries over HTTP | {:.2} s |",
        sum(|r| r.fetch) / results.len() as f64
    );
    println!(
        "| per node, mean: verify (signatures, tree, prev_root, checkpoint, cosignatures) | {:.2} s |",
        sum(|r| r.verify) / results.len() as f64
    );
    println!(
        "| per node, mean: compare with witnesses' and partners' checkpoints | {:.3} s |",
        sum(|r| r.network) / results.len() as f64
    );
    Ok(())
}
