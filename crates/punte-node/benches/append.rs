//! Append throughput of the signed history against plain SQLite inserts, in the same run.
//!
//! `signed_append`: one activity per `Store::write` transaction (`BEGIN IMMEDIATE`,
//! `synchronous = FULL`), including the FEP-8b32 proof, JCS, the entry signature, the tree
//! update and the checkpoint signature. `plain_insert`: one row of the same total byte size
//! (activity + entry + checkpoint note) per transaction on the same store. The ratio of the
//! two is the cost of signing and logging; both are bound by the commit's fsync.
//!
//! Run: `cargo bench -p punte-node --bench append`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

use punte_node::publish::Verb;
use punte_node::{Node, NodeSettings};
use punte_store::StoreError;

/// A practice-sized object (about 1.5 KiB of JSON).
fn object(i: u64) -> serde_json::Value {
    json!({
        "id": format!("https://bench.example.org/practices/{i}"),
        "type": ["Article", "Practice"],
        "attributedTo": "https://bench.example.org/actor",
        "nameMap": {"en": "After-school club", "ro": "Școala de după școală"},
        "summaryMap": {"en": "Homework support for children in rural schools, every afternoon, with volunteer mentors from the village.",
                       "ro": "Sprijin la teme pentru copiii din școlile rurale, în fiecare după-amiază, cu mentori voluntari din sat."},
        "contentMap": {"en": "Early school leaving is high where parents work abroad. Volunteers meet children after school, help with homework and keep in touch with teachers. The club runs in the school building with a small budget for snacks and materials.",
                       "ro": "Abandonul școlar timpuriu este ridicat acolo unde părinții lucrează în străinătate. Voluntarii se întâlnesc cu copiii după școală, îi ajută la teme și țin legătura cu profesorii."},
        "country": "RO", "region": "RO32", "themes": ["education", "youth"],
        "sdgTargets": ["4.1"], "maturity": "promising", "version": i,
    })
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(NodeSettings {
        data_dir: dir.path().join("data"),
        base_url: "https://bench.example.org".into(),
        disclosure_k: 5,
    })
    .unwrap();
    // The byte size of one append: activity + entry + checkpoint note.
    node.publish_object(Verb::Create, object(0)).unwrap();
    let page = node.log_entries(0, 1).unwrap();
    let first = &page.entries[0];
    let bytes = first.entry.len()
        + first.activity.as_ref().map_or(0, Vec::len)
        + node.log_checkpoint().unwrap().len();
    eprintln!("one append stores {bytes} bytes (activity + entry + checkpoint)");
    node.store()
        .write(|tx| {
            tx.execute_batch(
                "CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
            )
            .map_err(StoreError::from)
        })
        .unwrap();
    let blob = vec![0x5au8; bytes];

    let mut group = c.benchmark_group("append");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    let mut i = 1;
    group.bench_function("signed_append", |b| {
        b.iter(|| {
            i += 1;
            node.publish_object(Verb::Create, object(i)).unwrap()
        })
    });
    group.bench_function("plain_insert", |b| {
        b.iter(|| {
            node.store()
                .write(|tx| {
                    tx.execute("INSERT INTO bench_plain (body) VALUES (?1)", [&blob])
                        .map_err(StoreError::from)
                })
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
