//! Offline audit speed: an evidence bundle of 50,000 entries re-verified from its JSON file
//! (read, parse, decode, full audit: what `punte audit --offline` does), against raw Ed25519
//! batch verification of the same signatures measured in the same run, on 1 thread and on
//! all threads.
//!
//! Run: `cargo bench -p punte-audit --bench audit` (`AUDIT_ENTRIES=N` changes the size).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, SigningKey, VerifyingKey, verify_batch};
use punte_audit::{
    AnchorSource, Bundle, DEFAULT_TIMESTAMP_TOLERANCE_MS, Evidence, FetchedEntry, TrustAnchor,
    verify,
};
use punte_log::checkpoint::Checkpoint;
use punte_log::entry::{EntryBody, EntryKind, SignedEntry};
use punte_log::note::{KeyType, NoteSigner};
use punte_log::tree::CompactTree;

const ORIGIN: &str = "bench.example.org/punte-log";

/// Evidence of a synthetic log: activities of about 400 bytes, as a typical AS2 Create.
fn build(n: u64) -> Evidence {
    let key = SigningKey::from_bytes(&[42; 32]);
    let signer = NoteSigner::new(ORIGIN, KeyType::Ed25519, key.clone()).unwrap();
    let mut tree = CompactTree::new();
    let mut entries = Vec::with_capacity(n as usize);
    for i in 0..n {
        let id = format!("https://bench.example.org/activities/{i}");
        let activity = format!(
            "{{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"id\":\"{id}\",\
             \"type\":\"Create\",\"actor\":\"https://bench.example.org/actor\",\"object\":{{\
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
        let entry = SignedEntry::sign(body, &key).unwrap().encode();
        tree.append(punte_log::leaf_hash(&entry));
        entries.push(FetchedEntry {
            index: i,
            entry,
            activity: Some(activity),
        });
    }
    let checkpoint = Checkpoint::new(ORIGIN, tree.size(), tree.root())
        .sign(&signer)
        .unwrap();
    let vkey = signer.verifier().to_vkey();
    Evidence {
        source: "https://bench.example.org".to_owned(),
        fetched_at: "2025-01-01T00:00:00Z".to_owned(),
        anchor: TrustAnchor {
            vkey: vkey.clone(),
            source: AnchorSource::Given,
        },
        witness_keys: Vec::new(),
        published_keys: vec![vkey],
        start: None,
        checkpoints: vec![checkpoint],
        consistency: None,
        timestamp_tolerance_ms: DEFAULT_TIMESTAMP_TOLERANCE_MS,
        disclosure_k: punte_model::disclosure::DEFAULT_K,
        entries,
        unavailable: Vec::new(),
        served: Vec::new(),
    }
}

/// Wall time of one run of `f`.
fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Raw `verify_batch` in batches of 256 over `threads` contiguous parts.
fn raw_batch(messages: &[&[u8]], signatures: &[Signature], key: VerifyingKey, threads: usize) {
    let part = messages.len().div_ceil(threads.max(1));
    let keys = vec![key; 256];
    std::thread::scope(|scope| {
        for (m, s) in messages.chunks(part).zip(signatures.chunks(part)) {
            let keys = &keys;
            scope.spawn(move || {
                for (m, s) in m.chunks(256).zip(s.chunks(256)) {
                    verify_batch(m, s, &keys[..m.len()]).unwrap();
                }
            });
        }
    });
}

fn main() {
    let n: u64 = std::env::var("AUDIT_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let evidence = build(n);
    let report = verify(&evidence, threads).unwrap().report;
    assert!(report.clean, "{:?}", report.findings);
    let bytes = serde_json::to_vec(&Bundle::new(evidence.clone(), report)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.bundle.json");
    std::fs::write(&path, &bytes).unwrap();

    let messages: Vec<&[u8]> = evidence
        .entries
        .iter()
        .map(|e| &e.entry[..e.entry.len() - 64])
        .collect();
    let signatures: Vec<Signature> = evidence
        .entries
        .iter()
        .map(|e| Signature::from_slice(&e.entry[e.entry.len() - 64..]).unwrap())
        .collect();
    let key = SigningKey::from_bytes(&[42; 32]).verifying_key();

    let offline = |t: usize| {
        let bytes = std::fs::read(&path).unwrap();
        let bundle = Bundle::from_json(&bytes).unwrap();
        let again = verify(&bundle.evidence, t).unwrap().report;
        assert_eq!(again.findings, bundle.report.findings);
        black_box(again);
    };
    // Interleaved rounds, so that the baseline and the audit see the same machine load;
    // the best of each is kept.
    let rounds = 5;
    let mut best = [Duration::MAX; 6];
    for _ in 0..rounds {
        let times = [
            time(|| raw_batch(&messages, &signatures, key, 1)),
            time(|| {
                black_box(verify(&evidence, 1).unwrap());
            }),
            time(|| offline(1)),
            time(|| raw_batch(&messages, &signatures, key, threads)),
            time(|| {
                black_box(verify(&evidence, threads).unwrap());
            }),
            time(|| offline(threads)),
        ];
        for (b, t) in best.iter_mut().zip(times) {
            *b = (*b).min(t);
        }
    }
    let [raw_1, verify_1, bundle_1, raw_n, verify_n, bundle_n] = best;

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "offline audit of {n} entries ({:.1} MiB bundle), best of {rounds} interleaved rounds, {threads} cores",
        bytes.len() as f64 / (1 << 20) as f64
    );
    println!("| measurement | 1 thread | {threads} threads |");
    println!("|---|---|---|");
    let row = |name: &str, one: Duration, many: Duration, unit: &str| {
        println!(
            "| {name} | {:.1} k {unit}/s ({:.0} ms) | {:.1} k {unit}/s ({:.0} ms) |",
            rate(one) / 1000.0,
            one.as_secs_f64() * 1000.0,
            rate(many) / 1000.0,
            many.as_secs_f64() * 1000.0
        );
    };
    row("raw `verify_batch` (256 per batch)", raw_1, raw_n, "sig");
    row(
        "`verify` of the evidence (audit + report)",
        verify_1,
        verify_n,
        "entries",
    );
    row(
        "`--offline`: read + parse bundle + `verify`",
        bundle_1,
        bundle_n,
        "entries",
    );
    println!(
        "| ratio `verify` / raw batch | {:.2} | {:.2} |",
        rate(verify_1) / rate(raw_1),
        rate(verify_n) / rate(raw_n)
    );
    println!(
        "| ratio `--offline` / raw batch | {:.2} | {:.2} |",
        rate(bundle_1) / rate(raw_1),
        rate(bundle_n) / rate(raw_n)
    );
}
