//! Micro-benchmarks: JCS of a ~1.5 KiB activity, and `eddsa-jcs-2022` sign and verify of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use punte_protocol::proof::{self, ProofOptions};
use serde_json::{Value, json};
use std::hint::black_box;

/// A Create of a practice, about 1.5 KiB of JSON, shaped like what a Punte node emits.
fn activity() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v2",
                     "https://w3id.org/punte/v1"],
        "id": "https://ro.punte.example/activities/0192f5d2-7a51-7c3e-9b1a-3f6f4c2e8d10",
        "type": "Create",
        "actor": "https://ro.punte.example/actor",
        "published": "2025-03-14T09:26:53Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": ["https://ro.punte.example/followers"],
        "punte:logIndex": 41237,
        "object": {
            "id": "https://ro.punte.example/practices/mentoring-roma-youth/v/3",
            "type": ["Article", "punte:Practice"],
            "attributedTo": "https://ro.punte.example/actor",
            "nameMap": {"ro": "Mentorat pentru tinerii romi", "en": "Mentoring for Roma youth"},
            "summaryMap": {"en": "Peer mentors from the community accompany secondary-school students through exams and the first year of work or university, with monthly family meetings."},
            "contentMap": {"en": "<p>Problem: early school leaving of 38% among Roma youth in the county.</p><p>Solution: trained peer mentors, weekly sessions, a small transport grant, and cooperation with three schools and the county employment agency.</p>"},
            "punte:targetGroup": "Roma youth aged 14-19",
            "punte:resources": {"staffFte": 2.5, "budgetEur": 48000, "months": 24},
            "punte:maturity": "promising",
            "punte:themes": ["education", "inclusion", "employment"],
            "punte:sdgTargets": ["4.1", "4.5", "8.6"],
            "punte:country": "RO", "punte:region": "RO111",
            "punte:license": "CC-BY-4.0",
            "punte:originalLanguage": "ro",
            "url": "https://ro.punte.example/practices/mentoring-roma-youth"
        }
    })
}

fn benches(c: &mut Criterion) {
    let doc = activity();
    let size = serde_json::to_vec(&doc).unwrap().len() as u64;
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let verifying = key.verifying_key();
    let options = ProofOptions::assertion(
        "https://ro.punte.example/actor#ed25519-key",
        "2025-03-14T09:26:53Z",
    );
    let signed = proof::sign(&doc, &options, &key).unwrap();

    let mut group = c.benchmark_group(format!("activity_{size}B"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("jcs", |b| {
        b.iter(|| punte_protocol::jcs::canonicalize(black_box(&doc)).unwrap())
    });
    group.bench_function("eddsa_jcs_2022_sign", |b| {
        b.iter(|| proof::sign(black_box(&doc), &options, &key).unwrap())
    });
    group.bench_function("eddsa_jcs_2022_verify", |b| {
        b.iter(|| proof::verify(black_box(&signed), |_| Some(verifying)).unwrap())
    });
    group.bench_function("ed25519_verify_only", |b| {
        let sig = ed25519_dalek::Signer::sign(&key, &[7u8; 64]);
        b.iter(|| {
            verifying
                .verify_strict(black_box(&[7u8; 64]), &sig)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(proof_benches, benches);
criterion_main!(proof_benches);
