//! Comparative analysis over 100,000 indicator values replicated from 200 nodes, against a
//! plain SQL aggregate over the same rows, in the same run (issue #5).
//!
//! The replicas are synthesised straight into the store (`remote_actors`, `replicas`,
//! `replica_objects`): 200 partners, each with an organisation, 5 practices and 500
//! evaluations of one value of `esl-rate@1` each, written through
//! `upsert_replica_object` (which derives their `analysis_values` rows, as on receipt).
//! `effects` and `ranking` are what `GET /api/v1/analysis/esl-rate@1/{effects,ranking}`
//! runs: read the derived rows of `esl-rate`, parse the organisations and practices, build
//! the rows with their sources, compute every effect (and for the ranking, pool 1,000
//! practices). `sql_aggregate` is one SQL
//! statement over the same rows (`count` and mean change with `json_each`): the floor of
//! touching the data at all. `compare_three_gatherings` and `compare_one_gathering` are the
//! Compare web page's work: effects, ranking and map from three gatherings of the rows, or
//! from one (`Node::analysis_all`).
//!
//! A second group (`analysis_100k_two_group_values_200_nodes`, issue #12) does the same over
//! 100,000 comparison-group values of `dropout@1` (follow-up events out of `n` in each group)
//! on a database of its own, against the SQL floor of the two groups' mean difference.
//!
//! Run: `cargo bench -p punte-node --bench analysis`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

use punte_model::{Evaluation, IndicatorDefinition, IndicatorRef, OrganisationProfile};
use punte_node::{Node, NodeSettings};
use punte_protocol::objects;
use punte_protocol::urls::NodeUrls;
use punte_store::federation::{self as fed, ActorRow, ReplicaObject, ReplicaRow};

const NODES: usize = 200;
const EVALUATIONS_PER_NODE: usize = 500;
const PRACTICES_PER_NODE: usize = 5;

fn definition() -> IndicatorDefinition {
    serde_json::from_value(json!({
        "code": "esl-rate", "version": 1,
        "label": {"en": "Early school leaving rate"},
        "unit": "%", "measure": "percentage", "direction": "decrease", "aggregation": "mean",
        "disaggregations": [{"dimension": "sex", "categories": ["female", "male"]}]
    }))
    .unwrap()
}

/// Which rows a bench node holds: one-group pre-post values of `esl-rate@1`, or two-group
/// (intervention and comparison, follow-up counts) values of `dropout@1`.
#[derive(Clone, Copy)]
enum Design {
    OneGroup,
    TwoGroup,
}

impl Design {
    fn indicator(self) -> &'static str {
        match self {
            Design::OneGroup => "esl-rate@1",
            Design::TwoGroup => "dropout@1",
        }
    }
}

fn two_group_definition() -> IndicatorDefinition {
    serde_json::from_value(json!({
        "code": "dropout", "version": 1,
        "label": {"en": "Pupils who dropped out"},
        "unit": "share", "measure": "proportion", "direction": "decrease", "aggregation": "sum"
    }))
    .unwrap()
}

/// A two-group (comparison-group design) evaluation: follow-up dropouts out of `n` in each
/// group, different group sizes, never a zero cell.
fn two_group_evaluation(node: usize, i: usize) -> Evaluation {
    let n1 = 80 + (i % 50) as u64;
    let n2 = 70 + (i % 40) as u64;
    let e1 = 5 + ((node + i) % 11) as u64;
    let e2 = 9 + ((node * 3 + i) % 13) as u64;
    let cell = |e: u64, n: u64| json!({"n": n, "events": e, "mean": e as f64 / n as f64});
    serde_json::from_value(json!({
        "id": format!("e{i}"),
        "version": 1,
        "subject": {"practice": format!("p{}", i % PRACTICES_PER_NODE), "practiceVersion": 1},
        "evaluator": {"name": "Evaluator", "role": "external"},
        "method": "comparisonGroup",
        "evidenceLevel": 4,
        "period": {"start": "2024-09-01", "end": "2025-06-30"},
        "stage": "results",
        "values": [{
            "indicator": "dropout@1",
            "groups": {
                "intervention": {"followUp": cell(e1, n1)},
                "comparison": {"followUp": cell(e2, n2)}
            }
        }],
        "createdAt": "2025-07-01T00:00:00Z",
        "updatedAt": "2025-07-01T00:00:00Z"
    }))
    .unwrap()
}

fn one_group_evaluation(node: usize, i: usize) -> Evaluation {
    let baseline = 15.0 + (node % 17) as f64;
    let actual = baseline - 2.0 - (i % 7) as f64 * 0.5;
    serde_json::from_value(json!({
        "id": format!("e{i}"),
        "version": 1,
        "subject": {"practice": format!("p{}", i % PRACTICES_PER_NODE), "practiceVersion": 1},
        "evaluator": {"name": "Evaluator", "role": "external"},
        "method": "prePost",
        "evidenceLevel": 3,
        "period": {"start": "2024-09-01", "end": "2025-06-30"},
        "stage": "results",
        "values": [
            {"indicator": "esl-rate@1", "baseline": baseline, "target": 10.0, "actual": actual,
             "n": 80 + (i % 50) as u64}
        ],
        "createdAt": "2025-07-01T00:00:00Z",
        "updatedAt": "2025-07-01T00:00:00Z"
    }))
    .unwrap()
}

fn practice_object(urls: &NodeUrls, p: usize) -> serde_json::Value {
    let practice: punte_model::Practice = serde_json::from_value(json!({
        "id": format!("p{p}"), "version": 1,
        "title": {"en": format!("Practice {p}")},
        "summary": {"en": "Homework support"},
        "problem": {"en": "Early school leaving"},
        "solution": {"en": "Volunteer mentors"},
        "originalLanguage": "en",
        "country": "RO",
        "themes": ["education"],
        "maturity": "promising",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z"
    }))
    .unwrap();
    objects::practice_to_object(&practice, urls)
}

/// Writes the 200 partners' replicas into the node's store; returns the values written.
fn synthesise(node: &Node, design: Design) -> usize {
    let mut values = 0;
    node.store()
        .write(|tx| -> Result<(), punte_store::StoreError> {
            for n in 0..NODES {
                let base = format!("https://partner{n}.example.org");
                let urls = NodeUrls::new(&base).unwrap();
                let actor = urls.actor();
                fed::upsert_actor(
                    tx,
                    &ActorRow {
                        id: actor.clone(),
                        host: format!("partner{n}.example.org"),
                        inbox: format!("{base}/inbox"),
                        shared_inbox: None,
                        username: Some("node".into()),
                        document: b"{}".to_vec(),
                        is_punte: true,
                        fetched_ms: 0,
                    },
                )?;
                fed::save_replica(
                    tx,
                    &ReplicaRow {
                        actor: actor.clone(),
                        base_url: base.clone(),
                        origin: format!("partner{n}.example.org/punte-log"),
                        size: (EVALUATIONS_PER_NODE + PRACTICES_PER_NODE + 1) as u64,
                        root: [0; 32],
                        frontier: Vec::new(),
                        current_key: [0; 32],
                        max_timestamp_ms: None,
                        checkpoint: None,
                        checkpoint_size: 0,
                        wanted_size: 0,
                        last_sync_ms: None,
                        last_error: None,
                        awaiting: None,
                    },
                )?;
                let mut index = 0u64;
                let mut put = |object_id: String, kind: &str, object: serde_json::Value| {
                    index += 1;
                    fed::upsert_replica_object(
                        tx,
                        &ReplicaObject {
                            object_id,
                            actor: actor.clone(),
                            kind: kind.into(),
                            log_index: index,
                            activity_id: format!("{base}/activities/{index}"),
                            object: object.to_string(),
                            updates: 1,
                            deleted: false,
                            updated_ms: 0,
                        },
                    )
                };
                let mut org = serde_json::Map::new();
                org.insert("id".into(), actor.clone().into());
                org.insert("type".into(), "Organization".into());
                let country = ["RO", "IT", "ES", "PT", "GR"][n % 5];
                let profile: OrganisationProfile = serde_json::from_value(json!({
                    "name": {"en": format!("Partner {n}")},
                    "country": country,
                    "languages": ["en"]
                }))
                .unwrap();
                org.extend(objects::organisation_fields(&profile));
                put(actor.clone(), "organisation", org.into())?;
                for p in 0..PRACTICES_PER_NODE {
                    put(
                        urls.practice(&format!("p{p}")),
                        "practice",
                        practice_object(&urls, p),
                    )?;
                }
                for i in 0..EVALUATIONS_PER_NODE {
                    let e = match design {
                        Design::OneGroup => one_group_evaluation(n, i),
                        Design::TwoGroup => two_group_evaluation(n, i),
                    };
                    values += 1;
                    put(
                        urls.evaluation(&e.id),
                        "evaluation",
                        objects::evaluation_to_object(&e, &urls),
                    )?;
                }
            }
            Ok(())
        })
        .unwrap();
    values
}

/// A coordinator node holding the 200 partners' replicas of one design.
fn coordinator(dir: &tempfile::TempDir, design: Design) -> (Node, usize) {
    let node = Node::open(NodeSettings {
        data_dir: dir.path().join("data"),
        base_url: "https://coordinator.example.org".into(),
        disclosure_k: 5,
    })
    .unwrap();
    node.create_indicator(match design {
        Design::OneGroup => definition(),
        Design::TwoGroup => two_group_definition(),
    })
    .unwrap();
    let values = synthesise(&node, design);
    (node, values)
}

/// The floor: one SQL statement over the same rows (the mean change of one-group rows, the
/// mean difference of the two groups' follow-up shares of two-group rows).
fn sql_aggregate(node: &Node, design: Design) -> (u64, Option<f64>) {
    node.store()
        .read(|c| match design {
            Design::OneGroup => {
                punte_store::analysis::replicated_change_aggregate(c, design.indicator())
            }
            Design::TwoGroup => {
                punte_store::analysis::replicated_group_difference_aggregate(c, design.indicator())
            }
        })
        .unwrap()
}

fn bench_design(c: &mut Criterion, design: Design, group: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (node, values) = coordinator(&dir, design);
    let indicator: IndicatorRef = design.indicator().parse().unwrap();

    // Both sides see the same rows, and the analysis estimates every one of them.
    let report = node.analysis_effects(&indicator, None).unwrap();
    let (count, mean) = sql_aggregate(&node, design);
    assert_eq!(report.result.rows.len(), values);
    assert_eq!(count as usize, values);
    let estimated = report
        .result
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                punte_model::analysis::EffectOutcome::Estimated(_)
            )
        })
        .count();
    assert_eq!(estimated, values, "every synthesised value has an effect");
    eprintln!(
        "{group}: {values} values from {NODES} nodes; analysis rows {}, SQL count {count}, mean {mean:?}",
        report.result.rows.len()
    );

    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("sql_aggregate", |b| b.iter(|| sql_aggregate(&node, design)));
    g.bench_function("effects", |b| {
        b.iter(|| node.analysis_effects(&indicator, None).unwrap())
    });
    g.bench_function("ranking", |b| {
        b.iter(|| {
            node.analysis_ranking(&indicator, None, Default::default())
                .unwrap()
        })
    });
    if let Design::OneGroup = design {
        // The Compare page shows the table, the ranking and the map: three gatherings of the
        // rows (as it did), against one gathering feeding all three (`analysis_all`).
        g.bench_function("compare_three_gatherings", |b| {
            b.iter(|| {
                (
                    node.analysis_effects(&indicator, None).unwrap(),
                    node.analysis_ranking(&indicator, None, Default::default())
                        .unwrap(),
                    node.analysis_replication_map(&indicator, None, Default::default())
                        .unwrap(),
                )
            })
        });
    }
    g.bench_function("compare_one_gathering", |b| {
        b.iter(|| {
            node.analysis_all(&indicator, None, Default::default())
                .unwrap()
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    bench_design(c, Design::OneGroup, "analysis_100k_values_200_nodes");
    bench_design(
        c,
        Design::TwoGroup,
        "analysis_100k_two_group_values_200_nodes",
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
