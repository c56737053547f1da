//! Publishing an evaluation with 3 dimensions × 5 categories × 4 periods (issue #13): every
//! cell and every margin of the sex × age × region cube in each period, 864 values of one
//! proportion indicator, some cells below k. `publish_cube` creates it through the node
//! (validation, disclosure against its history, signed activity, log entry, checkpoint);
//! `publish_one_value` creates a one-value evaluation the same way (the floor of publishing
//! at all); `disclose_cube` is the disclosure rule alone on the 864 values; `update_cube` is
//! a second version, checked against the first.
//!
//! Run: `cargo bench -p punte-node --bench disclosure`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

use punte_model::disclosure::disclose;
use punte_model::evaluation::IndicatorValue;
use punte_model::indicator::Measure;
use punte_model::{Evaluation, IndicatorDefinition, OrganisationProfile, Practice};
use punte_node::{Node, NodeSettings};

const DIMS: [&str; 3] = ["sex", "age", "region"];
const CATEGORIES: usize = 5;
const PERIODS: [&str; 4] = ["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"];

fn definition() -> IndicatorDefinition {
    let dims: Vec<Value> = DIMS
        .iter()
        .map(|d| {
            json!({"dimension": d,
                   "categories": (0..CATEGORIES).map(|c| format!("{d}{c}")).collect::<Vec<_>>()})
        })
        .collect();
    serde_json::from_value(json!({
        "code": "completion", "version": 1, "label": {"en": "Completion"},
        "unit": "share", "measure": "proportion", "direction": "increase",
        "aggregation": "sum", "disaggregations": dims
    }))
    .unwrap()
}

/// The cube: finest cells of 1..=40 people (a deterministic spread, about one in eight below
/// 5), every margin their sum; `shift` adds people to one cell per period (a second version).
fn cube(shift: u64) -> Vec<Value> {
    let mut values = Vec::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for (p, start) in PERIODS.iter().enumerate() {
        let mut cells = vec![(0u64, 0u64); CATEGORIES.pow(3)];
        for (i, cell) in cells.iter_mut().enumerate() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = 1 + seed % 40 + if i == p { shift } else { 0 };
            *cell = (n, (seed >> 8) % (n + 1));
        }
        // every population: each dimension a category or all (margin)
        for code in 0..(CATEGORIES + 1).pow(3) {
            let pick: Vec<usize> = (0..3)
                .map(|d| code / (CATEGORIES + 1).pow(d as u32) % (CATEGORIES + 1))
                .collect();
            let (mut n, mut e) = (0, 0);
            for (i, &(cn, ce)) in cells.iter().enumerate() {
                let at: Vec<usize> = (0..3)
                    .map(|d| i / CATEGORIES.pow(d as u32) % CATEGORIES)
                    .collect();
                if (0..3).all(|d| pick[d] == CATEGORIES || pick[d] == at[d]) {
                    n += cn;
                    e += ce;
                }
            }
            let mut disaggregation = serde_json::Map::new();
            for d in 0..3 {
                if pick[d] < CATEGORIES {
                    disaggregation.insert(DIMS[d].into(), json!(format!("{}{}", DIMS[d], pick[d])));
                }
            }
            values.push(json!({
                "indicator": "completion@1",
                "period": {"start": start},
                "actual": e as f64 / n as f64,
                "numerator": e as f64, "denominator": n as f64, "n": n,
                "disaggregation": disaggregation
            }));
        }
    }
    values
}

fn content(practice: &str, values: Vec<Value>) -> punte_model::evaluation::EvaluationContent {
    serde_json::from_value(json!({
        "subject": {"practice": practice, "practiceVersion": 1},
        "evaluator": {"name": "Evaluator", "role": "external"},
        "method": "prePost", "evidenceLevel": 3,
        "period": {"start": "2024-01-01", "end": "2024-12-31"},
        "stage": "results",
        "values": values
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(NodeSettings {
        data_dir: dir.path().join("data"),
        base_url: "https://bench.example.org".into(),
        disclosure_k: 5,
    })
    .unwrap();
    node.set_organisation(
        &serde_json::from_value::<OrganisationProfile>(json!({
            "name": {"en": "Bench"}, "country": "RO", "languages": ["en"]
        }))
        .unwrap(),
    )
    .unwrap();
    node.create_indicator(definition()).unwrap();
    let practice: Practice = node
        .create(
            serde_json::from_value(json!({
                "title": {"en": "Mentoring"}, "summary": {"en": "Homework support"},
                "problem": {"en": "Early school leaving"}, "solution": {"en": "Mentors"},
                "originalLanguage": "en", "country": "RO", "themes": ["education"],
                "maturity": "promising"
            }))
            .unwrap(),
        )
        .unwrap();
    let values = cube(0);
    let raw: Vec<IndicatorValue> = values
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    let period = content(&practice.id, Vec::new()).period;
    let out = disclose(&raw, 5, Some(&period), &[], |_| Some(Measure::Proportion));
    let hidden = out.values.iter().filter(|v| v.suppressed.is_some()).count();
    eprintln!("{} values, {hidden} published blank", raw.len());

    let mut group = c.benchmark_group("disclosure");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("disclose_cube", |b| {
        b.iter(|| disclose(&raw, 5, Some(&period), &[], |_| Some(Measure::Proportion)))
    });
    group.bench_function("publish_cube", |b| {
        b.iter(|| {
            node.create::<Evaluation>(content(&practice.id, values.clone()))
                .unwrap()
        })
    });
    let one = vec![values[0].clone()];
    group.bench_function("publish_one_value", |b| {
        b.iter(|| {
            node.create::<Evaluation>(content(&practice.id, one.clone()))
                .unwrap()
        })
    });
    group.finish();

    // same-run ratios, best of 5
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let one_value = best(&mut || {
        node.create::<Evaluation>(content(&practice.id, one.clone()))
            .unwrap();
    });
    let publish = best(&mut || {
        node.create::<Evaluation>(content(&practice.id, values.clone()))
            .unwrap();
    });
    let alone = best(&mut || {
        disclose(&raw, 5, Some(&period), &[], |_| Some(Measure::Proportion));
    });
    let first: Evaluation = node.create(content(&practice.id, values.clone())).unwrap();
    let later = cube(3);
    // versions 2, 3, … 11: each is checked against every earlier one as it was published
    let mut version = first.version;
    let updates: Vec<_> = (0..10)
        .map(|_| {
            let t = Instant::now();
            let doc: Evaluation = node
                .update(
                    &first.id,
                    Some(version),
                    content(&practice.id, later.clone()),
                )
                .unwrap();
            version = doc.version;
            t.elapsed()
        })
        .collect();
    let update = updates[..5].iter().min().copied().unwrap();
    let tenth = updates[5..].iter().min().copied().unwrap();
    let ratio = |d: std::time::Duration| d.as_secs_f64() / one_value.as_secs_f64();
    eprintln!(
        "best of 5: one-value evaluation {one_value:?}; 864-value cube {publish:?} ({:.1}×), of which disclosure {alone:?}; versions 2–6 of the cube {update:?} ({:.1}×), versions 7–11 {tenth:?} ({:.1}×)",
        ratio(publish),
        ratio(update),
        ratio(tenth),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
