//! Audit speed against the raw Ed25519 rates measured in the same run.
//!
//! Run: `cargo bench -p punte-log --bench audit -- --warm-up-time 1 --measurement-time 3`.
//! Besides criterion's figures, prints the ratio of audit throughput to `verify_batch`
//! throughput (timed back to back here), which is what docs/performance.md reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey, verify_batch};
use punte_log::audit::{ActivityBytes, AuditConfig, AuditEntry, AuditState, audit};
use punte_log::entry::{EntryBody, EntryKind, SignedEntry};
use punte_log::tree::CompactTree;

const ORIGIN: &str = "example.org/punte-log";
const ENTRIES: u64 = 20_000;

struct Log {
    entries: Vec<Vec<u8>>,
    activities: Vec<Vec<u8>>,
    key: VerifyingKey,
}

/// A synthetic log: activities of about 400 bytes, as a typical AS2 Create.
fn build_log(n: u64) -> Log {
    let key = SigningKey::from_bytes(&[42; 32]);
    let mut tree = CompactTree::new();
    let mut entries = Vec::new();
    let mut activities = Vec::new();
    for i in 0..n {
        let id = format!("https://example.org/activities/{i}");
        let activity = format!(
            "{{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":\"{id}\",\
             \"type\":\"Create\",\"actor\":\"https://example.org/actor\",\"object\":{{\
             \"type\":\"Note\",\"content\":\"{}\"}}}}",
            "x".repeat(240)
        )
        .into_bytes();
        let body = EntryBody::new(
            ORIGIN,
            i,
            tree.root(),
            1_700_000_000_000 + i as i64,
            EntryKind::Activity,
            id,
            &activity,
            &key.verifying_key(),
        );
        let bytes = SignedEntry::sign(body, &key).unwrap().encode();
        tree.append(punte_log::leaf_hash(&bytes));
        entries.push(bytes);
        activities.push(activity);
    }
    Log {
        entries,
        activities,
        key: key.verifying_key(),
    }
}

fn run_audit(log: &Log, parallelism: usize) {
    let entries: Vec<AuditEntry<'_>> = log
        .entries
        .iter()
        .zip(&log.activities)
        .map(|(e, a)| AuditEntry {
            entry: e,
            activity: ActivityBytes::Present(a),
        })
        .collect();
    let config = AuditConfig {
        origin: ORIGIN,
        start: AuditState::genesis(log.key),
        log_keys: &[],
        witness_keys: &[],
        timestamp_tolerance_ms: 0,
        parallelism,
    };
    let report = audit(&config, &entries, &[]);
    assert!(report.is_clean());
    black_box(report);
}

/// (message, signature) pairs of the synthetic log, for raw verification.
fn signatures(log: &Log) -> (Vec<&[u8]>, Vec<Signature>) {
    let messages = log.entries.iter().map(|e| &e[..e.len() - 64]).collect();
    let sigs = log
        .entries
        .iter()
        .map(|e| Signature::from_slice(&e[e.len() - 64..]).unwrap())
        .collect();
    (messages, sigs)
}

fn all_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn bench(c: &mut Criterion) {
    let log = build_log(ENTRIES);
    let (messages, sigs) = signatures(&log);

    let mut raw = c.benchmark_group("ed25519");
    raw.throughput(Throughput::Elements(1));
    raw.bench_function("verify_strict single", |b| {
        b.iter(|| {
            log.key
                .verify_strict(black_box(messages[0]), &sigs[0])
                .unwrap()
        })
    });
    raw.throughput(Throughput::Elements(256));
    let keys = vec![log.key; 256];
    raw.bench_function("verify_batch 256", |b| {
        b.iter(|| verify_batch(black_box(&messages[..256]), &sigs[..256], &keys).unwrap())
    });
    raw.finish();

    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES));
    group.bench_function("20000 entries, 1 thread", |b| b.iter(|| run_audit(&log, 1)));
    let threads = all_threads();
    group.bench_function(format!("20000 entries, {threads} threads"), |b| {
        b.iter(|| run_audit(&log, threads))
    });
    group.finish();
}

/// Times `f` `rounds` times and returns the best duration (least disturbed by neighbours).
fn best_of(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// Same-run ratio of audit throughput to raw batch verification throughput.
fn report_ratio() {
    let log = build_log(ENTRIES);
    let (messages, sigs) = signatures(&log);
    let keys = vec![log.key; 256];
    let batch = best_of(5, || {
        for (m, s) in messages.chunks(256).zip(sigs.chunks(256)) {
            verify_batch(m, s, &keys[..m.len()]).unwrap();
        }
    });
    let one = best_of(5, || run_audit(&log, 1));
    let threads = all_threads();
    let many = best_of(5, || run_audit(&log, threads));
    let rate = |d: Duration| ENTRIES as f64 / d.as_secs_f64();
    println!("\nsame-run rates over {ENTRIES} entries (best of 5):");
    println!(
        "  verify_batch (256 per batch), 1 thread: {:>9.0} sig/s",
        rate(batch)
    );
    println!(
        "  audit, 1 thread:                        {:>9.0} entries/s",
        rate(one)
    );
    println!(
        "  audit, {threads} threads:                       {:>9.0} entries/s",
        rate(many)
    );
    println!(
        "  ratio audit(1 thread)/batch:  {:.2}",
        rate(one) / rate(batch)
    );
    println!(
        "  ratio audit({threads} threads)/batch: {:.2}",
        rate(many) / rate(batch)
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report_ratio();
}
